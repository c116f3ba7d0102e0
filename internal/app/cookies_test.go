package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/store"
)

// A browser session lives in HttpOnly cookies: set on sign-in when asked,
// accepted instead of a bearer token, refused for changes without the CSRF
// header, renewed by refresh, cleared on sign-out.
func TestCookieSession(t *testing.T) {
	s := startAPI(t, store.SQLite, nil)
	call := func(method, path string, cookies []*http.Cookie, hdr map[string]string, body any) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, s.base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	cookie := func(res *http.Response, name string) *http.Cookie {
		for _, c := range res.Cookies() {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	creds := map[string]string{"email": "cookie@example.com", "password": "a long enough password"}
	if res, body := call("POST", "/api/v1/auth/register", nil, nil, map[string]string{"email": creds["email"], "password": creds["password"], "displayName": "Cookie"}); res.StatusCode != 201 {
		t.Fatalf("register: %d %s", res.StatusCode, body)
	}

	// Without the header, sign-in answers tokens and sets no cookie.
	res, body := call("POST", "/api/v1/auth/login", nil, nil, creds)
	if res.StatusCode != 200 || !strings.Contains(body, `"accessToken":"ey`) || len(res.Cookies()) != 0 {
		t.Fatalf("plain sign-in: %d %v %s", res.StatusCode, res.Cookies(), body)
	}

	session := map[string]string{"X-QuikApp-Session": "cookie"}
	res, body = call("POST", "/api/v1/auth/login", nil, session, creds)
	acc, ref := cookie(res, "quikapp_access"), cookie(res, "quikapp_refresh")
	if res.StatusCode != 200 || acc == nil || ref == nil {
		t.Fatalf("cookie sign-in: %d %v %s", res.StatusCode, res.Cookies(), body)
	}
	if !acc.HttpOnly || acc.SameSite != http.SameSiteStrictMode || acc.Path != "/api" || acc.Secure || acc.Value == "" {
		t.Fatalf("access cookie: %+v", acc)
	}
	if !ref.HttpOnly || ref.SameSite != http.SameSiteStrictMode || ref.Path != "/api/v1/auth" {
		t.Fatalf("refresh cookie: %+v", ref)
	}
	if strings.Contains(body, acc.Value) || strings.Contains(body, ref.Value) || !strings.Contains(body, `"user"`) {
		t.Fatalf("the tokens must stay out of script's reach: %s", body)
	}

	// The cookie signs requests in.
	if res, body := call("GET", "/api/v1/users/me", []*http.Cookie{acc}, nil, nil); res.StatusCode != 200 || !strings.Contains(body, creds["email"]) {
		t.Fatalf("GET /users/me by cookie: %d %s", res.StatusCode, body)
	}
	// A change by cookie without the CSRF header is refused, with it allowed.
	ws := map[string]string{"name": "Cookie Co", "slug": "cookie-co"}
	if res, body := call("POST", "/api/v1/workspaces", []*http.Cookie{acc}, nil, ws); res.StatusCode != 403 || !strings.Contains(body, "X-QuikApp-CSRF") {
		t.Fatalf("POST without CSRF header: %d %s", res.StatusCode, body)
	}
	if res, body := call("POST", "/api/v1/workspaces", []*http.Cookie{acc}, map[string]string{"X-QuikApp-CSRF": "1"}, ws); res.StatusCode != 201 {
		t.Fatalf("POST with CSRF header: %d %s", res.StatusCode, body)
	}

	// Refresh spends the refresh cookie and sets new ones.
	res, body = call("POST", "/api/v1/auth/refresh", []*http.Cookie{ref}, session, map[string]string{})
	acc2, ref2 := cookie(res, "quikapp_access"), cookie(res, "quikapp_refresh")
	if res.StatusCode != 200 || acc2 == nil || ref2 == nil || ref2.Value == ref.Value {
		t.Fatalf("refresh by cookie: %d %v %s", res.StatusCode, res.Cookies(), body)
	}

	// Sign-out clears the cookies and ends the session.
	res, body = call("POST", "/api/v1/auth/logout", []*http.Cookie{acc2}, map[string]string{"X-QuikApp-CSRF": "1"}, nil)
	if res.StatusCode != 204 {
		t.Fatalf("logout: %d %s", res.StatusCode, body)
	}
	if c := cookie(res, "quikapp_access"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout must clear the access cookie: %v", res.Cookies())
	}
	if c := cookie(res, "quikapp_refresh"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout must clear the refresh cookie: %v", res.Cookies())
	}
	if res, body := call("POST", "/api/v1/auth/refresh", []*http.Cookie{ref2}, session, map[string]string{}); res.StatusCode != 401 {
		t.Fatalf("refresh after logout: %d %s", res.StatusCode, body)
	}
}
