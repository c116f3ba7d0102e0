// Package app is the composition root: it builds every enabled module from
// the configuration, wires them to the database, the bus and the HTTP
// listener, and runs them until the context ends.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/platform/netguard"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/web"
)

// Deps are the shared parts a module is built from.
type Deps struct {
	Config  Config
	Log     *slog.Logger
	DB      *store.DB
	Bus     bus.Bus
	Metrics *platform.Metrics
	Health  *platform.Health
	// Server lets streaming handlers end their streams when a drain starts.
	Server *platform.Server
	// Identity is accounts, workspaces, access and the API router.
	Identity *Identity
	// Outbound is what fetches of user-supplied URLs may reach (link
	// previews): the public internet only, unless a test allows more.
	Outbound netguard.Policy
	// PushSenders, when set, are used instead of the configured providers.
	PushSenders map[string]notify.Sender
}

// Module is one capability (see services.go) mounted into the process.
type Module interface {
	// Mount registers the module's API routes.
	Mount(rt *gateway.Router)
	// Run runs background work until ctx ends (return at once if none).
	Run(ctx context.Context) error
}

// moduleDef says how to build a module and which schema it needs.
type moduleDef struct {
	migrations []store.Migrations
	build      func(*Deps) (Module, error)
}

// moduleDefs holds each module by name. A module registers itself here
// from its own file in this package as it lands.
var moduleDefs = map[string]moduleDef{}

// allMigrations lists the schema of the outbox and of every enabled module.
func allMigrations(cfg Config) []store.Migrations {
	out := append([]store.Migrations{outbox.Migrations}, identityMigrations...)
	seen := map[string]bool{}
	for _, m := range out {
		seen[m.Domain] = true
	}
	for name := range modules(cfg.Services) {
		if def, ok := moduleDefs[name]; ok {
			for _, m := range def.migrations {
				if !seen[m.Domain] {
					seen[m.Domain] = true
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// App is a running QuikApp process.
type App struct {
	cfg     Config
	version string
	log     *slog.Logger
	health  *platform.Health
	metrics *platform.Metrics
	server  *platform.Server
	// api serves everything but the operations surface once start-up is
	// done; until then such requests get 503.
	api atomic.Pointer[http.Handler]
	// extraRoutes lets tests mount handlers beside the modules.
	extraRoutes func(*http.ServeMux, *Deps)
	// tuneAuth lets tests make password hashing cheap and time controllable.
	tuneAuth func(*auth.Config)
	// smtpTLS lets tests trust their own SMTP server's certificate.
	smtpTLS *tls.Config
	// outbound widens Deps.Outbound for tests (their servers are on loopback).
	outbound netguard.Policy
	// pushSenders replaces the configured push providers (tests record).
	pushSenders map[string]notify.Sender
	// routes is the API router and deps the shared parts, once started
	// (tests reach in).
	routes *gateway.Router
	deps   *Deps
}

// New binds the listener and starts answering health probes (not ready),
// so an orchestrator sees the process come up before migrations finish.
func New(cfg Config, log *slog.Logger, version string) (*App, error) {
	a := &App{cfg: cfg, log: log, version: version, health: platform.NewHealth(version), metrics: platform.NewMetrics()}
	mux := http.NewServeMux()
	a.health.Register(mux)
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("/", a.serveAPI)
	a.server = platform.NewServer("http", cfg.HTTPAddr, mux, log, a.metrics, platform.ServerOptions{H2C: true})
	if err := a.server.Listen(); err != nil {
		return nil, err
	}
	return a, nil
}

// Addr is the listener's bound address.
func (a *App) Addr() net.Addr { return a.server.Addr() }

func (a *App) serveAPI(w http.ResponseWriter, r *http.Request) {
	h := a.api.Load()
	if h == nil {
		w.Header().Set("Retry-After", "1")
		platform.WriteError(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "QuikApp is starting; try again in a moment")
		return
	}
	(*h).ServeHTTP(w, r)
}

// Run starts the process and blocks until ctx ends and the shutdown is
// complete. It returns an error if start-up fails, a listener fails, or
// the drain does not finish within the shutdown timeout.
func (a *App) Run(ctx context.Context) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.server.Serve() }()

	deps, mods, err := a.start(ctx)
	if err != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		_ = a.server.Shutdown(shutdownCtx)
		return err
	}

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	relay := outbox.NewRelay(deps.DB, deps.Bus, a.log, outbox.RelayConfig{})
	wg.Go(func() { _ = relay.Run(runCtx) })
	for name, m := range mods {
		wg.Go(func() {
			if err := m.Run(runCtx); err != nil && runCtx.Err() == nil {
				a.log.Error("module_failed", "module", name, "error", err)
			}
		})
	}

	a.health.SetReady(true)
	a.log.Info("quikapp_ready", "addr", a.server.Addr().String(), "database", deps.DB.Driver(),
		"bus", busKind(a.cfg), "services", a.cfg.Services)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
	}

	// Not ready first, so the load balancer stops sending work while we
	// drain; streams end now; the listener stays open for the delay so
	// probes see "not ready" rather than a refused connection.
	a.health.SetReady(false)
	a.server.BeginDrain()
	a.log.Info("quikapp_stopping", "timeout", a.cfg.ShutdownTimeout.String(), "delay", a.cfg.ShutdownDelay.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if a.cfg.ShutdownDelay > 0 {
		select {
		case <-time.After(a.cfg.ShutdownDelay):
		case runErr = <-serveErr:
		}
	}
	if err := a.server.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	stopRun()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		runErr = errors.Join(runErr, fmt.Errorf("background work did not stop within %s", a.cfg.ShutdownTimeout))
	}
	runErr = errors.Join(runErr, deps.Bus.Close(), deps.DB.Close())
	if runErr == nil {
		a.log.Info("quikapp_stopped")
	}
	return runErr
}

// start opens the database and bus, migrates, builds the enabled modules
// and mounts their routes.
func (a *App) start(ctx context.Context) (*Deps, map[string]Module, error) {
	openCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := store.Open(openCtx, store.Config{URL: a.cfg.DatabaseURL, SQLitePath: a.cfg.SQLitePath()})
	if err != nil {
		return nil, nil, err
	}
	b, err := openBus(openCtx, a.cfg, a.log)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	a.health.AddCheck("database", db.Ping)
	a.health.AddCheck("bus", b.Ping)
	deps := &Deps{Config: a.cfg, Log: a.log, DB: db, Bus: b, Metrics: a.metrics, Health: a.health, Server: a.server, Outbound: a.outbound, PushSenders: a.pushSenders}

	fail := func(err error) (*Deps, map[string]Module, error) {
		_ = b.Close()
		_ = db.Close()
		return nil, nil, err
	}
	if err := db.Migrate(openCtx, allMigrations(a.cfg)...); err != nil {
		return fail(err)
	}
	id, err := a.newIdentity(deps)
	if err != nil {
		return fail(err)
	}
	deps.Identity = id
	mods := map[string]Module{}
	for name := range modules(a.cfg.Services) {
		def, ok := moduleDefs[name]
		if !ok {
			continue // the module has not landed yet; its service runs the operations surface only
		}
		m, err := def.build(deps)
		if err != nil {
			return fail(fmt.Errorf("build module %s: %w", name, err))
		}
		mods[name] = m
	}
	for _, m := range mods {
		m.Mount(id.Router)
	}
	a.routes, a.deps = id.Router, deps
	api := http.NewServeMux()
	api.Handle("/api/v1/", id.Router)
	api.Handle("GET /api/v1/openapi.json", id.Router.ServeOpenAPI(a.version))
	if a.extraRoutes != nil {
		a.extraRoutes(api, deps)
	}
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		platform.WriteError(w, r, http.StatusNotFound, "NOT_FOUND", "no such API route: "+r.Method+" "+r.URL.Path)
	})
	api.Handle("/", web.Handler())
	var h http.Handler = api
	a.api.Store(&h)
	return deps, mods, nil
}

func openBus(ctx context.Context, cfg Config, log *slog.Logger) (bus.Bus, error) {
	if cfg.NATSURL == "" {
		return bus.NewMemory(bus.MemoryConfig{Logger: log}), nil
	}
	return bus.NewNATS(ctx, bus.NATSConfig{URL: cfg.NATSURL, Prefix: cfg.NATSPrefix,
		Stream: strings.ToUpper(cfg.NATSPrefix) + "_EVENTS", Logger: log})
}

func busKind(cfg Config) string {
	if cfg.NATSURL == "" {
		return "memory"
	}
	return "nats"
}
