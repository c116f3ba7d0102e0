// Package oidc signs people in with an external identity provider: any
// OpenID Connect issuer (discovery, authorization code flow with PKCE,
// state and nonce, ID tokens verified against the issuer's keys), with
// presets for Google and Microsoft, and GitHub, which speaks plain OAuth 2
// and is asked for the user's verified email through its API.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Identity is who the provider says signed in.
type Identity struct {
	Subject       string // stable id at the provider
	Email         string
	EmailVerified bool
	Name          string
}

// Kinds of provider.
const (
	KindOIDC   = "oidc"
	KindGitHub = "github"
)

// Config describes one provider.
type Config struct {
	Name         string // in URLs: /api/v1/auth/oidc/{name}/start
	Kind         string // KindOIDC (default) or KindGitHub
	ClientID     string
	ClientSecret string // secret
	// Issuer is the OIDC issuer URL; "{tenantid}" in it matches the ID
	// token's tid claim (Microsoft's multi-tenant endpoints).
	Issuer string
	// DiscoveryURL overrides where the discovery document is read (the
	// issuer's /.well-known/openid-configuration by default).
	DiscoveryURL string
	// GitHub endpoints (defaults: github.com and api.github.com).
	AuthURL, TokenURL, APIURL string
	Scopes                    []string
	RedirectURL               string // our callback, absolute
	HTTPClient                *http.Client
	Now                       func() time.Time
}

// Presets fill in the well-known providers.
func Preset(name string) (Config, bool) {
	switch name {
	case "google":
		return Config{Name: name, Kind: KindOIDC, Issuer: "https://accounts.google.com"}, true
	case "microsoft":
		return Config{Name: name, Kind: KindOIDC, Issuer: "https://login.microsoftonline.com/{tenantid}/v2.0",
			DiscoveryURL: "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"}, true
	case "github":
		return Config{Name: name, Kind: KindGitHub, AuthURL: "https://github.com/login/oauth/authorize",
			TokenURL: "https://github.com/login/oauth/access_token", APIURL: "https://api.github.com"}, true
	}
	return Config{}, false
}

// Provider runs the flow for one Config.
type Provider struct {
	cfg Config
	hc  *http.Client

	mu        sync.Mutex
	meta      *discovery
	metaAt    time.Time
	keys      map[string]any
	keysAt    time.Time
	keysTried time.Time
}

type discovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// New validates cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Kind == "" {
		cfg.Kind = KindOIDC
	}
	var errs []string
	if cfg.ClientID == "" {
		errs = append(errs, "a client id is required")
	}
	if cfg.ClientSecret == "" {
		errs = append(errs, "a client secret is required")
	}
	if cfg.RedirectURL == "" {
		errs = append(errs, "a redirect URL is required")
	}
	switch cfg.Kind {
	case KindOIDC:
		if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://127.0.0.1") && !strings.HasPrefix(cfg.Issuer, "http://localhost") {
			errs = append(errs, "the issuer must be an https:// URL")
		}
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"openid", "email", "profile"}
		}
	case KindGitHub:
		if cfg.AuthURL == "" || cfg.TokenURL == "" || cfg.APIURL == "" {
			errs = append(errs, "GitHub needs its authorize, token and API URLs")
		}
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"read:user", "user:email"}
		}
	default:
		errs = append(errs, "kind must be oidc or github")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("oidc provider %s: %s", cfg.Name, strings.Join(errs, "; "))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Provider{cfg: cfg, hc: hc}, nil
}

// Name is the provider's name.
func (p *Provider) Name() string { return p.cfg.Name }

// Secrets returns a fresh state, nonce and PKCE verifier for one sign-in.
func Secrets() (state, nonce, verifier string) {
	r := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return r(), r(), r()
}

// challenge is the S256 PKCE challenge of verifier (RFC 7636).
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthCodeURL is where to send the browser.
func (p *Provider) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	endpoint := p.cfg.AuthURL
	if p.cfg.Kind == KindOIDC {
		meta, err := p.discover(ctx)
		if err != nil {
			return "", err
		}
		endpoint = meta.AuthorizationEndpoint
	}
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {p.cfg.ClientID},
		"redirect_uri":          {p.cfg.RedirectURL},
		"scope":                 {strings.Join(p.cfg.Scopes, " ")},
		"state":                 {state},
		"code_challenge":        {challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
	if p.cfg.Kind == KindOIDC {
		v.Set("nonce", nonce)
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + v.Encode(), nil
}

// ErrProvider wraps failures of the provider's answers (shown to the user
// as "sign-in with X failed").
var ErrProvider = errors.New("oidc: the identity provider's answer was not acceptable")

// Exchange trades the callback's code for the user's identity, checking
// the ID token's signature, issuer, audience, expiry and nonce.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	if code == "" || len(code) > 2048 {
		return Identity{}, fmt.Errorf("%w: no code", ErrProvider)
	}
	tokenURL := p.cfg.TokenURL
	if p.cfg.Kind == KindOIDC {
		meta, err := p.discover(ctx)
		if err != nil {
			return Identity{}, err
		}
		tokenURL = meta.TokenEndpoint
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.cfg.RedirectURL},
		"client_id":     {p.cfg.ClientID},
		"client_secret": {p.cfg.ClientSecret},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, fmt.Errorf("oidc: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
		Error       string `json:"error"`
	}
	if err := p.do(req, &tok); err != nil {
		return Identity{}, err
	}
	if tok.Error != "" {
		return Identity{}, fmt.Errorf("%w: token endpoint said %q", ErrProvider, tok.Error)
	}
	if p.cfg.Kind == KindGitHub {
		return p.github(ctx, tok.AccessToken)
	}
	if tok.IDToken == "" {
		return Identity{}, fmt.Errorf("%w: no id_token", ErrProvider)
	}
	return p.verifyIDToken(ctx, tok.IDToken, nonce)
}

// maxBody bounds what we read from a provider.
const maxBody = 1 << 20

func (p *Provider) do(req *http.Request, dst any) error {
	resp, err := p.hc.Do(req)
	if err != nil {
		return fmt.Errorf("oidc: %s %s: %w", req.Method, req.URL.Host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("oidc: read %s: %w", req.URL.Host, err)
	}
	if resp.StatusCode/100 != 2 {
		// Token endpoints answer errors as 400 with a JSON error.
		if json.Unmarshal(b, dst) == nil && resp.StatusCode == http.StatusBadRequest {
			return nil
		}
		return fmt.Errorf("%w: %s %s answered %d", ErrProvider, req.Method, req.URL.Path, resp.StatusCode)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%w: %s %s: not JSON", ErrProvider, req.Method, req.URL.Path)
	}
	return nil
}

func (p *Provider) get(ctx context.Context, u, bearer string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return p.do(req, dst)
}

// discover reads and caches the issuer's metadata for an hour.
func (p *Provider) discover(ctx context.Context) (*discovery, error) {
	p.mu.Lock()
	if p.meta != nil && p.cfg.Now().Sub(p.metaAt) < time.Hour {
		m := p.meta
		p.mu.Unlock()
		return m, nil
	}
	p.mu.Unlock()
	u := p.cfg.DiscoveryURL
	if u == "" {
		u = strings.TrimRight(p.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	}
	var m discovery
	if err := p.get(ctx, u, "", &m); err != nil {
		return nil, err
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" {
		return nil, fmt.Errorf("%w: discovery document lacks endpoints", ErrProvider)
	}
	if !strings.Contains(p.cfg.Issuer, "{tenantid}") && m.Issuer != p.cfg.Issuer {
		return nil, fmt.Errorf("%w: discovery names issuer %q, configured %q", ErrProvider, m.Issuer, p.cfg.Issuer)
	}
	p.mu.Lock()
	p.meta, p.metaAt = &m, p.cfg.Now()
	p.mu.Unlock()
	return &m, nil
}

// github reads the user and their primary verified email.
func (p *Provider) github(ctx context.Context, accessToken string) (Identity, error) {
	if accessToken == "" {
		return Identity{}, fmt.Errorf("%w: no access token", ErrProvider)
	}
	var u struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := p.get(ctx, strings.TrimRight(p.cfg.APIURL, "/")+"/user", accessToken, &u); err != nil {
		return Identity{}, err
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := p.get(ctx, strings.TrimRight(p.cfg.APIURL, "/")+"/user/emails", accessToken, &emails); err != nil {
		return Identity{}, err
	}
	if u.ID == 0 {
		return Identity{}, fmt.Errorf("%w: no user id", ErrProvider)
	}
	id := Identity{Subject: fmt.Sprint(u.ID), Name: u.Name}
	if id.Name == "" {
		id.Name = u.Login
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email, id.EmailVerified = e.Email, true
		}
	}
	return id, nil
}
