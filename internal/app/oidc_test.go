package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/auth/oidc/oidctest"
)

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func location(t *testing.T, u string) *url.URL {
	t.Helper()
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: %d, want a redirect", u, resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// signInWith runs the browser's trip: our start, the provider, our
// callback; it returns where the callback sent the browser.
func signInWith(t *testing.T, s *api, redirect string) *url.URL {
	t.Helper()
	atProvider := location(t, s.base+"/api/v1/auth/oidc/corp/start?redirect="+url.QueryEscape(redirect))
	back := location(t, atProvider.String())
	return location(t, s.base+back.RequestURI())
}

func TestSignInWithIdentityProvider(t *testing.T) {
	const public = "http://quikapp.test"
	idp := oidctest.New("quikapp", "idp-secret", public+"/api/v1/auth/oidc/corp/callback")
	defer idp.Close()
	eachAPI(t, func(c *Config) {
		c.Identity.PublicURL = public
		c.Identity.OIDC = []oidc.Config{{Name: "corp", ClientID: "quikapp", ClientSecret: "idp-secret", Issuer: idp.URL,
			RedirectURL: public + "/api/v1/auth/oidc/corp/callback"}}
	}, func(t *testing.T, s *api) {
		var providers struct{ Items []auth.ProviderInfo }
		s.must(200, "GET", "/api/v1/auth/oidc/providers", "", nil).JSON(t, &providers)
		if len(providers.Items) != 1 || providers.Items[0].Name != "corp" {
			t.Fatalf("providers: %+v", providers)
		}
		idp.SignInAs(oidctest.User{Subject: "emp-7", Email: "Dana@Example.com", EmailVerified: true, Name: "Dana"})
		back := signInWith(t, s, "/welcome?tab=1")
		if back.Path != "/welcome" || back.Query().Get("tab") != "1" || back.Query().Get("loginCode") == "" {
			t.Fatalf("callback sent the browser to %s", back)
		}
		code := back.Query().Get("loginCode")
		var tok auth.Tokens
		s.must(200, "POST", "/api/v1/auth/oidc/exchange", "", map[string]string{"loginCode": code}).JSON(t, &tok)
		if tok.User.Email != "dana@example.com" || !tok.User.EmailVerified || tok.User.DisplayName != "Dana" {
			t.Fatalf("signed in as %+v", tok.User)
		}
		s.must(401, "POST", "/api/v1/auth/oidc/exchange", "", map[string]string{"loginCode": code})

		// The same person again is the same account.
		var again auth.Tokens
		s.must(200, "POST", "/api/v1/auth/oidc/exchange", "", map[string]string{"loginCode": signInWith(t, s, "/").Query().Get("loginCode")}).JSON(t, &again)
		if again.User.ID != tok.User.ID {
			t.Fatal("a second sign-in made a second account")
		}
		// A verified email joins an existing password account.
		ann := s.signUp("Ann")
		idp.SignInAs(oidctest.User{Subject: "emp-8", Email: ann.Email, EmailVerified: true, Name: "Ann"})
		var linked auth.Tokens
		s.must(200, "POST", "/api/v1/auth/oidc/exchange", "", map[string]string{"loginCode": signInWith(t, s, "/").Query().Get("loginCode")}).JSON(t, &linked)
		if linked.User.ID != ann.ID {
			t.Fatal("verified email did not link to the existing account")
		}
		// An unverified one does not.
		idp.SignInAs(oidctest.User{Subject: "emp-9", Email: "mallory@example.com", EmailVerified: false})
		if back := signInWith(t, s, "/"); back.Path != "/signin" || !strings.Contains(back.Query().Get("error"), "verified email") {
			t.Fatalf("unverified email: sent to %s", back)
		}
		// A callback cannot be replayed; states are ours only.
		atProvider := location(t, s.base+"/api/v1/auth/oidc/corp/start")
		cb := location(t, atProvider.String())
		location(t, s.base+cb.RequestURI())
		if replay := location(t, s.base+cb.RequestURI()); replay.Path != "/signin" {
			t.Fatalf("replayed callback sent the browser to %s", replay)
		}
		forged := s.base + "/api/v1/auth/oidc/corp/callback?code=x&state=forged"
		if l := location(t, forged); l.Path != "/signin" {
			t.Fatalf("forged state: %s", l)
		}
		// No open redirects, no unknown providers.
		for _, bad := range []string{"//evil.example.com", "https://evil.example.com/", "/\\evil.example.com"} {
			if r := s.do("GET", "/api/v1/auth/oidc/corp/start?redirect="+url.QueryEscape(bad), "", nil); r.Status != 400 {
				t.Errorf("redirect %q: %s", bad, r)
			}
		}
		s.must(404, "GET", "/api/v1/auth/oidc/nope/start", "", nil)
	})
}
