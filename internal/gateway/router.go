// Package gateway is the front of the public API: every module registers
// its routes on a Router, which knows for each one whether it needs a
// signed-in user, authenticates the bearer token once, applies the rate
// limits and records who the client is. Because every route goes through
// here, tests can enumerate them all (see Routes).
package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/ratelimit"
)

// Authenticator turns a bearer token into the actor it belongs to, or
// returns the public error (UNAUTHENTICATED, TOKEN_EXPIRED, USER_BANNED).
type Authenticator interface {
	Authenticate(r *http.Request, bearer string) (access.Actor, error)
}

// Route is one registered route.
type Route struct {
	Method  string
	Path    string // the ServeMux pattern's path, with {wildcards}
	Public  bool   // callable without signing in
	Summary string
	// Documented body and answer (see Request and Response).
	request, response reflect.Type
	status            int
}

// HasBody reports whether the route documents a JSON request body.
func (r Route) HasBody() bool { return r.request != nil }

// Config builds a Router.
type Config struct {
	Log     *slog.Logger
	Auth    Authenticator
	Limiter ratelimit.Limiter
	// IPRule limits routes registered with LimitIP per client address;
	// UserRule limits every signed-in request per user.
	IPRule, UserRule ratelimit.Rule
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
}

// Router registers and serves the API's routes.
type Router struct {
	cfg    Config
	mux    *http.ServeMux
	routes []Route
	ipMW   func(http.Handler) http.Handler
	userMW func(http.Handler) http.Handler
}

// New returns an empty Router.
func New(cfg Config) *Router {
	rt := &Router{cfg: cfg, mux: http.NewServeMux()}
	rt.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		platform.WriteError(w, r, http.StatusNotFound, httpapi.CodeNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	rt.ipMW = ratelimit.Middleware(cfg.Limiter, cfg.IPRule, func(r *http.Request) string {
		return httpapi.ClientFrom(r.Context()).IP
	}, cfg.Log, nil)
	rt.userMW = ratelimit.Middleware(cfg.Limiter, cfg.UserRule, func(r *http.Request) string {
		a, _ := access.ActorFrom(r.Context())
		return a.UserID
	}, cfg.Log, nil)
	return rt
}

// Option changes how one route is served.
type Option func(*routeOpts)

type routeOpts struct {
	limitIP           bool
	tokenInQuery      bool
	summary           string
	request, response reflect.Type
	status            int
}

// LimitIP charges the route to the client address (sign-in, sign-up and
// other routes an attacker would hammer without an account).
func LimitIP() Option { return func(o *routeOpts) { o.limitIP = true } }

// TokenInQuery also accepts the access token as ?access_token= (for
// EventSource and WebSocket, which browsers cannot give headers).
func TokenInQuery() Option { return func(o *routeOpts) { o.tokenInQuery = true } }

// Summary documents the route (used by the OpenAPI document).
func Summary(s string) Option { return func(o *routeOpts) { o.summary = s } }

// Public registers a route anyone may call. pattern is "METHOD /path".
func (rt *Router) Public(pattern string, h http.Handler, opts ...Option) {
	rt.add(pattern, true, h, opts)
}

// Authed registers a route that needs a signed-in, unbanned user; the
// handler finds the actor with access.ActorFrom.
func (rt *Router) Authed(pattern string, h http.Handler, opts ...Option) {
	var o routeOpts
	for _, fn := range opts {
		fn(&o)
	}
	rt.add(pattern, false, rt.authenticate(rt.userMW(h), o.tokenInQuery), opts)
}

func (rt *Router) add(pattern string, public bool, h http.Handler, opts []Option) {
	var o routeOpts
	for _, fn := range opts {
		fn(&o)
	}
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/api/") {
		panic("gateway: route pattern must be \"METHOD /api/...\": " + pattern)
	}
	if o.limitIP {
		h = rt.ipMW(h)
	}
	rt.mux.Handle(pattern, h)
	rt.routes = append(rt.routes, Route{Method: method, Path: path, Public: public, Summary: o.summary,
		request: o.request, response: o.response, status: o.status})
}

// Routes lists every registered route, sorted by path then method.
func (rt *Router) Routes() []Route {
	out := slices.Clone(rt.routes)
	slices.SortFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// ServeHTTP records the client and dispatches.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := httpapi.Client{
		IP:        ratelimit.ClientIP(r, rt.cfg.TrustedProxies),
		UserAgent: truncate(r.UserAgent(), 512),
		RequestID: platform.RequestID(r.Context()),
	}
	r = r.WithContext(httpapi.WithClient(r.Context(), c))
	rt.mux.ServeHTTP(w, r)
}

// Handler returns the handler for r and its pattern ("" when none
// matches), so the caller can fall through to its own routes.
func (rt *Router) Handler(r *http.Request) (http.Handler, string) {
	return rt.mux.Handler(r)
}

func (rt *Router) authenticate(next http.Handler, inQuery bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, err := bearerToken(r)
		if q := r.URL.Query().Get("access_token"); inQuery && errors.Is(err, errNoToken) && q != "" {
			bearer, err = q, nil
		}
		if c, cerr := r.Cookie(AccessCookie); errors.Is(err, errNoToken) && cerr == nil && c.Value != "" {
			// A browser's cookie session. The cookie is SameSite=Strict;
			// changes must also carry CSRFHeader, which another site's
			// page cannot add without our CORS consent.
			if !safeMethod(r.Method) && r.Header.Get(CSRFHeader) == "" {
				httpapi.Fail(w, r, rt.cfg.Log, httpapi.Forbidden("a request signed in by cookie must send the "+CSRFHeader+" header"))
				return
			}
			bearer, err = c.Value, nil
		}
		if err != nil {
			httpapi.Fail(w, r, rt.cfg.Log, err)
			return
		}
		actor, err := rt.cfg.Auth.Authenticate(r, bearer)
		if err != nil {
			httpapi.Fail(w, r, rt.cfg.Log, err)
			return
		}
		if actor.Banned {
			httpapi.Fail(w, r, rt.cfg.Log, access.ErrBanned)
			return
		}
		next.ServeHTTP(w, r.WithContext(access.WithActor(r.Context(), actor)))
	})
}

// AccessCookie is the HttpOnly cookie a browser session keeps its access
// token in (set by the auth routes when asked); CSRFHeader must accompany
// every unsafe request it authenticates.
const (
	AccessCookie = "quikapp_access"
	CSRFHeader   = "X-QuikApp-CSRF"
)

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

var errNoToken = httpapi.Unauthenticated("sign in first: send Authorization: Bearer <access token>")

func bearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errNoToken
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", httpapi.Unauthenticated("the Authorization header must be \"Bearer <access token>\"")
	}
	return strings.TrimSpace(tok), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
