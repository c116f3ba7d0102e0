package file

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// A source of exactly the limit reads whole; one byte more fails and says
// so; the source's own failure passes through.
func TestLimitedReader(t *testing.T) {
	for _, tc := range []struct {
		src     string
		limit   int64
		hit     bool
		wantErr bool
	}{
		{"12345678", 8, false, false},
		{"1234567", 8, false, false},
		{"123456789", 8, true, true},
		{"", 0, false, false},
		{"x", 0, true, true},
	} {
		// OneByteReader makes the limit land between reads, as a network
		// body does.
		l := &limitedReader{r: iotest.OneByteReader(strings.NewReader(tc.src)), n: tc.limit}
		got, err := io.ReadAll(l)
		if (err != nil) != tc.wantErr || l.hit != tc.hit {
			t.Errorf("%q limit %d: err %v hit %t", tc.src, tc.limit, err, l.hit)
		}
		if !tc.wantErr && string(got) != tc.src {
			t.Errorf("%q limit %d: read %q", tc.src, tc.limit, got)
		}
	}
	boom := errors.New("connection reset")
	l := &limitedReader{r: io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom)), n: 3}
	if _, err := io.ReadAll(l); !errors.Is(err, boom) || l.hit {
		t.Errorf("a source failing at the limit: %v (hit %t)", err, l.hit)
	}
}
