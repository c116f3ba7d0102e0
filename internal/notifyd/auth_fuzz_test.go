package notifyd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzClient feeds arbitrary Authorization headers to four authenticators
// (JWT, JWT plus dev mode, dev only, nothing configured). Client must never
// panic, and anything it accepts must be explainable independently: a JWT
// whose signature this test recomputes, or a well-formed dev token.
func FuzzClient(f *testing.F) {
	now := testNow.Unix()
	for _, claims := range []string{
		`"sub":"u1","tenant_id":"acme"`,
		`"sub":"u1","tenant":"beta","email":"u1@beta.test","exp":` + itoa(now+60),
		`"sub":"u1","tenant":"","tenant_id":"acme"`,
		`"sub":"u1","tenant_id":"acme","iss":"https://id.example.com","aud":["x","notify"],"nbf":` + itoa(now-5) + `.5`,
		`"sub":"u1","tenant_id":"acme","exp":` + itoa(now-100),
	} {
		f.Add("Bearer " + tok(claims))
		f.Add("bEARER   " + tok(claims) + " ")
	}
	f.Add("Bearer " + signJWT(testSecret, `{"alg":"none"}`, `{"sub":"u1","tenant_id":"acme"}`))
	f.Add("Bearer " + signJWT(testSecret, `{"alg":"RS256"}`, `{"sub":"u1","tenant_id":"acme"}`))
	f.Add("Bearer " + unsigned(tok(`"sub":"u1","tenant_id":"acme"`)))
	f.Add("Bearer dev:u1:acme")
	f.Add("Bearer dev:u1:acme:u1@acme.test")
	f.Add("Bearer dev::acme")
	f.Add("Bearer dev:a:b:c:d")
	f.Add("Bearer e30.e30.")
	f.Add("Bearer ...")
	f.Add("Basic dTE6cHc=")
	f.Add("")

	clock := func() time.Time { return testNow }
	jwtOnly := NewAuthenticator(AuthConfig{JWTSecret: testSecret, Leeway: 30 * time.Second, Now: clock})
	jwtDev := NewAuthenticator(AuthConfig{JWTSecret: testSecret, Leeway: 30 * time.Second, DevMode: true, Now: clock})
	pinned := NewAuthenticator(AuthConfig{JWTSecret: testSecret, Issuer: "https://id.example.com", Audience: "notify", Now: clock})
	devOnly := NewAuthenticator(AuthConfig{DevMode: true, Now: clock})
	closed := NewAuthenticator(AuthConfig{Now: clock})

	f.Fuzz(func(t *testing.T, header string) {
		token, hasBearer := bearerToken(header)

		id1, err1 := jwtOnly.Client(header)
		id2, err2 := jwtDev.Client(header)
		if (err1 == nil) != (err2 == nil) || id1 != id2 {
			t.Fatalf("dev mode changed the JWT verdict: %v / %v", err1, err2)
		}
		for _, a := range []*Authenticator{jwtOnly, pinned} {
			if id, err := a.Client(header); err == nil {
				if !hasBearer || !signedByTestSecret(token) {
					t.Fatalf("accepted a token this test cannot verify: %q", header)
				}
				if c := payloadClaims(t, token); id.UserID == "" || id.TenantID == "" || c["sub"] != id.UserID {
					t.Fatalf("identity %+v does not match claims %v", id, c)
				}
			} else {
				checkFuzzError(t, err, token)
			}
		}

		if id, err := devOnly.Client(header); err == nil {
			p := strings.Split(token, ":")
			if !hasBearer || (len(p) != 3 && len(p) != 4) || p[0] != "dev" || id.UserID != p[1] || id.TenantID != p[2] || id.UserID == "" || id.TenantID == "" {
				t.Fatalf("dev mode accepted %q as %+v", header, id)
			}
		} else {
			checkFuzzError(t, err, token)
		}

		if id, err := closed.Client(header); err == nil {
			t.Fatalf("nothing configured, yet %q was accepted as %+v", header, id)
		}
	})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// bearerToken is the test's own reading of the header rule.
func bearerToken(h string) (string, bool) {
	if len(h) < 7 || strings.ToLower(h[:7]) != "bearer " {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// signedByTestSecret recomputes the HS256 signature and requires the exact
// canonical encoding.
func signedByTestSecret(token string) bool {
	p := strings.Split(token, ".")
	if len(p) != 3 {
		return false
	}
	mac := hmac.New(sha256.New, testSecret)
	mac.Write([]byte(p[0] + "." + p[1]))
	if p[2] != base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) {
		return false
	}
	h, err := base64.RawURLEncoding.DecodeString(p[0])
	var hdr map[string]any
	return err == nil && json.Unmarshal(h, &hdr) == nil && hdr["alg"] == "HS256"
}

func payloadClaims(t *testing.T, token string) map[string]any {
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	var c map[string]any
	if err != nil || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("accepted payload does not decode: %q", token)
	}
	return c
}

// checkFuzzError: failures are ErrUnauthenticated with a short fixed
// reason, so a long token can never be echoed.
func checkFuzzError(t *testing.T, err error, token string) {
	msg := err.Error()
	if !strings.HasPrefix(msg, "notify: unauthenticated: ") || len(msg) > 80 {
		t.Fatalf("error %q", msg)
	}
	if len(token) > 24 && strings.Contains(msg, token) {
		t.Fatalf("error %q echoes the token", msg)
	}
}
