package bus_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/bus"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"a", "a", true},
		{"a", "b", false},
		{"a", "a.b", false},
		{"a.b", "a", false},
		{"*", "a", true},
		{"*", "a.b", false},
		{"a.*", "a.b", true},
		{"a.*", "a", false},
		{"a.*", "a.b.c", false},
		{"*.b", "a.b", true},
		{"*.*", "a.b", true},
		{">", "a", true},
		{">", "a.b.c", true},
		{"a.>", "a", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{"a.>", "b.c", false},
		{"a.*.>", "a.b", false},
		{"a.*.>", "a.b.c", true},
		{"*.>", "a", false},
		{"*.>", "a.b", true},
		{"ab", "a", false},
		{"a", "ab", false},
	}
	for _, c := range cases {
		if got := bus.Match(c.pattern, c.subject); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}

// matchRef is Match done another way: the pattern as a regular expression.
func matchRef(pattern, subject string) bool {
	tokens := strings.Split(pattern, ".")
	for i, tok := range tokens {
		switch tok {
		case "*":
			tokens[i] = `[^.]+`
		case ">":
			tokens[i] = `.+`
		default:
			tokens[i] = regexp.QuoteMeta(tok)
		}
	}
	return regexp.MustCompile(`^` + strings.Join(tokens, `\.`) + `$`).MatchString(subject)
}

func FuzzSubjectMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"channel.*.message", "channel.c1.message"},
		{"channel.>", "channel.c-1_x:y.message.edit"},
		{">", "a"},
		{"*.*", "a.b"},
		{"a.>.b", "a.x.b"},
		{"a..b", "a..b"},
		{"", ""},
		{".", "."},
		{"a.", "a."},
		{"*", "*"},
		{">", ">"},
		{"a b", "a\x00b"},
		{"über.*", "über.x"},
		{strings.Repeat("a.", 130) + "a", strings.Repeat("a.", 130) + "a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		// None of these may panic, whatever the input.
		perr := bus.ValidatePattern(pattern)
		serr := bus.ValidateSubject(subject)
		_ = bus.ValidateGroup(pattern)
		got := bus.Match(pattern, subject)
		for _, err := range []error{perr, serr} {
			if err != nil && !errors.Is(err, bus.ErrInvalidSubject) {
				t.Fatalf("validation error %v does not wrap ErrInvalidSubject", err)
			}
		}

		if serr == nil {
			if bus.ValidatePattern(subject) != nil {
				t.Fatalf("valid subject %q is not a valid pattern", subject)
			}
			if !bus.Match(subject, subject) {
				t.Fatalf("subject %q does not match itself", subject)
			}
			if !bus.Match(">", subject) {
				t.Fatalf("subject %q does not match >", subject)
			}
			first, _, more := strings.Cut(subject, ".")
			if got := bus.Match(first+".>", subject); got != more {
				t.Fatalf("Match(%q, %q) = %v; the subject has more tokens: %v", first+".>", subject, got, more)
			}
			if !bus.Match(first+".>", first+".x") {
				t.Fatalf("%q does not match %q", first+".>", first+".x")
			}
			stars := strings.Repeat("*.", strings.Count(subject, "."))
			if !bus.Match(stars+"*", subject) {
				t.Fatalf("%q does not match %q", stars+"*", subject)
			}
			if bus.Match(stars+"*.*", subject) {
				t.Fatalf("%q matches %q, which has fewer tokens", stars+"*.*", subject)
			}
		}
		if perr == nil && serr == nil {
			if want := matchRef(pattern, subject); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, subject, got, want)
			}
		}
	})
}
