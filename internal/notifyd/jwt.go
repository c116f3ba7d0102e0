package notifyd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// b64 is strict so each token has exactly one encoding: a signature with
// stray trailing bits is not a second valid spelling of the same token.
var b64 = base64.RawURLEncoding.Strict()

// claims keeps raw values so names match exactly (encoding/json would
// match struct fields case-insensitively, letting "SUB" stand for "sub")
// and so each claim's JSON type can be checked.
type claims map[string]json.RawMessage

// verifyJWT checks an HS256 JWT (RFC 7519) signed with a.secret and maps
// its claims to an Identity. The signature is verified before the payload
// is parsed.
func (a *Authenticator) verifyJWT(token string) (Identity, error) {
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return Identity{}, unauthenticated("malformed token")
	}
	var header claims
	if !decodeSegment(h64, &header) {
		return Identity{}, unauthenticated("malformed token header")
	}
	// Only HS256: "none", RS256 and friends are the classic confusion
	// attacks against a shared-secret verifier.
	if alg, ok := header.str("alg"); !ok || alg != "HS256" {
		return Identity{}, unauthenticated("unsupported token algorithm")
	}
	// RFC 7515 §4.1.11: extensions we do not understand must be refused.
	if _, ok := header["crit"]; ok {
		return Identity{}, unauthenticated("unsupported token header")
	}
	sig, err := b64.DecodeString(s64)
	if err != nil {
		return Identity{}, unauthenticated("malformed token signature")
	}
	mac := hmac.New(sha256.New, a.secret)
	mac.Write([]byte(token[:len(h64)+1+len(p64)]))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return Identity{}, unauthenticated("bad token signature")
	}
	var c claims
	if !decodeSegment(p64, &c) {
		return Identity{}, unauthenticated("malformed token payload")
	}
	if err := a.checkTimes(c); err != nil {
		return Identity{}, err
	}
	if err := a.checkIssuerAudience(c); err != nil {
		return Identity{}, err
	}
	return identityFromClaims(c)
}

// decodeSegment decodes one base64url JSON object; "null" and non-objects
// are refused.
func decodeSegment(seg string, into *claims) bool {
	raw, err := b64.DecodeString(seg)
	if err != nil || json.Unmarshal(raw, into) != nil {
		return false
	}
	return *into != nil
}

// checkTimes applies exp and nbf (when present) with the leeway. Times are
// compared as float seconds because NumericDate may be fractional.
func (a *Authenticator) checkTimes(c claims) error {
	t := a.now()
	now := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	leeway := a.leeway.Seconds()
	if exp, present, ok := c.num("exp"); present {
		if !ok {
			return unauthenticated("malformed exp claim")
		}
		if !(now < exp+leeway) {
			return unauthenticated("token expired")
		}
	}
	if nbf, present, ok := c.num("nbf"); present {
		if !ok {
			return unauthenticated("malformed nbf claim")
		}
		if now < nbf-leeway {
			return unauthenticated("token not valid yet")
		}
	}
	return nil
}

// checkIssuerAudience pins iss and aud when configured; otherwise they are
// not looked at.
func (a *Authenticator) checkIssuerAudience(c claims) error {
	if a.issuer != "" {
		if iss, ok := c.str("iss"); !ok || iss != a.issuer {
			return unauthenticated("issuer mismatch")
		}
	}
	if a.audience != "" && !c.hasAudience(a.audience) {
		return unauthenticated("audience mismatch")
	}
	return nil
}

// identityFromClaims: user from sub; tenant from tenant when that is a
// string (even an empty one, which fails), else from tenant_id.
func identityFromClaims(c claims) (Identity, error) {
	sub, ok := c.str("sub")
	if !ok || sub == "" {
		return Identity{}, unauthenticated("missing sub claim")
	}
	tenant, ok := c.str("tenant")
	if !ok {
		tenant, _ = c.str("tenant_id")
	}
	if tenant == "" {
		return Identity{}, unauthenticated("missing tenant claim")
	}
	email, _ := c.str("email")
	return Identity{UserID: sub, TenantID: tenant, Email: email}, nil
}

// str returns a claim that is a JSON string; null, numbers and the rest
// report !ok.
func (c claims) str(name string) (string, bool) {
	raw, ok := c[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// num returns a claim that is a JSON number. present is false when the
// claim is absent; ok is false when it is there but not a finite number
// (null, a string, or too large for a float64).
func (c claims) num(name string) (v float64, present, ok bool) {
	raw, present := c[name]
	if !present {
		return 0, false, false
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, true, false
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	return v, true, err == nil
}

// hasAudience reports whether aud is want or an array holding want.
func (c claims) hasAudience(want string) bool {
	if aud, ok := c.str("aud"); ok {
		return aud == want
	}
	raw, ok := c["aud"]
	if !ok || len(raw) == 0 || raw[0] != '[' {
		return false
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, item := range list {
		if s, ok := (claims{"a": item}).str("a"); ok && s == want {
			return true
		}
	}
	return false
}
