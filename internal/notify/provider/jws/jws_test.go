package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func parts(t *testing.T, tok string) (head, claims map[string]any, signed string, sig []byte) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("%d parts", len(p))
	}
	hb, _ := base64.RawURLEncoding.DecodeString(p[0])
	cb, _ := base64.RawURLEncoding.DecodeString(p[1])
	sig, err := base64.RawURLEncoding.DecodeString(p[2])
	if err != nil || json.Unmarshal(hb, &head) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatalf("malformed token %q", tok)
	}
	return head, claims, p[0] + "." + p[1], sig
}

func TestES256(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, err := ES256(key, map[string]any{"kid": "K1"}, map[string]any{"iss": "team"})
	if err != nil {
		t.Fatal(err)
	}
	head, claims, signed, sig := parts(t, tok)
	sum := sha256.Sum256([]byte(signed))
	if len(sig) != 64 || !ecdsa.Verify(&key.PublicKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("signature does not verify as raw r||s")
	}
	if head["alg"] != "ES256" || head["kid"] != "K1" || claims["iss"] != "team" {
		t.Fatalf("header %v claims %v", head, claims)
	}
}

func TestRS256(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tok, err := RS256(key, map[string]any{"alg": "none", "typ": "JWT"}, map[string]any{"scope": "s"})
	if err != nil {
		t.Fatal(err)
	}
	head, _, signed, sig := parts(t, tok)
	sum := sha256.Sum256([]byte(signed))
	if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		t.Fatal("signature does not verify")
	}
	if head["alg"] != "RS256" {
		t.Fatalf("a caller's alg overrode the signing algorithm: %v", head)
	}
}
