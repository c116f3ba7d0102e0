package notifyrpc

import (
	"strconv"
	"testing"
)

// ParseCursor accepts exactly the positive int64s strconv reads, and
// nothing it accepts fails to round-trip.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", "1", "+5", "0", "-5", "abc", "9223372036854775807", "9223372036854775808", " 1", "1.5", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCursor(s)
		want, perr := strconv.ParseInt(s, 10, 64)
		switch {
		case s == "":
			if err != nil || v != 0 {
				t.Fatalf("empty cursor: %d %v", v, err)
			}
		case perr != nil || want <= 0:
			if err == nil {
				t.Fatalf("accepted %q as %d", s, v)
			}
		case err != nil || v != want:
			t.Fatalf("%q: %d %v, want %d", s, v, err, want)
		}
	})
}

// parseLastEventID never panics and accepts only what this server could
// have sent: a positive millisecond count, optionally with an id.
func FuzzParseLastEventID(f *testing.F) {
	for _, s := range []string{"", "1700000000000.7f0c2a52-8d8c-4a4d-9e55-7d6c7d1b1e11", "5", "0", "-1.x", ".", "abc.def", "1.", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, id, err := parseLastEventID(s)
		if err != nil {
			return
		}
		if s != "" && (ms <= 0 || len(s) > 128) {
			t.Fatalf("accepted %q as %d %q", s, ms, id)
		}
	})
}
