// Package jws signs the compact JSON Web Signatures (RFC 7515) that push
// providers authenticate with: ES256 for APNs provider tokens and VAPID,
// RS256 for Google service-account assertions.
package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// ES256 signs header and claims with a P-256 key. The signature is the
// raw 64-byte r||s that JWS requires, not the ASN.1 form Go's ecdsa
// package produces by default.
func ES256(key *ecdsa.PrivateKey, header, claims map[string]any) (string, error) {
	signing, sum, err := signingInput(header, claims, "ES256")
	if err != nil {
		return "", err
	}
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// RS256 signs header and claims with an RSA key (PKCS #1 v1.5, SHA-256).
func RS256(key *rsa.PrivateKey, header, claims map[string]any) (string, error) {
	signing, sum, err := signingInput(header, claims, "RS256")
	if err != nil {
		return "", err
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func signingInput(header, claims map[string]any, alg string) (string, [32]byte, error) {
	h := map[string]any{}
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = alg // never the caller's: "none" must not slip in
	hb, err := json.Marshal(h)
	if err != nil {
		return "", [32]byte{}, err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", [32]byte{}, err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	return signing, sha256.Sum256([]byte(signing)), nil
}
