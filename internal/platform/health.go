package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Health tracks whether this process should get traffic. It starts not
// ready; the composition root marks it ready once migrations ran and every
// listener is bound, and not ready again the moment shutdown begins.
type Health struct {
	version string
	started time.Time
	ready   atomic.Bool

	mu     sync.RWMutex
	checks map[string]func(context.Context) error
}

// NewHealth returns a not-ready Health for a build version.
func NewHealth(version string) *Health {
	return &Health{version: version, started: time.Now(), checks: map[string]func(context.Context) error{}}
}

// SetReady flips readiness.
func (h *Health) SetReady(ready bool) { h.ready.Store(ready) }

// Ready reports readiness.
func (h *Health) Ready() bool { return h.ready.Load() }

// AddCheck registers a dependency check (database, bus) reported by /health.
// Checks must return quickly; they run with a 2 s deadline.
func (h *Health) AddCheck(name string, check func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = check
}

type healthReport struct {
	Status       string            `json:"status"`
	Version      string            `json:"version"`
	UptimeSecond int64             `json:"uptimeSeconds"`
	Dependencies map[string]string `json:"dependencies,omitempty"`
}

// Register mounts /health (status, version, uptime, dependencies),
// /health/live (the process answers) and /health/ready (should get traffic).
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("/health", h.serveHealth)
	mux.HandleFunc("/health/live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/health/ready", func(w http.ResponseWriter, r *http.Request) {
		if !h.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func (h *Health) serveHealth(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	h.mu.RUnlock()
	sort.Strings(names)

	rep := healthReport{Status: "ok", Version: h.version, UptimeSecond: int64(time.Since(h.started).Seconds())}
	code := http.StatusOK
	if len(names) > 0 {
		rep.Dependencies = make(map[string]string, len(names))
		// Checks run concurrently so one slow dependency costs 2 s, not n×2 s.
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, n := range names {
			h.mu.RLock()
			check := h.checks[n]
			h.mu.RUnlock()
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				status := "ok"
				if err := check(ctx); err != nil {
					status = "down" // the error may name hosts; it goes to the log, not the response
				}
				mu.Lock()
				rep.Dependencies[n] = status
				mu.Unlock()
			})
		}
		wg.Wait()
		for _, s := range rep.Dependencies {
			if s != "ok" {
				rep.Status, code = "degraded", http.StatusServiceUnavailable
			}
		}
	}
	if !h.Ready() {
		rep.Status, code = "not_ready", http.StatusServiceUnavailable
	}
	writeJSON(w, code, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
