package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func claims(now time.Time) Claims {
	return Claims{Subject: "u1", SessionID: "s1", Issuer: "quikapp", Audience: "api",
		IssuedAt: now.Unix(), ExpiresAt: now.Add(15 * time.Minute).Unix()}
}

func rsaKey(t *testing.T) Key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey("", priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerifyBothAlgorithms(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ed, _ := GenerateEd25519()
	for _, k := range []Key{ed, rsaKey(t)} {
		t.Run(k.Alg(), func(t *testing.T) {
			tok, err := Sign(k, claims(now))
			if err != nil {
				t.Fatal(err)
			}
			v := NewVerifier("quikapp", "api", func() time.Time { return now }, k)
			c, err := v.Verify(tok, "")
			if err != nil || c.Subject != "u1" || c.SessionID != "s1" {
				t.Fatalf("Verify = %+v, %v", c, err)
			}
			if _, err := v.Verify(tok, "2fa"); !errors.Is(err, ErrClaims) {
				t.Fatalf("access token accepted as 2fa token: %v", err)
			}
			late := NewVerifier("quikapp", "api", func() time.Time { return now.Add(16 * time.Minute) }, k)
			if _, err := late.Verify(tok, ""); !errors.Is(err, ErrExpired) {
				t.Fatalf("expired token: %v", err)
			}
			other := NewVerifier("other", "api", func() time.Time { return now }, k)
			if _, err := other.Verify(tok, ""); !errors.Is(err, ErrClaims) {
				t.Fatalf("wrong issuer: %v", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	old, _ := GenerateEd25519()
	cur, _ := GenerateEd25519()
	tokOld, _ := Sign(old, claims(now))
	clock := func() time.Time { return now }
	v := NewVerifier("quikapp", "api", clock, cur, old.Public())
	if _, err := v.Verify(tokOld, ""); err != nil {
		t.Fatalf("retired key's token refused: %v", err)
	}
	v2 := NewVerifier("quikapp", "api", clock, cur)
	if _, err := v2.Verify(tokOld, ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropped key's token: %v", err)
	}
}

func TestTamperingAndConfusion(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k, _ := GenerateEd25519()
	v := NewVerifier("quikapp", "api", func() time.Time { return now }, k)
	tok, _ := Sign(k, claims(now))
	parts := strings.Split(tok, ".")
	forged := strings.Replace(string(mustDecode(parts[1])), `"u1"`, `"u2"`, 1)
	noneHeader := b64.EncodeToString([]byte(`{"alg":"none","kid":"` + k.ID + `"}`))
	rsHeader := b64.EncodeToString([]byte(`{"alg":"RS256","kid":"` + k.ID + `"}`))
	cases := map[string]struct {
		tok  string
		want error
	}{
		"payload changed": {parts[0] + "." + b64.EncodeToString([]byte(forged)) + "." + parts[2], ErrSignature},
		"alg none":        {noneHeader + "." + parts[1] + ".", ErrSignature},
		"alg switched":    {rsHeader + "." + parts[1] + "." + parts[2], ErrSignature},
		"signature cut":   {parts[0] + "." + parts[1] + "." + parts[2][:12], ErrSignature},
		"two parts":       {parts[0] + "." + parts[1], ErrMalformed},
		"four parts":      {tok + ".x", ErrMalformed},
		"padding":         {tok + "=", ErrMalformed},
		"garbage":         {"not-a-token", ErrMalformed},
		"huge":            {strings.Repeat("a", MaxTokenLen+1), ErrMalformed},
		"unknown kid":     {b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"nope"}`)) + "." + parts[1] + "." + parts[2], ErrUnknownKey},
	}
	for name, c := range cases {
		if _, err := v.Verify(c.tok, ""); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

func mustDecode(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestPEMRoundTripAndWeakKeys(t *testing.T) {
	k, _ := GenerateEd25519()
	pemBytes, err := MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKeyPEM(pemBytes)
	if err != nil || back.ID != k.ID {
		t.Fatalf("round trip: %v %s != %s", err, back.ID, k.ID)
	}
	if _, err := ParsePrivateKeyPEM([]byte("nope")); err == nil {
		t.Fatal("accepted a non-PEM key")
	}
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := NewKey("", weak); err == nil {
		t.Fatal("accepted a 1024-bit RSA key")
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	k, _ := GenerateEd25519()
	tok, _ := Sign(k, claims(now))
	f.Add(tok)
	f.Add("a.b.c")
	f.Add("..")
	v := NewVerifier("quikapp", "api", func() time.Time { return now }, k)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(s, "")
		if err == nil && s != tok {
			// Ed25519 signatures are not malleable and b64 is strict, so
			// only the token we signed can verify.
			t.Fatalf("accepted a token we did not sign: %q (%+v)", s, c)
		}
	})
}
