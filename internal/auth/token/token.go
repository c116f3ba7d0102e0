// Package token signs and verifies QuikApp's access tokens: compact JWTs
// (RFC 7519) signed with Ed25519 (EdDSA, RFC 8037) or RSA (RS256), each
// naming its key by "kid" so keys can rotate: the signer uses the current
// key, the verifier accepts the current and retired ones.
package token

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors; the API maps ErrExpired to TOKEN_EXPIRED and the rest to
// UNAUTHENTICATED.
var (
	ErrMalformed  = errors.New("token: malformed")
	ErrSignature  = errors.New("token: bad signature")
	ErrUnknownKey = errors.New("token: unknown key")
	ErrExpired    = errors.New("token: expired")
	ErrNotYet     = errors.New("token: not valid yet")
	ErrClaims     = errors.New("token: wrong issuer, audience or purpose")
)

// Claims are what an access token says.
type Claims struct {
	Subject   string `json:"sub"`
	SessionID string `json:"sid,omitempty"`
	// Purpose is empty for access tokens; "2fa" marks the short interim
	// token that only the second-factor step accepts.
	Purpose   string `json:"pur,omitempty"`
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf,omitempty"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti,omitempty"`
}

// Key is one signing key.
type Key struct {
	ID      string
	private crypto.Signer
	public  crypto.PublicKey
	alg     string
}

// Alg is the JWS algorithm name.
func (k Key) Alg() string { return k.alg }

// Public returns a verify-only copy of k.
func (k Key) Public() Key { return Key{ID: k.ID, public: k.public, alg: k.alg} }

// NewKey wraps a private key (ed25519.PrivateKey or *rsa.PrivateKey of at
// least 2048 bits). The id is derived from the public key when empty.
func NewKey(id string, priv crypto.Signer) (Key, error) {
	k, err := newPublic(id, priv.Public())
	if err != nil {
		return Key{}, err
	}
	k.private = priv
	return k, nil
}

func newPublic(id string, pub crypto.PublicKey) (Key, error) {
	var alg string
	switch p := pub.(type) {
	case ed25519.PublicKey:
		alg = "EdDSA"
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return Key{}, fmt.Errorf("token: RSA key has %d bits; at least 2048 needed", p.N.BitLen())
		}
		alg = "RS256"
	default:
		return Key{}, fmt.Errorf("token: unsupported key type %T (want Ed25519 or RSA)", pub)
	}
	if id == "" {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return Key{}, fmt.Errorf("token: key id: %w", err)
		}
		sum := sha256.Sum256(der)
		id = b64.EncodeToString(sum[:12])
	}
	return Key{ID: id, public: pub, alg: alg}, nil
}

// GenerateEd25519 makes a new random key.
func GenerateEd25519() (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	return NewKey("", priv)
}

// ParsePrivateKeyPEM reads a PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA
// PRIVATE KEY") PEM block.
func ParsePrivateKeyPEM(data []byte) (Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return Key{}, errors.New("token: no PEM block in private key")
	}
	var priv any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return Key{}, fmt.Errorf("token: PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return Key{}, fmt.Errorf("token: parse private key: %w", err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("token: unsupported private key %T", priv)
	}
	return NewKey("", s)
}

// ParsePublicKeysPEM reads every "PUBLIC KEY" block (retired keys whose
// tokens must still verify).
func ParsePublicKeysPEM(data []byte) ([]Key, error) {
	var out []Key
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("token: PEM block %q is not a public key", block.Type)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("token: parse public key: %w", err)
		}
		k, err := newPublic("", pub)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		return nil, errors.New("token: stray data after the PEM blocks")
	}
	return out, nil
}

// MarshalPrivateKeyPEM writes k's private key as PKCS#8 PEM.
func MarshalPrivateKeyPEM(k Key) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.private)
	if err != nil {
		return nil, fmt.Errorf("token: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

var b64 = base64.RawURLEncoding.Strict()

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

// Sign returns the compact JWT for c signed with k.
func Sign(k Key, c Claims) (string, error) {
	if k.private == nil {
		return "", errors.New("token: key has no private part")
	}
	h, _ := json.Marshal(header{Alg: k.alg, Typ: "JWT", Kid: k.ID})
	p, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	var sig []byte
	switch k.alg {
	case "EdDSA":
		sig, err = k.private.Sign(nil, []byte(signing), crypto.Hash(0))
	case "RS256":
		sum := sha256.Sum256([]byte(signing))
		sig, err = k.private.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

// Verifier checks tokens against a set of keys, an issuer and an audience.
type Verifier struct {
	keys     map[string]Key
	issuer   string
	audience string
	now      func() time.Time
	leeway   time.Duration
}

// NewVerifier accepts tokens signed by any of keys.
func NewVerifier(issuer, audience string, now func() time.Time, keys ...Key) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{keys: map[string]Key{}, issuer: issuer, audience: audience, now: now, leeway: 30 * time.Second}
	for _, k := range keys {
		v.keys[k.ID] = k.Public()
	}
	return v
}

// MaxTokenLen bounds what Verify looks at.
const MaxTokenLen = 4096

// Verify checks tok's signature, then its times, issuer, audience and
// purpose (want "" for access tokens). The signature is checked before
// the payload is parsed, with the algorithm the key dictates (never the
// one the token claims), so "alg: none" and RS/HS confusion cannot work.
func (v *Verifier) Verify(tok, purpose string) (Claims, error) {
	if len(tok) > MaxTokenLen {
		return Claims{}, ErrMalformed
	}
	h64, rest, ok1 := strings.Cut(tok, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return Claims{}, ErrMalformed
	}
	hb, err := b64.DecodeString(h64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		return Claims{}, ErrMalformed
	}
	if _, crit := h["crit"]; crit {
		return Claims{}, ErrMalformed
	}
	kid, _ := h["kid"].(string)
	alg, _ := h["alg"].(string)
	k, ok := v.keys[kid]
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	if alg != k.alg {
		return Claims{}, ErrSignature
	}
	sig, err := b64.DecodeString(s64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	signing := []byte(tok[:len(h64)+1+len(p64)])
	switch pub := k.public.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, signing, sig) {
			return Claims{}, ErrSignature
		}
	case *rsa.PublicKey:
		sum := sha256.Sum256(signing)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			return Claims{}, ErrSignature
		}
	}
	pb, err := b64.DecodeString(p64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var c Claims
	if err := json.Unmarshal(pb, &c); err != nil || c.Subject == "" || c.ExpiresAt == 0 {
		return Claims{}, ErrMalformed
	}
	now := v.now()
	if now.After(time.Unix(c.ExpiresAt, 0).Add(v.leeway)) {
		return c, ErrExpired
	}
	if c.NotBefore != 0 && now.Add(v.leeway).Before(time.Unix(c.NotBefore, 0)) {
		return c, ErrNotYet
	}
	if c.Issuer != v.issuer || c.Audience != v.audience || c.Purpose != purpose {
		return c, ErrClaims
	}
	return c, nil
}

// MarshalPublicKeyPEM writes k's public key as PKIX PEM (for the retired
// keys file of a rotation).
func MarshalPublicKeyPEM(k Key) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.public)
	if err != nil {
		return nil, fmt.Errorf("token: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
