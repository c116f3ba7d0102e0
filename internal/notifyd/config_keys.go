package notifyd

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/mail"
	"net/url"
	"strings"

	"github.com/quikapp/quikapp/internal/platform/env"
)

// Key material is parsed at start so a bad key fails the boot instead of
// every send. Errors never quote the value.

// parseVAPID decodes the VAPID key pair (base64url, padding tolerated) and
// checks that the private key belongs to the public one: a mismatched pair
// is accepted by nobody and would otherwise fail silently per push.
func parseVAPID(r *env.Reader, pub, priv string) (string, *ecdsa.PrivateKey) {
	pubBytes, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(pub, "="))
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(pubBytes)
	}
	if err != nil {
		r.Fail("NOTIFY_WEBPUSH_VAPID_PUBLIC", "must be a base64url P-256 public key (65 bytes, uncompressed)")
		pubBytes = nil
	}
	privBytes, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(priv, "="))
	var key *ecdsa.PrivateKey
	if err == nil {
		key, err = ecdsa.ParseRawPrivateKey(elliptic.P256(), privBytes)
	}
	if err != nil {
		r.Fail("NOTIFY_WEBPUSH_VAPID_PRIVATE", "must be a base64url P-256 private key (32 bytes)")
		return "", nil
	}
	if pubBytes == nil {
		return "", nil
	}
	if derived, err := key.PublicKey.Bytes(); err != nil || !bytes.Equal(derived, pubBytes) {
		r.Fail("NOTIFY_WEBPUSH_VAPID_PRIVATE", "does not belong to NOTIFY_WEBPUSH_VAPID_PUBLIC")
		return "", nil
	}
	return base64.RawURLEncoding.EncodeToString(pubBytes), key
}

// vapidSubject turns the contact into the VAPID sub claim ("mailto:…" or
// "https://…"); a bare address gets mailto:. Empty means invalid.
func vapidSubject(c string) string {
	if rest, ok := strings.CutPrefix(c, "mailto:"); ok {
		if a, err := mail.ParseAddress(rest); err == nil && a.Name == "" {
			return c
		}
		return ""
	}
	if strings.HasPrefix(c, "https://") {
		if u, err := url.Parse(c); err == nil && u.Host != "" {
			return c
		}
		return ""
	}
	if a, err := mail.ParseAddress(c); err == nil && a.Name == "" && a.Address == c {
		return "mailto:" + c
	}
	return ""
}

// serviceAccount is the part of a Google service-account JSON file FCM
// needs.
type serviceAccount struct {
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
	key          *rsa.PrivateKey
}

// parseServiceAccount returns the account or a reason it is unusable.
func parseServiceAccount(raw string) (serviceAccount, string) {
	var sa serviceAccount
	if err := json.Unmarshal([]byte(raw), &sa); err != nil {
		return sa, "must be the contents of a service-account JSON file (it does not parse as a JSON object)"
	}
	if sa.ClientEmail == "" || sa.PrivateKey == "" {
		return sa, "service-account JSON must have client_email and private_key"
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return sa, "service-account private_key is not PEM"
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return sa, "service-account private_key is not an RSA private key"
	}
	sa.key = rk
	if sa.TokenURI != "" {
		if u, err := url.Parse(sa.TokenURI); err != nil || u.Scheme != "https" || u.Host == "" {
			return sa, "service-account token_uri must be an https:// URL"
		}
	}
	return sa, ""
}

// parseP8 reads an APNs token key: the .p8 PEM, also when a secret store
// flattened its newlines to literal "\n" or dropped the armour and left the
// bare base64 body. Nil means unusable.
func parseP8(s string) *ecdsa.PrivateKey {
	s = strings.ReplaceAll(s, `\n`, "\n")
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil
		}
		der = b
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil
	}
	return ek
}
