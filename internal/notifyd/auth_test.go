package notifyd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify/notifyrpc"
)

// The RPC layer takes the Authenticator as is.
var _ notifyrpc.Authenticator = (*Authenticator)(nil)

var (
	testSecret = []byte("test-hs256-secret")
	testNow    = time.Unix(1_700_000_000, 0)
)

// signJWT builds a token from raw header and payload JSON, signed with
// HMAC-SHA256 under secret.
func signJWT(secret []byte, header, payload string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(in))
	return in + "." + enc.EncodeToString(mac.Sum(nil))
}

const hs256 = `{"alg":"HS256","typ":"JWT"}`

// tok signs claims (a JSON object body without braces) with testSecret.
func tok(claims string) string { return signJWT(testSecret, hs256, "{"+claims+"}") }

func jwtAuth(mod ...func(*AuthConfig)) *Authenticator {
	cfg := AuthConfig{JWTSecret: testSecret, Leeway: 30 * time.Second, Now: func() time.Time { return testNow }}
	for _, m := range mod {
		m(&cfg)
	}
	return NewAuthenticator(cfg)
}

func TestClientJWT(t *testing.T) {
	now := testNow.Unix()
	num := func(v int64) string { b, _ := json.Marshal(v); return string(b) }
	base := `"sub":"u1","tenant_id":"acme"`
	pinned := func(c *AuthConfig) { c.Issuer, c.Audience = "https://id.example.com", "notify" }
	noLeeway := func(c *AuthConfig) { c.Leeway = 0 }
	withDev := func(c *AuthConfig) { c.DevMode = true }
	ok := func(u, tn, e string) *Identity { return &Identity{UserID: u, TenantID: tn, Email: e} }
	acme := ok("u1", "acme", "")

	for _, tc := range []struct {
		name  string
		auth  *Authenticator
		token string
		want  *Identity // nil: must fail
	}{
		{"valid", jwtAuth(), tok(base), acme},
		{"valid with email", jwtAuth(), tok(base + `,"email":"u1@acme.test"`), ok("u1", "acme", "u1@acme.test")},
		{"email not a string is ignored", jwtAuth(), tok(base + `,"email":42`), acme},
		{"secret wins over dev mode", jwtAuth(withDev), tok(base), acme},
		{"dev token refused when a secret is set", jwtAuth(withDev), "dev:u1:acme", nil},
		{"spaces in JSON", jwtAuth(), signJWT(testSecret, ` { "alg" : "HS256" } `, `{ "sub" : "u1" , "tenant_id" : "acme" , "exp" : `+num(now+60)+` }`), acme},

		{"alg none unsigned", jwtAuth(), unsigned(signJWT(testSecret, `{"alg":"none"}`, "{"+base+"}")), nil},
		{"alg none signed", jwtAuth(), signJWT(testSecret, `{"alg":"none"}`, "{"+base+"}"), nil},
		{"alg RS256 header", jwtAuth(), signJWT(testSecret, `{"alg":"RS256","typ":"JWT"}`, "{"+base+"}"), nil},
		{"alg HS512", jwtAuth(), signJWT(testSecret, `{"alg":"HS512"}`, "{"+base+"}"), nil},
		{"alg lower case", jwtAuth(), signJWT(testSecret, `{"alg":"hs256"}`, "{"+base+"}"), nil},
		{"alg key in upper case", jwtAuth(), signJWT(testSecret, `{"ALG":"HS256"}`, "{"+base+"}"), nil},
		{"alg missing", jwtAuth(), signJWT(testSecret, `{"typ":"JWT"}`, "{"+base+"}"), nil},
		{"alg not a string", jwtAuth(), signJWT(testSecret, `{"alg":["HS256"]}`, "{"+base+"}"), nil},
		{"crit header", jwtAuth(), signJWT(testSecret, `{"alg":"HS256","crit":["exp"]}`, "{"+base+"}"), nil},
		{"header null", jwtAuth(), signJWT(testSecret, `null`, "{"+base+"}"), nil},
		{"header not JSON", jwtAuth(), signJWT(testSecret, `{alg:HS256}`, "{"+base+"}"), nil},
		{"payload not JSON", jwtAuth(), signJWT(testSecret, hs256, `sub=u1`), nil},
		{"payload array", jwtAuth(), signJWT(testSecret, hs256, `["u1"]`), nil},
		{"payload null", jwtAuth(), signJWT(testSecret, hs256, `null`), nil},
		{"bad signature", jwtAuth(), signJWT([]byte("other-secret"), hs256, "{"+base+"}"), nil},
		{"tampered payload", jwtAuth(), tamperPayload(tok(base), `{"sub":"admin","tenant_id":"acme"}`), nil},
		{"empty signature", jwtAuth(), unsigned(tok(base)), nil},
		{"signature not base64url", jwtAuth(), tok(base) + "*", nil},
		{"signature padded", jwtAuth(), tok(base) + "=", nil},
		{"signature with stray bits", jwtAuth(), strayBits(tok(base)), nil},
		{"header base64 std alphabet", jwtAuth(), "eyJ+" + tok(base)[4:], nil},
		{"two parts", jwtAuth(), tok(base)[:strings.LastIndex(tok(base), ".")], nil},
		{"four parts", jwtAuth(), tok(base) + ".x", nil},
		{"not a JWT", jwtAuth(), "opaque-token", nil},

		{"exp in future", jwtAuth(), tok(base + `,"exp":` + num(now+60)), acme},
		{"exp past beyond leeway", jwtAuth(), tok(base + `,"exp":` + num(now-31)), nil},
		{"exp past within leeway", jwtAuth(), tok(base + `,"exp":` + num(now-29)), acme},
		{"exp now without leeway", jwtAuth(noLeeway), tok(base + `,"exp":` + num(now)), nil},
		{"exp just ahead without leeway", jwtAuth(noLeeway), tok(base + `,"exp":` + num(now) + `.5`), acme},
		{"exp float past", jwtAuth(noLeeway), tok(base + `,"exp":` + num(now-1) + `.25`), nil},
		{"exp exponent form", jwtAuth(), tok(base + `,"exp":1.8e9`), acme},
		{"exp string", jwtAuth(), tok(base + `,"exp":"` + num(now+60) + `"`), nil},
		{"exp null", jwtAuth(), tok(base + `,"exp":null`), nil},
		{"exp bool", jwtAuth(), tok(base + `,"exp":true`), nil},
		{"exp overflows float", jwtAuth(), tok(base + `,"exp":1e400`), nil},
		{"exp negative", jwtAuth(), tok(base + `,"exp":-1`), nil},
		{"nbf in past", jwtAuth(), tok(base + `,"nbf":` + num(now-60)), acme},
		{"nbf now without leeway", jwtAuth(noLeeway), tok(base + `,"nbf":` + num(now)), acme},
		{"nbf future within leeway", jwtAuth(), tok(base + `,"nbf":` + num(now+29)), acme},
		{"nbf future beyond leeway", jwtAuth(), tok(base + `,"nbf":` + num(now+31)), nil},
		{"nbf float just ahead without leeway", jwtAuth(noLeeway), tok(base + `,"nbf":` + num(now) + `.5`), nil},
		{"nbf string", jwtAuth(), tok(base + `,"nbf":"0"`), nil},
		{"iat in the future is not checked", jwtAuth(noLeeway), tok(base + `,"iat":` + num(now+86400)), acme},
		{"iat garbage is not checked", jwtAuth(), tok(base + `,"iat":"yesterday"`), acme},
		{"negative leeway means none", jwtAuth(func(c *AuthConfig) { c.Leeway = -time.Hour }), tok(base + `,"exp":` + num(now-1)), nil},

		{"iss and aud pinned, string aud", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":"notify"`), acme},
		{"aud array contains", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":["web","notify"]`), acme},
		{"aud array with non-strings", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":[1,null,"notify"]`), acme},
		{"aud array lacks it", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":["web","api"]`), nil},
		{"aud empty array", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":[]`), nil},
		{"aud other string", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":"notify2"`), nil},
		{"aud missing", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com"`), nil},
		{"aud object", jwtAuth(pinned), tok(base + `,"iss":"https://id.example.com","aud":{"notify":true}`), nil},
		{"iss mismatch", jwtAuth(pinned), tok(base + `,"iss":"https://evil.example.com","aud":"notify"`), nil},
		{"iss case differs", jwtAuth(pinned), tok(base + `,"iss":"HTTPS://ID.EXAMPLE.COM","aud":"notify"`), nil},
		{"iss missing", jwtAuth(pinned), tok(base + `,"aud":"notify"`), nil},
		{"iss not a string", jwtAuth(pinned), tok(base + `,"iss":["https://id.example.com"],"aud":"notify"`), nil},
		{"iss and aud ignored when not pinned", jwtAuth(), tok(base + `,"iss":7,"aud":{"x":1}`), acme},

		{"sub missing", jwtAuth(), tok(`"tenant_id":"acme"`), nil},
		{"sub empty", jwtAuth(), tok(`"sub":"","tenant_id":"acme"`), nil},
		{"sub number", jwtAuth(), tok(`"sub":12,"tenant_id":"acme"`), nil},
		{"sub key upper case", jwtAuth(), tok(`"SUB":"u1","tenant_id":"acme"`), nil},
		{"tenant claim", jwtAuth(), tok(`"sub":"u1","tenant":"beta"`), ok("u1", "beta", "")},
		{"tenant wins over tenant_id", jwtAuth(), tok(`"sub":"u1","tenant":"beta","tenant_id":"acme"`), ok("u1", "beta", "")},
		{"empty tenant has no fallback", jwtAuth(), tok(`"sub":"u1","tenant":"","tenant_id":"acme"`), nil},
		{"numeric tenant falls back", jwtAuth(), tok(`"sub":"u1","tenant":5,"tenant_id":"acme"`), acme},
		{"object tenant falls back", jwtAuth(), tok(`"sub":"u1","tenant":{"id":"beta"},"tenant_id":"acme"`), acme},
		{"null tenant falls back", jwtAuth(), tok(`"sub":"u1","tenant":null,"tenant_id":"acme"`), acme},
		{"numeric tenant without tenant_id", jwtAuth(), tok(`"sub":"u1","tenant":5`), nil},
		{"no tenant at all", jwtAuth(), tok(`"sub":"u1"`), nil},
		{"tenant_id empty", jwtAuth(), tok(`"sub":"u1","tenant_id":""`), nil},
		{"tenant_id number", jwtAuth(), tok(`"sub":"u1","tenant_id":7`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) { checkClient(t, tc.auth, "Bearer "+tc.token, tc.want) })
	}
}

// unsigned drops the signature, keeping the final dot ("h.p.").
func unsigned(token string) string { return token[:strings.LastIndex(token, ".")+1] }

// tamperPayload swaps the payload of a signed token, keeping its signature.
func tamperPayload(token, payload string) string {
	p := strings.Split(token, ".")
	return p[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + p[2]
}

// strayBits re-spells the signature's last character with non-zero unused
// bits: lenient decoders read the same bytes, a strict one refuses it.
func strayBits(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	// A 32-byte MAC leaves 2 unused low bits in the last character.
	return token[:len(token)-1] + string(alphabet[last|1])
}

func checkClient(t *testing.T, a *Authenticator, header string, want *Identity) {
	t.Helper()
	got, err := a.Client(header)
	if want == nil {
		if err == nil {
			t.Fatalf("accepted %q as %+v", header, got)
		}
		if !errors.Is(err, ErrUnauthenticated) || !strings.HasPrefix(err.Error(), "notify: unauthenticated: ") {
			t.Fatalf("error %q is not an ErrUnauthenticated", err)
		}
		if tok := strings.TrimSpace(header[min(len(header), 7):]); len(tok) > 3 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error %q echoes the token", err)
		}
		if strings.Contains(err.Error(), string(testSecret)) {
			t.Fatalf("error %q echoes the secret", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("rejected %q: %v", header, err)
	}
	if got != *want {
		t.Fatalf("identity = %+v, want %+v", got, *want)
	}
}

func TestClientBearerHeader(t *testing.T) {
	a := jwtAuth()
	good := tok(`"sub":"u1","tenant_id":"acme"`)
	acme := &Identity{UserID: "u1", TenantID: "acme"}
	for _, tc := range []struct {
		header string
		want   *Identity
	}{
		{"Bearer " + good, acme},
		{"bearer " + good, acme},
		{"BEARER " + good, acme},
		{"BeArEr " + good, acme},
		{"Bearer    " + good + "  \t", acme},
		{"Bearer\t" + good, nil},
		{"Bearer" + good, nil},
		{" Bearer " + good, nil},
		{"Bearer", nil},
		{"Bearer ", nil},
		{"Bearer    \t ", nil},
		{"", nil},
		{"Basic " + good, nil},
		{"Token " + good, nil},
		{good, nil},
	} {
		checkClient(t, a, tc.header, tc.want)
	}
}

func TestClientTokenLength(t *testing.T) {
	a := jwtAuth()
	claims := func(pad int) string { return `"sub":"u1","tenant_id":"acme","pad":"` + strings.Repeat("x", pad) + `"` }
	short := tok(claims(6000))
	if len(short) > maxTokenLen {
		t.Fatalf("fixture too long: %d", len(short))
	}
	checkClient(t, a, "Bearer "+short, &Identity{UserID: "u1", TenantID: "acme"})
	long := tok(claims(6200))
	if len(long) <= maxTokenLen {
		t.Fatalf("fixture too short: %d", len(long))
	}
	checkClient(t, a, "Bearer "+long, nil)
	checkClient(t, a, "Bearer "+strings.Repeat("a", 1<<20), nil)
	dev := NewAuthenticator(AuthConfig{DevMode: true})
	checkClient(t, dev, "Bearer dev:u1:acme:"+strings.Repeat("e", maxTokenLen), nil)
}

func TestClientDevTokens(t *testing.T) {
	dev := NewAuthenticator(AuthConfig{DevMode: true})
	for _, tc := range []struct {
		token string
		want  *Identity
	}{
		{"dev:u1:acme", &Identity{UserID: "u1", TenantID: "acme"}},
		{"dev:u1:acme:u1@acme.test", &Identity{UserID: "u1", TenantID: "acme", Email: "u1@acme.test"}},
		{"dev:u1:acme:", &Identity{UserID: "u1", TenantID: "acme"}},
		{"dev:u1", nil},
		{"dev:u1:acme:e:x", nil},
		{"dev", nil},
		{"Dev:u1:acme", nil},
		{"DEV:u1:acme", nil},
		{"dev::acme", nil},
		{"dev:u1:", nil},
		{" dev:u1:acme", &Identity{UserID: "u1", TenantID: "acme"}}, // the header's rest is trimmed
		{"xdev:u1:acme", nil},
		{tok(`"sub":"u1","tenant_id":"acme"`), nil}, // no secret: JWTs mean nothing
	} {
		checkClient(t, dev, "Bearer "+tc.token, tc.want)
	}
	// No secret and no dev mode: nothing gets in.
	closed := NewAuthenticator(AuthConfig{})
	for _, token := range []string{"dev:u1:acme", tok(`"sub":"u1","tenant_id":"acme"`), "anything"} {
		checkClient(t, closed, "Bearer "+token, nil)
	}
}

func TestNewAuthenticatorCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	a := NewAuthenticator(AuthConfig{JWTSecret: secret, Now: func() time.Time { return testNow }})
	secret[0] ^= 0xff
	checkClient(t, a, "Bearer "+tok(`"sub":"u1","tenant_id":"acme"`), &Identity{UserID: "u1", TenantID: "acme"})
	// The wall clock is the default and tokens without exp never expire.
	checkClient(t, NewAuthenticator(AuthConfig{JWTSecret: testSecret}), "Bearer "+tok(`"sub":"u1","tenant_id":"acme"`), &Identity{UserID: "u1", TenantID: "acme"})
}

func TestClientConcurrent(t *testing.T) {
	a := jwtAuth()
	good, bad := "Bearer "+tok(`"sub":"u1","tenant_id":"acme"`), "Bearer "+signJWT([]byte("x"), hs256, `{"sub":"u1","tenant_id":"acme"}`)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if _, err := a.Client(good); err != nil {
					t.Error(err)
				}
				if _, err := a.Client(bad); err == nil {
					t.Error("bad token accepted")
				}
			}
		})
	}
	wg.Wait()
}

func TestInternal(t *testing.T) {
	const token = "Zq9xW-7kP2-s3cret"
	for _, tc := range []struct {
		name   string
		cfg    AuthConfig
		header string
		ok     bool
	}{
		{"right token", AuthConfig{InternalToken: token}, token, true},
		{"wrong token", AuthConfig{InternalToken: token}, "nope", false},
		{"missing header", AuthConfig{InternalToken: token}, "", false},
		{"prefix of the token", AuthConfig{InternalToken: token}, token[:5], false},
		{"token plus suffix", AuthConfig{InternalToken: token}, token + "x", false},
		{"case differs", AuthConfig{InternalToken: token}, strings.ToUpper(token), false},
		{"padded", AuthConfig{InternalToken: token}, " " + token, false},
		{"bearer form is not accepted", AuthConfig{InternalToken: token}, "Bearer " + token, false},
		{"dev mode still checks a configured token", AuthConfig{InternalToken: token, DevMode: true}, "nope", false},
		{"dev mode still needs the header", AuthConfig{InternalToken: token, DevMode: true}, "", false},
		{"dev mode with the right token", AuthConfig{InternalToken: token, DevMode: true}, token, true},
		{"dev mode without a token skips the check", AuthConfig{DevMode: true}, "", true},
		{"dev mode without a token ignores the header", AuthConfig{DevMode: true}, "whatever", true},
		{"no token and no dev mode", AuthConfig{}, "", false},
		{"no token and no dev mode, header set", AuthConfig{}, "whatever", false},
		{"JWT secret alone does not open the internal port", AuthConfig{JWTSecret: testSecret}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewAuthenticator(tc.cfg).Internal(tc.header)
			if tc.ok {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrUnauthenticated) || !strings.HasPrefix(err.Error(), "notify: unauthenticated: ") {
				t.Fatalf("error %q", err)
			}
			if strings.Contains(err.Error(), token) || (len(tc.header) > 3 && strings.Contains(err.Error(), tc.header)) {
				t.Fatalf("error %q echoes a token", err)
			}
		})
	}
}
