package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// conformance runs the same checks on every Limiter.
func conformance(t *testing.T, newLimiter func(now func() time.Time) Limiter) {
	ctx := context.Background()
	t.Run("limit then reset", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		l := newLimiter(c.Now)
		rule := Rule{Name: "login", Limit: 3, Window: time.Minute}
		for i := 1; i <= 3; i++ {
			res, err := l.Take(ctx, rule, "ip1")
			if err != nil || !res.Allowed || res.Remaining != 3-i {
				t.Fatalf("take %d: %+v %v", i, res, err)
			}
		}
		res, _ := l.Take(ctx, rule, "ip1")
		if res.Allowed || res.Remaining != 0 || !res.Reset.Equal(c.Now().Add(time.Minute)) {
			t.Fatalf("4th take allowed or wrong reset: %+v", res)
		}
		if res, _ := l.Take(ctx, rule, "ip2"); !res.Allowed {
			t.Fatal("another key shares the counter")
		}
		if res, _ := l.Take(ctx, Rule{Name: "other", Limit: 3, Window: time.Minute}, "ip1"); !res.Allowed {
			t.Fatal("another rule shares the counter")
		}
		c.Add(time.Minute)
		if res, _ := l.Take(ctx, rule, "ip1"); !res.Allowed || res.Remaining != 2 {
			t.Fatalf("next window still limited: %+v", res)
		}
	})
	t.Run("concurrent takes count exactly", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		l := newLimiter(c.Now)
		rule := Rule{Name: "api", Limit: 25, Window: time.Hour}
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for range 40 {
			wg.Go(func() {
				res, err := l.Take(ctx, rule, "u")
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if allowed != 25 {
			t.Fatalf("allowed %d of 40, want 25", allowed)
		}
	})
}

func TestMemory(t *testing.T) {
	conformance(t, func(now func() time.Time) Limiter { return NewMemory(now, 0) })
}

func TestSQL(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			conformance(t, func(now func() time.Time) Limiter {
				db := storetest.Open(t, driver)
				if err := db.Migrate(context.Background(), Migrations); err != nil {
					t.Fatal(err)
				}
				return NewSQL(db, now)
			})
		})
	}
}

func TestSQLSweepsFinishedWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		l := NewSQL(db, c.Now)
		rule := Rule{Name: "r", Limit: 1, Window: time.Second}
		if _, err := l.Take(context.Background(), rule, "old"); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
		for i := range sweepEvery {
			_, _ = l.Take(context.Background(), rule, "k"+string(rune('a'+i%26)))
		}
		var n int
		if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM rate_limits WHERE expires_ms < ?", c.Now().UnixMilli()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%d finished windows left after a sweep", n)
		}
	}, Migrations)
}

func TestMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemory(c.Now, 320)
	rule := Rule{Name: "r", Limit: 5, Window: time.Hour}
	for i := range 10_000 {
		_, _ = m.Take(context.Background(), rule, string(rune(i+1000)))
	}
	if n := m.Len(); n > 400 {
		t.Fatalf("holds %d counters, bound is about 320", n)
	}
}

func TestMiddlewareHeaders(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)}
	mw := Middleware(NewMemory(c.Now, 0), Rule{Name: "t", Limit: 2, Window: time.Minute},
		func(r *http.Request) string { return "k" }, slog.New(slog.NewTextHandler(io.Discard, nil)), c.Now)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	var last *httptest.ResponseRecorder
	for range 3 {
		last = httptest.NewRecorder()
		h.ServeHTTP(last, httptest.NewRequest("GET", "/", nil))
	}
	if last.Code != 429 || last.Header().Get("Retry-After") != "50" || last.Header().Get("X-RateLimit-Remaining") != "0" ||
		last.Header().Get("X-RateLimit-Limit") != "2" || last.Header().Get("X-RateLimit-Reset") != "50" {
		t.Fatalf("third request: %d %v %s", last.Code, last.Header(), last.Body)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct{ remote, xff, want string }{
		{"203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},             // untrusted peer: header ignored
		{"10.0.0.2:1234", "1.2.3.4", "1.2.3.4"},                    // trusted proxy
		{"10.0.0.2:1234", "6.6.6.6, 1.2.3.4, 10.0.0.9", "1.2.3.4"}, // spoofed left part ignored
		{"10.0.0.2:1234", "garbage", "10.0.0.2"},
		{"[::ffff:10.0.0.2]:1", "1.2.3.4", "1.2.3.4"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		r.Header.Set("X-Forwarded-For", c.xff)
		if got := ClientIP(r, trusted); got != c.want {
			t.Errorf("ClientIP(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}
