// Package emoji says what may stand for an emoji in reactions and custom
// statuses: a :shortcode: or a short run of pictographs.
package emoji

import (
	"strings"
	"unicode"
)

// Valid reports whether e is a :shortcode: (lower-case letters, digits,
// _ + -) or at most 32 bytes of symbols: no letters, no markup, no
// ASCII but the keycap characters #, * and digits.
func Valid(e string) bool {
	if e == "" || len(e) > 64 {
		return false
	}
	if strings.HasPrefix(e, ":") && strings.HasSuffix(e, ":") && len(e) > 2 {
		for _, r := range e[1 : len(e)-1] {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '+' || r == '-') {
				return false
			}
		}
		return true
	}
	if len(e) > 32 {
		return false
	}
	for _, r := range e {
		if r < 0x80 && r != '#' && r != '*' && !(r >= '0' && r <= '9') {
			return false
		}
		if r >= 0x80 && unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
