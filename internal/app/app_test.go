package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus/bustest"
	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/platform/env"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_HTTP_ADDR": "127.0.0.1:0",
		"QUIKAPP_DATA_DIR":  t.TempDir(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReady polls readiness; the bound is generous because CI machines are
// shared, and the figure that matters is recorded by the S9 benchmark.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := httpGet(t, base+"/health/ready"); code == http.StatusOK {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("not ready after 15s")
}

type running struct {
	app    *App
	base   string
	cancel context.CancelFunc
	// done is closed when Run returns; err is what it returned.
	done chan struct{}
	err  error
}

func start(t *testing.T, cfg Config, routes func(*http.ServeMux, *Deps)) *running {
	t.Helper()
	a, err := New(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	a.extraRoutes = routes
	return runApp(t, a)
}

// testLogger discards logs unless QUIKAPP_TEST_LOG is set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("QUIKAPP_TEST_LOG") != "" {
		return platform.NewLogger(os.Stderr, "debug", "text")
	}
	return platform.NewLogger(io.Discard, "info", "json")
}

// runApp runs a until the test ends and waits until it is ready.
func runApp(t *testing.T, a *App) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{app: a, base: "http://" + a.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() { r.err = a.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("app did not stop")
		}
	})
	waitReady(t, r.base)
	return r
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(env.FromMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":3000" || cfg.DataDir != "./data" || cfg.DatabaseURL != "" || cfg.NATSURL != "" ||
		cfg.Services[0] != "all" || cfg.LogLevel != "info" || cfg.LogFormat != "json" || cfg.ShutdownTimeout != 30*time.Second {
		t.Fatalf("defaults: %+v", cfg)
	}
	if !modules(cfg.Services)["message"] || !modules(cfg.Services)["notify"] {
		t.Fatal("all must enable every module")
	}
}

func TestConfigRejectsBadValuesNamingEachVariable(t *testing.T) {
	_, err := LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_HTTP_ADDR":        "3000",
		"QUIKAPP_DATABASE_URL":     "mysql://root:hunter2@db/quikapp",
		"QUIKAPP_NATS_URL":         "http://nats",
		"QUIKAPP_NATS_PREFIX":      "Quik.App",
		"QUIKAPP_SERVICES":         "message-service,teleport-service",
		"QUIKAPP_LOG_LEVEL":        "loud",
		"QUIKAPP_LOG_FORMAT":       "xml",
		"QUIKAPP_SHUTDOWN_TIMEOUT": "forever",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	msg := err.Error()
	for _, want := range []string{"QUIKAPP_HTTP_ADDR", "QUIKAPP_DATABASE_URL", "QUIKAPP_NATS_URL", "QUIKAPP_NATS_PREFIX",
		"QUIKAPP_SERVICES", "teleport-service", "QUIKAPP_LOG_LEVEL", "QUIKAPP_LOG_FORMAT", "QUIKAPP_SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error echoes a password:\n%s", msg)
	}
}

func TestConfigServicesSubset(t *testing.T) {
	cfg, err := LoadConfig(env.FromMap(map[string]string{"QUIKAPP_SERVICES": " Message-Service , thread-service"}))
	if err != nil {
		t.Fatal(err)
	}
	mods := modules(cfg.Services)
	if len(mods) != 1 || !mods["message"] {
		t.Fatalf("modules = %v, want only message", mods)
	}
}

// The gateway serves every module's API but realtime's, so a split
// deployment answers every REST route at its front door.
func TestConfigGatewayServesTheRESTAPI(t *testing.T) {
	cfg, err := LoadConfig(env.FromMap(map[string]string{"QUIKAPP_SERVICES": "backend-gateway"}))
	if err != nil {
		t.Fatal(err)
	}
	mods := modules(cfg.Services)
	for _, want := range []string{"gateway", "auth", "workspace", "channel", "message", "file", "search", "admin", "audit"} {
		if !mods[want] {
			t.Errorf("backend-gateway lacks module %s: %v", want, mods)
		}
	}
	if mods["realtime"] {
		t.Errorf("backend-gateway runs realtime: %v", mods)
	}
}

// Before start-up finishes the process answers probes but is not ready,
// and API requests are told to retry.
func TestNotReadyUntilStarted(t *testing.T) {
	a, err := New(testConfig(t), platform.NewLogger(io.Discard, "info", "json"), "test")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.server.Serve() }()
	t.Cleanup(func() { _ = a.server.Shutdown(context.Background()) })
	base := "http://" + a.Addr().String()
	if code, _ := httpGet(t, base+"/health/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("ready before start: %d", code)
	}
	if code, _ := httpGet(t, base+"/health/live"); code != http.StatusOK {
		t.Fatalf("live before start: %d", code)
	}
	code, body := httpGet(t, base+"/api/v1/anything")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"UNAVAILABLE"`) {
		t.Fatalf("API before start: %d %s", code, body)
	}
}

func TestServesOperationsSurfaceAndClient(t *testing.T) {
	r := start(t, testConfig(t), nil)
	code, body := httpGet(t, r.base+"/health")
	var rep struct {
		Status       string
		Version      string
		Dependencies map[string]string
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 200 || rep.Status != "ok" || rep.Dependencies["database"] != "ok" || rep.Dependencies["bus"] != "ok" {
		t.Fatalf("/health: %d %s", code, body)
	}
	if code, body := httpGet(t, r.base+"/metrics"); code != 200 || !strings.Contains(body, "quikapp_http_requests_total") {
		t.Fatalf("/metrics: %d", code)
	}
	if code, body := httpGet(t, r.base+"/api/v1/nope"); code != 404 || !strings.Contains(body, `"NOT_FOUND"`) {
		t.Fatalf("unknown API route: %d %s", code, body)
	}
	if code, body := httpGet(t, r.base+"/"); code != 200 || !strings.Contains(body, "<title>QuikApp</title>") {
		t.Fatalf("web client: %d", code)
	}
}

// SIGTERM (here: the context ending) flips readiness at once, ends open
// streams, and the process exits well within the timeout.
func TestShutdownDrainsStreamsAndReportsNotReady(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownDelay = 400 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	r := start(t, cfg, func(mux *http.ServeMux, d *Deps) {
		mux.HandleFunc("GET /test/stream", func(w http.ResponseWriter, req *http.Request) {
			ctx, cancel := d.Server.StreamContext(req)
			defer cancel()
			_, _ = io.WriteString(w, "open\n")
			http.NewResponseController(w).Flush()
			<-ctx.Done()
			_, _ = io.WriteString(w, "closed\n")
		})
	})
	resp, err := http.Get(r.base + "/test/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, _ := rd.ReadString('\n'); line != "open\n" {
		t.Fatalf("stream start %q", line)
	}

	stopAt := time.Now()
	r.cancel()
	// During the delay the listener still answers: not ready.
	if code, _ := httpGet(t, r.base+"/health/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("ready after SIGTERM: %d, want 503", code)
	}
	if line, _ := rd.ReadString('\n'); line != "closed\n" {
		t.Fatalf("stream was not ended by the drain: %q", line)
	}
	select {
	case <-r.done:
		if err := r.err; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d := time.Since(stopAt); d > cfg.ShutdownTimeout {
			t.Fatalf("stopped after %s, beyond the %s timeout", d, cfg.ShutdownTimeout)
		}
	case <-time.After(cfg.ShutdownTimeout + 2*time.Second):
		t.Fatal("Run did not return within the shutdown timeout")
	}
}

// A request that ignores the drain is cut at the timeout and Run reports it.
func TestShutdownTimeoutCutsStuckRequests(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownTimeout = 300 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	r := start(t, cfg, func(mux *http.ServeMux, d *Deps) {
		mux.HandleFunc("GET /test/stuck", func(w http.ResponseWriter, req *http.Request) {
			close(started)
			<-release
		})
	})
	go func() {
		if resp, err := http.Get(r.base + "/test/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	r.cancel()
	select {
	case <-r.done:
		if err := r.err; err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want a drain timeout error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
}

// The same process runs on PostgreSQL and NATS when configured.
func TestRunsOnPostgresAndNATS(t *testing.T) {
	cfg := testConfig(t)
	cfg.DatabaseURL = storetest.NewPostgresSchema(t)
	cfg.NATSURL = bustest.NATSURL()
	cfg.NATSPrefix = "t" + strings.ToLower(rand.Text()[:10]) // our own subjects and streams
	bustest.DeleteStreams(t, strings.ToUpper(cfg.NATSPrefix)+"_EVENTS", strings.ToUpper(cfg.NATSPrefix)+"_REALTIME")
	r := start(t, cfg, nil)
	code, body := httpGet(t, r.base+"/health")
	if code != 200 || !strings.Contains(body, `"database":"ok"`) || !strings.Contains(body, `"bus":"ok"`) {
		t.Fatalf("/health on PostgreSQL+NATS: %d %s", code, body)
	}
}

// The README's configuration table is the user's reference; it must list
// every variable with the default the code uses.
func TestREADMEConfigTableMatchesVars(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range Vars {
		def := "(empty)"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		row := "| `" + v.Name + "` | " + def + " |"
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the row %q", row)
		}
	}
}

// A process running only the gateway answers the REST API of every module
// (a split deployment's front door), and leaves the live streams to the
// realtime service.
func TestGatewayOnlyServesTheRESTAPI(t *testing.T) {
	s := startAPI(t, "sqlite", func(c *Config) { c.Services = []string{"backend-gateway"} })
	tm := newTeam(t, s, "acme-gateway")
	m := post(t, s, tm.ann, tm.general.ID, "through the front door")
	s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, nil)
	s.must(200, "GET", "/api/v1/search?workspaceId="+tm.ws.ID+"&q=door", tm.bob.Access, nil)
	s.must(200, "POST", "/api/v1/messages/"+m.ID+"/reactions", tm.bob.Access, map[string]string{"emoji": ":tada:"})
	if r := s.do("GET", "/api/v1/realtime/ws", tm.ann.Access, nil); r.Status != http.StatusNotFound {
		t.Fatalf("realtime on the gateway: %s", r)
	}
}
