package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestIndexIsTheBuiltClientWithAStrictCSP(t *testing.T) {
	rec := get(t, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d", rec.Code)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q must allow only same-origin scripts", csp)
	}
	body := rec.Body.String()
	m := regexp.MustCompile(`<script type="module" crossorigin src="(/assets/[^"]+\.js)"></script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("index.html does not load the built bundle:\n%s", body)
	}
	// every <script> has a src: nothing inline for the CSP to refuse
	if n, withSrc := strings.Count(body, "<script"), strings.Count(body, "<script type=\"module\" crossorigin src="); n != withSrc {
		t.Fatalf("index.html has %d scripts, %d with src", n, withSrc)
	}
	js := get(t, m[1])
	if js.Code != http.StatusOK || !strings.Contains(js.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("GET %s = %d %s", m[1], js.Code, js.Header().Get("Content-Type"))
	}
	if !strings.Contains(js.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("hashed assets should be cached: %q", js.Header().Get("Cache-Control"))
	}
}

func TestUnknownPathsGetTheApp(t *testing.T) {
	rec := get(t, "/invite?token=abc")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<div id="root">`) {
		t.Fatalf("GET /invite = %d %q", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("index must be revalidated, got %q", rec.Header().Get("Cache-Control"))
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST / = %d", rec.Code)
	}
}
