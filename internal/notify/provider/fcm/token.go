package fcm

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/jws"
)

// Scope is the OAuth2 scope FCM HTTP v1 requires.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// tokenSource exchanges a signed service-account assertion for an access
// token (RFC 7523 JWT bearer grant, as Google documents for service
// accounts) and caches it until shortly before it expires.
type tokenSource struct {
	email, keyID, url string
	key               *rsa.PrivateKey
	hc                *http.Client
	now               func() time.Time

	mu      sync.Mutex // one exchange at a time; others wait for its result
	token   string
	expires time.Time
}

// refreshMargin renews a token this long before Google would reject it.
const refreshMargin = time.Minute

func (ts *tokenSource) get(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && ts.now().Before(ts.expires.Add(-refreshMargin)) {
		return ts.token, nil
	}
	tok, ttl, err := ts.exchange(ctx)
	if err != nil {
		return "", err
	}
	ts.token, ts.expires = tok, ts.now().Add(ttl)
	return tok, nil
}

// invalidate drops a token FCM refused, so the next get exchanges anew.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token == tok {
		ts.token = ""
	}
}

func (ts *tokenSource) assertion() (string, error) {
	now := ts.now().Unix()
	return jws.RS256(ts.key, map[string]any{"typ": "JWT", "kid": ts.keyID},
		map[string]any{"iss": ts.email, "scope": Scope, "aud": ts.url, "iat": now, "exp": now + 3600})
}

func (ts *tokenSource) exchange(ctx context.Context) (string, time.Duration, error) {
	a, err := ts.assertion()
	if err != nil {
		return "", 0, notify.Errorf(notify.ErrRejected, 0, "fcm: sign token request: %v", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {a}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("fcm: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.hc.Do(req)
	if err != nil {
		return "", 0, notify.Errorf(notify.ErrTemporary, 0, "fcm: token exchange: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		class := notify.ClassifyHTTP(resp.StatusCode)
		if class == nil {
			class = notify.ErrTemporary
		}
		// 400/401 here means the service account is wrong: every send would
		// fail the same way, so it is a rejection, not worth retrying.
		return "", 0, notify.Errorf(class, resp.StatusCode, "fcm: token exchange: %s %s", out.Error, out.Description)
	}
	ttl := time.Duration(out.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	return out.AccessToken, ttl, nil
}
