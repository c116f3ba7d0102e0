package ratelimit

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/platform"
)

// KeyFunc names the counter a request is charged to; "" skips limiting.
type KeyFunc func(r *http.Request) string

// Middleware limits next by rule, setting X-RateLimit-Limit, -Remaining
// and -Reset (seconds until the window ends) on every answer and
// Retry-After on a 429. When the limiter itself fails the request goes
// through and the failure is logged: a database hiccup should not take the
// API down with it.
func Middleware(l Limiter, rule Rule, key KeyFunc, log *slog.Logger, now func() time.Time) func(http.Handler) http.Handler {
	if now == nil {
		now = time.Now
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := key(r)
			if k == "" {
				next.ServeHTTP(w, r)
				return
			}
			res, err := l.Take(r.Context(), rule, k)
			if err != nil {
				log.WarnContext(r.Context(), "rate_limit_unavailable", "rule", rule.Name, "error", err)
				next.ServeHTTP(w, r)
				return
			}
			secs := int(res.Reset.Sub(now()).Seconds() + 0.999)
			if secs < 1 {
				secs = 1
			}
			h := w.Header()
			h.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
			h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
			h.Set("X-RateLimit-Reset", strconv.Itoa(secs))
			if !res.Allowed {
				h.Set("Retry-After", strconv.Itoa(secs))
				platform.WriteError(w, r, http.StatusTooManyRequests, httpapi.CodeRateLimited,
					"too many requests; try again in "+strconv.Itoa(secs)+" seconds")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ClientIP is the address a request came from. X-Forwarded-For is believed
// only when the direct peer is one of the trusted proxies, and then the
// rightmost address that is not itself a trusted proxy is the client (the
// left part of the header is whatever the client chose to send).
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: stop believing the header here
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
