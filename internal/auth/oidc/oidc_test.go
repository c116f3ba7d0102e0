package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/auth/oidc/oidctest"
)

const redirect = "http://127.0.0.1:1/api/v1/auth/oidc/test/callback"

// authorize follows the browser's trip to the provider and back.
func authorize(t *testing.T, p *oidc.Provider, state, nonce, verifier string) (code, gotState string) {
	t.Helper()
	u, err := p.AuthCodeURL(context.Background(), state, nonce, verifier)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d for %s", resp.StatusCode, u)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestOIDCFlow(t *testing.T) {
	srv := oidctest.New("client-1", "secret-1", redirect)
	defer srv.Close()
	p, err := oidc.New(oidc.Config{Name: "test", ClientID: "client-1", ClientSecret: "secret-1", Issuer: srv.URL, RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	srv.SignInAs(oidctest.User{Subject: "s-42", Email: "ann@example.com", EmailVerified: true, Name: "Ann"})
	state, nonce, verifier := oidc.Secrets()
	code, gotState := authorize(t, p, state, nonce, verifier)
	if gotState != state {
		t.Fatalf("state %q came back as %q", state, gotState)
	}
	id, err := p.Exchange(context.Background(), code, verifier, nonce)
	if err != nil || id.Subject != "s-42" || id.Email != "ann@example.com" || !id.EmailVerified || id.Name != "Ann" {
		t.Fatalf("identity %+v, %v", id, err)
	}
	// The code works once.
	if _, err := p.Exchange(context.Background(), code, verifier, nonce); !errors.Is(err, oidc.ErrProvider) {
		t.Fatalf("code used twice: %v", err)
	}
	// A wrong PKCE verifier is refused by the provider.
	code, _ = authorize(t, p, state, nonce, verifier)
	if _, err := p.Exchange(context.Background(), code, verifier+"x", nonce); !errors.Is(err, oidc.ErrProvider) {
		t.Fatalf("wrong verifier: %v", err)
	}
}

func TestOIDCRejectsBadIDTokens(t *testing.T) {
	srv := oidctest.New("client-1", "secret-1", redirect)
	defer srv.Close()
	p, _ := oidc.New(oidc.Config{Name: "test", ClientID: "client-1", ClientSecret: "secret-1", Issuer: srv.URL, RedirectURL: redirect})
	srv.SignInAs(oidctest.User{Subject: "s-1", Email: "a@example.com", EmailVerified: true})
	cases := map[string]func(map[string]any){
		"other audience": func(c map[string]any) { c["aud"] = "someone-else" },
		"other issuer":   func(c map[string]any) { c["iss"] = "https://evil.example.com" },
		"expired":        func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() },
		"wrong nonce":    func(c map[string]any) { c["nonce"] = "replayed" },
		"no subject":     func(c map[string]any) { c["sub"] = "" },
	}
	for name, tamper := range cases {
		state, nonce, verifier := oidc.Secrets()
		code, _ := authorize(t, p, state, nonce, verifier)
		srv.Tamper = tamper
		if _, err := p.Exchange(context.Background(), code, verifier, nonce); !errors.Is(err, oidc.ErrProvider) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	// The audience may be a list that includes us.
	state, nonce, verifier := oidc.Secrets()
	code, _ := authorize(t, p, state, nonce, verifier)
	srv.Tamper = func(c map[string]any) { c["aud"] = []string{"other", "client-1"} }
	if _, err := p.Exchange(context.Background(), code, verifier, nonce); err != nil {
		t.Errorf("audience list with our client refused: %v", err)
	}
}

func TestGitHubFlow(t *testing.T) {
	srv := oidctest.New("gh-client", "gh-secret", redirect)
	defer srv.Close()
	cfg, _ := oidc.Preset("github")
	cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = "gh-client", "gh-secret", redirect
	cfg.AuthURL, cfg.TokenURL, cfg.APIURL = srv.URL+"/authorize", srv.URL+"/token", srv.URL
	p, err := oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.SignInAs(oidctest.User{Subject: "12345", Email: "octo@example.com", EmailVerified: true, Name: "Octo"})
	state, nonce, verifier := oidc.Secrets()
	code, _ := authorize(t, p, state, nonce, verifier)
	id, err := p.Exchange(context.Background(), code, verifier, nonce)
	if err != nil || id.Subject != "12345" || id.Email != "octo@example.com" || !id.EmailVerified {
		t.Fatalf("github identity %+v, %v", id, err)
	}
}

func TestConfigChecks(t *testing.T) {
	if _, err := oidc.New(oidc.Config{Name: "x", Issuer: "http://evil.example.com"}); err == nil {
		t.Fatal("accepted a config without client or https issuer")
	}
	for _, name := range []string{"google", "microsoft", "github"} {
		if _, ok := oidc.Preset(name); !ok {
			t.Errorf("no preset %s", name)
		}
	}
}
