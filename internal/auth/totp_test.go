package auth

import (
	"encoding/base32"
	"testing"
	"time"
)

// RFC 6238 appendix B test vectors (SHA-1, the 8-digit codes' last 6
// digits are the 6-digit codes).
func TestTOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037"} {
		if got := totpCode(secret, unix/totpStep); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
}

func TestTOTPMatchWindowAndReplay(t *testing.T) {
	secret := []byte("12345678901234567890")
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	now := time.Unix(1111111111, 0)
	code := totpCode(secret, now.Unix()/totpStep)
	step := totpMatch(enc, code, now, 0)
	if step == 0 {
		t.Fatal("current code refused")
	}
	if totpMatch(enc, code, now, step) != 0 {
		t.Fatal("a used code worked twice")
	}
	if totpMatch(enc, code, now.Add(31*time.Second), 0) == 0 {
		t.Fatal("previous step refused")
	}
	if totpMatch(enc, code, now.Add(95*time.Second), 0) != 0 {
		t.Fatal("a code three steps old accepted")
	}
	for _, bad := range []string{"", "12345", "abcdef", "1234567"} {
		if totpMatch(enc, bad, now, 0) != 0 {
			t.Errorf("accepted %q", bad)
		}
	}
}
