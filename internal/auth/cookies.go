package auth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/quikapp/quikapp/internal/gateway"
)

// Browser sessions in HttpOnly cookies instead of tokens a script can read.
// A client asks for one by sending SessionHeader: cookie on the routes that
// issue tokens; the answer then sets AccessCookie (Path=/api, what the
// gateway accepts in place of a bearer token) and RefreshCookie
// (Path=/api/v1/auth, spent by POST /auth/refresh with an empty body), and
// leaves the tokens out of the JSON. Sign-out clears both.
const (
	SessionHeader = "X-QuikApp-Session"
	AccessCookie  = gateway.AccessCookie
	RefreshCookie = "quikapp_refresh"
	refreshMaxAge = 30 * 24 * 3600
)

func (h *Routes) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.Svc.cfg.PublicURL, "https://")
}

func (h *Routes) setCookie(w http.ResponseWriter, r *http.Request, name, path, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secure(r)})
}

// clearCookies ends a cookie session in the browser.
func (h *Routes) clearCookies(w http.ResponseWriter, r *http.Request) {
	h.setCookie(w, r, AccessCookie, "/api", "", -1)
	h.setCookie(w, r, RefreshCookie, "/api/v1/auth", "", -1)
}

// bufferedWriter holds a response so tokens can move into cookies.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// cookieTokens wraps a route that answers Tokens.
func (h *Routes) cookieTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get(SessionHeader), "cookie") {
			next.ServeHTTP(w, r)
			return
		}
		// POST /auth/refresh {} spends the refresh cookie.
		if strings.HasSuffix(r.URL.Path, "/auth/refresh") {
			if c, err := r.Cookie(RefreshCookie); err == nil && c.Value != "" {
				raw, err := io.ReadAll(io.LimitReader(r.Body, 4096))
				if err == nil && strings.TrimSpace(string(raw)) == "{}" || len(bytes.TrimSpace(raw)) == 0 {
					b, _ := json.Marshal(RefreshRequest{RefreshToken: c.Value})
					r.Body = io.NopCloser(bytes.NewReader(b))
					r.ContentLength = int64(len(b))
					r.Header.Set("Content-Length", strconv.Itoa(len(b)))
				} else {
					r.Body = io.NopCloser(bytes.NewReader(raw))
				}
			}
		}
		buf := &bufferedWriter{header: w.Header()}
		next.ServeHTTP(buf, r)
		var t Tokens
		if buf.status == http.StatusOK && json.Unmarshal(buf.body.Bytes(), &t) == nil && t.AccessToken != "" {
			h.setCookie(w, r, AccessCookie, "/api", t.AccessToken, t.ExpiresIn)
			h.setCookie(w, r, RefreshCookie, "/api/v1/auth", t.RefreshToken, refreshMaxAge)
			t.AccessToken, t.RefreshToken = "", ""
			b, _ := json.Marshal(t)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b)
			return
		}
		if buf.status == http.StatusUnauthorized && strings.HasSuffix(r.URL.Path, "/auth/refresh") {
			h.clearCookies(w, r)
		}
		if buf.status == 0 {
			buf.status = http.StatusOK
		}
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	})
}

// clearOnSuccess wraps sign-out: the cookies go with the session.
func (h *Routes) clearOnSuccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(AccessCookie); err == nil {
			h.clearCookies(w, r)
		}
		next.ServeHTTP(w, r)
	})
}
