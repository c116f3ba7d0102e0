package emoji

import "testing"

func TestValid(t *testing.T) {
	for e, want := range map[string]bool{
		"👍": true, "🌴": true, ":tada:": true, ":+1:": true, "1️⃣": true, "👩‍💻": true,
		"": false, "<b>": false, "thumbs": false, ":no spaces:": false, "é": false, "日本": false, "::": false,
	} {
		if got := Valid(e); got != want {
			t.Errorf("Valid(%q) = %v, want %v", e, got, want)
		}
	}
}
