package notifyd

import (
	"net/http"
	"slices"
	"strings"
)

// CORS settings of the client port (contract §2 [EXT]).
const (
	corsAllowMethods  = "POST, GET, OPTIONS"
	corsAllowHeaders  = "Authorization, Content-Type, Connect-Protocol-Version, Connect-Timeout-Ms, Grpc-Timeout, X-Grpc-Web, X-User-Agent, Last-Event-ID"
	corsExposeHeaders = "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"
	corsMaxAge        = "7200"
)

// withCORS lets browsers on the allowed origins call the client port. With
// no origins configured it adds nothing, as upstream. "*" allows any
// origin; credentials travel in Authorization, never cookies, so no
// Allow-Credentials is sent.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	norm := make([]string, len(origins))
	for i, o := range origins {
		norm[i] = originKey(o)
	}
	wildcard := slices.Contains(norm, "*")
	allowed := func(o string) bool { return o != "" && (wildcard || slices.Contains(norm, originKey(o))) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed(origin) {
			if preflight {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}

// originKey lower-cases an origin and drops a trailing slash, so a
// configured origin matches what browsers send.
func originKey(o string) string { return strings.ToLower(strings.TrimRight(o, "/")) }
