package notifyd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/notifyrpc"
	"github.com/quikapp/quikapp/internal/platform"
)

// Addrs overrides the listen addresses (tests bind 127.0.0.1:0); empty
// fields use ":<port>" from the configuration.
type Addrs struct {
	Client, Internal, Metrics string
}

// Daemon is one notifyd process: three listeners (client, internal,
// metrics), the engine, live sessions and the store.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	ready    atomic.Bool
	serveErr chan error // one per listener that stopped serving

	metricsSrv, clientSrv, internalSrv *platform.Server
	addrs                              Addrs

	prom    *platform.Metrics
	m       *metrics
	store   notify.Store
	closeDB func() error
	hub     *notify.Hub
	dc      *notify.DataChanges
	engine  *notify.Engine
}

// New binds and serves the metrics listener, so probes get an answer (not
// ready) from the first moment; everything else happens in Run.
func New(cfg Config, log *slog.Logger, addrs Addrs) (*Daemon, error) {
	d := &Daemon{cfg: cfg, log: log, addrs: addrs, prom: platform.NewMetrics(), serveErr: make(chan error, 3)}
	d.m = newMetrics(d.prom.Registry)
	if d.addrs.Metrics == "" {
		d.addrs.Metrics = ":" + strconv.Itoa(cfg.MetricsPort)
	}
	if d.addrs.Client == "" {
		d.addrs.Client = ":" + strconv.Itoa(cfg.ClientPort)
	}
	if d.addrs.Internal == "" {
		d.addrs.Internal = ":" + strconv.Itoa(cfg.InternalPort)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", d.serveHealth)
	mux.HandleFunc("/health", d.serveHealth)
	mux.Handle("/metrics", d.prom.Handler())
	d.metricsSrv = platform.NewServer("metrics", d.addrs.Metrics, mux, log, d.prom, platform.ServerOptions{ReadHeaderTimeout: 5 * time.Second})
	if err := d.metricsSrv.Listen(); err != nil {
		return nil, err
	}
	go func() { d.serveErr <- d.metricsSrv.Serve() }()
	return d, nil
}

// serveHealth answers /healthz and /health on any method.
func (d *Daemon) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if d.ready.Load() {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"status":"not_ready"}` + "\n"))
}

// Ready reports whether the daemon reports ready.
func (d *Daemon) Ready() bool { return d.ready.Load() }

// Run opens the store, binds the client and internal listeners, reports
// ready, and serves until ctx ends; then it drains (contract §7) and
// returns nil on a clean drain.
func (d *Daemon) Run(ctx context.Context) error {
	d.log.Info("notifyd_starting", "config", d.cfg.Redacted())
	if err := d.build(ctx); err != nil {
		d.stopMetrics()
		return err
	}
	go func() { d.serveErr <- d.clientSrv.Serve() }()
	go func() { d.serveErr <- d.internalSrv.Serve() }()

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if d.dc != nil {
		wg.Go(func() { _ = d.dc.Run(bg) })
	}
	d.ready.Store(true)
	d.log.Info("notifyd_ready", "client", d.clientSrv.Addr().String(), "internal", d.internalSrv.Addr().String(),
		"metrics", d.metricsSrv.Addr().String(), "store", d.cfg.Store.Driver, "channels", d.engine.ActiveChannels())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-d.serveErr:
		d.log.Error("notifyd_listener_failed", "error", runErr)
	}
	return errors.Join(runErr, d.shutdown(stopBG, &wg))
}

// shutdown: not ready at once; end every live stream (each ends
// canceled); drain client, internal, then metrics within the timeout;
// cancel retries; close the store last.
func (d *Daemon) shutdown(stopBG context.CancelFunc, wg *sync.WaitGroup) error {
	d.ready.Store(false)
	d.log.Info("notifyd_stopping", "timeout", d.cfg.ShutdownTimeout.String(), "live_sessions", d.liveSessions())
	if d.hub != nil {
		d.hub.Shutdown()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, s := range []*platform.Server{d.clientSrv, d.internalSrv, d.metricsSrv} {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	stopBG()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("notifyd: retries did not stop within the shutdown timeout"))
	}
	if err := d.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("notifyd: close store: %w", err))
	}
	if d.closeDB != nil {
		if err := d.closeDB(); err != nil {
			errs = append(errs, fmt.Errorf("notifyd: close database: %w", err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		d.log.Error("notifyd_shutdown_failed", "error", err)
	} else {
		d.log.Info("notifyd_stopped")
	}
	return err
}

func (d *Daemon) liveSessions() int {
	if d.hub == nil {
		return 0
	}
	return d.hub.Len()
}

func (d *Daemon) stopMetrics() {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	_ = d.metricsSrv.Shutdown(ctx)
}

// build opens the store, makes the providers, the engine and both
// services, and binds their listeners.
func (d *Daemon) build(ctx context.Context) error {
	st, closeDB, err := openStore(ctx, d.cfg.Store, d.log)
	if err != nil {
		return err
	}
	d.store, d.closeDB = instrumentedStore{next: st, m: d.m}, closeDB
	fail := func(err error) error {
		_ = d.store.Close()
		if d.closeDB != nil {
			_ = d.closeDB()
		}
		return err
	}
	senders, err := buildSenders(d.cfg)
	if err != nil {
		return fail(err)
	}
	if d.cfg.Live.Enabled {
		d.hub = notify.NewHub(notify.HubConfig{Observer: d.m, OnDrop: func(s *notify.Session, kind notify.EventKind) {
			d.log.Warn("event_queue_full", "session", s.ID, "kind", string(kind))
		}})
		d.dc = notify.NewDataChanges(d.hub, d.cfg.Live.RetryInterval, d.cfg.Live.RetryMaxAttempts)
	}
	d.engine, err = notify.NewEngine(notify.EngineConfig{
		Store: d.store, Hub: d.hub, Senders: senders, DeviceFallback: d.cfg.DeviceFallback,
		SendAttempts: d.cfg.Send.MaxAttempts, RetryBackoff: d.cfg.Send.RetryBackoff, Log: d.log, Observer: d.m,
	})
	if err != nil {
		return fail(err)
	}
	auth := NewAuthenticator(d.cfg.Auth)
	client := notifyrpc.NewClientService(notifyrpc.ClientConfig{
		Engine: d.engine, Hub: d.hub, DataChanges: d.dc, Auth: auth, Heartbeat: d.cfg.Live.HeartbeatInterval, Log: d.log, Observer: d.m,
	})
	internal := notifyrpc.NewInternalService(notifyrpc.InternalConfig{Engine: d.engine, Auth: auth, Log: d.log, Observer: d.m})

	// Each port serves only its own service; any other path is 404.
	cmux := http.NewServeMux()
	cmux.Handle(client.Handler())
	if d.cfg.SSEEnabled {
		cmux.HandleFunc(notifyrpc.SSEPath, client.ServeSSE)
	}
	imux := http.NewServeMux()
	imux.Handle(internal.Handler())

	d.clientSrv = platform.NewServer("client", d.addrs.Client, withCORS(d.cfg.AllowedOrigins, cmux), d.log, d.prom, platform.ServerOptions{H2C: true})
	d.internalSrv = platform.NewServer("internal", d.addrs.Internal, imux, d.log, d.prom, platform.ServerOptions{H2C: true})
	if err := d.clientSrv.Listen(); err != nil {
		return fail(err)
	}
	if err := d.internalSrv.Listen(); err != nil {
		_ = d.clientSrv.Shutdown(context.Background())
		return fail(err)
	}
	return nil
}

// Addrs returns the bound addresses once Run has bound them.
func (d *Daemon) Addrs() Addrs {
	a := Addrs{Metrics: d.metricsSrv.Addr().String()}
	if d.clientSrv != nil && d.ready.Load() {
		a.Client, a.Internal = d.clientSrv.Addr().String(), d.internalSrv.Addr().String()
	}
	return a
}
