package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is one HTTP listener with the process's middleware. Binding is
// separate from serving so the caller can report ready only once every
// listener is bound.
type Server struct {
	name string
	addr string
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
	// drainCtx ends when shutdown begins.
	drainCtx   context.Context
	startDrain context.CancelFunc
}

// ServerOptions tunes a Server; zero fields take defaults.
type ServerOptions struct {
	// ReadHeaderTimeout bounds slow clients sending headers (default 10s).
	ReadHeaderTimeout time.Duration
	// H2C also serves cleartext HTTP/2 (gRPC clients need it).
	H2C bool
}

// NewServer wraps handler with request ids, panic recovery, metrics and
// access logs. There is no write timeout: streams are long-lived, and each
// handler bounds its own work.
func NewServer(name, addr string, handler http.Handler, log *slog.Logger, m *Metrics, opts ServerOptions) *Server {
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	s := &Server{name: name, addr: addr, log: log}
	s.drainCtx, s.startDrain = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           instrument(handler, log, m),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if opts.H2C {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.srv.Protocols = &p
	}
	return s
}

// Listen binds the address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", s.name, s.addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown; it returns nil after a shutdown.
func (s *Server) Serve() error {
	s.log.Info("http_listening", "server", s.name, "addr", s.ln.Addr().String())
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", s.name, err)
	}
	return nil
}

// Draining is closed when shutdown begins. Streaming handlers select on it
// (through StreamContext) and end their stream, so the drain does not wait
// for clients that would never hang up by themselves.
func (s *Server) Draining() <-chan struct{} { return s.drainCtx.Done() }

// StreamContext returns a context that ends with the request or when the
// server starts draining, whichever comes first.
func (s *Server) StreamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	// AfterFunc costs no goroutine until the drain starts.
	stop := context.AfterFunc(s.drainCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// BeginDrain ends every stream context without closing the listener, so
// probes still get an answer (not ready) while the load balancer notices.
func (s *Server) BeginDrain() { s.startDrain() }

// Shutdown stops accepting, signals streams, and waits for in-flight
// requests until ctx ends; then it closes what is left and reports it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.startDrain()
	if s.ln == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("%s: drain: %w", s.name, err)
	}
	return nil
}
