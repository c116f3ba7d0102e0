package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
)

var b64 = base64.RawURLEncoding

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (k jwk) public() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("bad RSA key %s", k.Kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key %s is too short", k.Kid)
		}
		return pub, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("unsupported curve %s", k.Crv)
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("bad EC key %s", k.Kid)
		}
		raw := append([]byte{4}, append(x, y...)...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("bad EC key %s: %w", k.Kid, err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("unsupported key type %s", k.Kty)
}

// key returns the issuer's key kid, fetching the key set when it is not
// known (keys rotate), at most once a minute.
func (p *Provider) key(ctx context.Context, kid string) (any, error) {
	p.mu.Lock()
	k, ok := p.keys[kid]
	fresh := p.cfg.Now().Sub(p.keysTried) < time.Minute
	p.mu.Unlock()
	if ok {
		return k, nil
	}
	if fresh {
		return nil, fmt.Errorf("%w: unknown signing key %q", ErrProvider, kid)
	}
	meta, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.keysTried = p.cfg.Now()
	p.mu.Unlock()
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := p.get(ctx, meta.JWKSURI, "", &set); err != nil {
		return nil, err
	}
	keys := map[string]any{}
	for _, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		if pub, err := j.public(); err == nil {
			keys[j.Kid] = pub
		}
	}
	p.mu.Lock()
	p.keys, p.keysAt = keys, p.cfg.Now()
	p.mu.Unlock()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown signing key %q", ErrProvider, kid)
}

type idClaims struct {
	Issuer        string          `json:"iss"`
	Subject       string          `json:"sub"`
	Audience      json.RawMessage `json:"aud"`
	Expires       int64           `json:"exp"`
	IssuedAt      int64           `json:"iat"`
	Nonce         string          `json:"nonce"`
	Email         string          `json:"email"`
	EmailVerified any             `json:"email_verified"` // bool, or "true" from some issuers
	Name          string          `json:"name"`
	TenantID      string          `json:"tid"`
}

func (c idClaims) hasAudience(clientID string) bool {
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		return one == clientID
	}
	var many []string
	if json.Unmarshal(c.Audience, &many) == nil {
		for _, a := range many {
			if a == clientID {
				return true
			}
		}
	}
	return false
}

// verifyIDToken checks an ID token (OpenID Connect Core §3.1.3.7).
func (p *Provider) verifyIDToken(ctx context.Context, tok, nonce string) (Identity, error) {
	bad := func(why string) (Identity, error) { return Identity{}, fmt.Errorf("%w: id_token %s", ErrProvider, why) }
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > 16<<10 {
		return bad("is malformed")
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return bad("header is malformed")
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &h) != nil {
		return bad("header is malformed")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return bad("signature is malformed")
	}
	key, err := p.key(ctx, h.Kid)
	if err != nil {
		return Identity{}, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := key.(type) {
	case *rsa.PublicKey:
		if h.Alg != "RS256" || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			return bad("signature does not verify")
		}
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" || len(sig) != 64 ||
			!ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return bad("signature does not verify")
		}
	default:
		return bad("is signed with an unsupported key")
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return bad("payload is malformed")
	}
	var c idClaims
	if json.Unmarshal(pb, &c) != nil {
		return bad("payload is malformed")
	}
	wantIss := strings.ReplaceAll(p.cfg.Issuer, "{tenantid}", c.TenantID)
	if c.Issuer != wantIss || (strings.Contains(p.cfg.Issuer, "{tenantid}") && c.TenantID == "") {
		return bad("has the wrong issuer")
	}
	if !c.hasAudience(p.cfg.ClientID) {
		return bad("is for another client")
	}
	now := p.cfg.Now()
	if c.Expires == 0 || now.After(time.Unix(c.Expires, 0).Add(time.Minute)) {
		return bad("has expired")
	}
	if c.IssuedAt > now.Add(5*time.Minute).Unix() {
		return bad("is issued in the future")
	}
	if nonce == "" || c.Nonce != nonce {
		return bad("has the wrong nonce")
	}
	if c.Subject == "" {
		return bad("has no subject")
	}
	verified := c.EmailVerified == true || c.EmailVerified == "true"
	return Identity{Subject: c.Subject, Email: c.Email, EmailVerified: verified, Name: c.Name}, nil
}
