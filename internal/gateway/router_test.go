package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/ratelimit"
)

type fakeAuth map[string]access.Actor

func (f fakeAuth) Authenticate(_ *http.Request, bearer string) (access.Actor, error) {
	a, ok := f[bearer]
	if !ok {
		return access.Actor{}, httpapi.Unauthenticated("bad token")
	}
	return a, nil
}

func newRouter() *Router {
	rt := New(Config{
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth:     fakeAuth{"good": {UserID: "u1"}, "banned": {UserID: "u2", Banned: true}},
		Limiter:  ratelimit.NewMemory(nil, 0),
		IPRule:   ratelimit.Rule{Name: "ip", Limit: 2, Window: time.Hour},
		UserRule: ratelimit.Rule{Name: "user", Limit: 3, Window: time.Hour},
	})
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := access.ActorFrom(r.Context())
		io.WriteString(w, "hello "+a.UserID+" from "+httpapi.ClientFrom(r.Context()).IP)
	})
	rt.Public("POST /api/v1/open", echo, LimitIP())
	rt.Authed("GET /api/v1/me", echo)
	rt.Authed("GET /api/v1/stream", echo, TokenInQuery())
	return rt
}

func call(rt *Router, method, path, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	return w
}

func TestAuthedRoutesNeedAValidUnbannedUser(t *testing.T) {
	rt := newRouter()
	cases := []struct {
		auth string
		code int
		body string
	}{
		{"", 401, "UNAUTHENTICATED"},
		{"Basic abc", 401, "UNAUTHENTICATED"},
		{"Bearer ", 401, "UNAUTHENTICATED"},
		{"Bearer nope", 401, "UNAUTHENTICATED"},
		{"Bearer banned", 403, "USER_BANNED"},
		{"Bearer good", 200, "hello u1"},
		{"bearer good", 200, "hello u1"},
	}
	for _, c := range cases {
		w := call(rt, "GET", "/api/v1/me", c.auth)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("Authorization %q: %d %s, want %d %s", c.auth, w.Code, w.Body, c.code, c.body)
		}
	}
}

func TestTokenInQueryOnlyWhereAllowed(t *testing.T) {
	rt := newRouter()
	if w := call(rt, "GET", "/api/v1/stream?access_token=good", ""); w.Code != 200 {
		t.Fatalf("stream with query token: %d %s", w.Code, w.Body)
	}
	if w := call(rt, "GET", "/api/v1/me?access_token=good", ""); w.Code != 401 {
		t.Fatalf("query token accepted on an ordinary route: %d", w.Code)
	}
}

func TestLimits(t *testing.T) {
	rt := newRouter()
	for i := range 3 {
		w := call(rt, "POST", "/api/v1/open", "")
		want := 200
		if i == 2 {
			want = 429
		}
		if w.Code != want {
			t.Fatalf("open call %d: %d", i, w.Code)
		}
	}
	for i := range 4 {
		w := call(rt, "GET", "/api/v1/me", "Bearer good")
		if (i < 3) != (w.Code == 200) || w.Header().Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("user call %d: %d %v", i, w.Code, w.Header())
		}
	}
}

func TestRoutesListed(t *testing.T) {
	got := newRouter().Routes()
	if len(got) != 3 || got[0].Path != "/api/v1/me" || got[0].Public || !got[1].Public {
		t.Fatalf("routes %+v", got)
	}
}
