package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

// allowAll lets anyone follow any topic: the bench measures the engine,
// not the membership rules.
type allowAll struct{}

func (allowAll) CanSubscribe(context.Context, realtime.Principal, string) error { return nil }

// benchPrincipal takes the user from ?user= (the app takes it from the
// bearer token; the bench has no accounts).
func benchPrincipal(r *http.Request) (realtime.Principal, error) {
	u := r.URL.Query().Get("user")
	if u == "" {
		u = "anon"
	}
	return realtime.Principal{UserID: u, TenantID: "bench"}, nil
}

type hubServerConfig struct {
	queue        int
	ping         time.Duration
	historyCount int
	historyAge   time.Duration
}

// newHubServer is internal/realtime alone behind the app's paths, plus
// POST /publish and /stats. stop ends the presence loop.
func newHubServer(cfg hubServerConfig) (http.Handler, func(), error) {
	hist := realtime.NewMemoryHistory(realtime.HistoryConfig{MaxEvents: cfg.historyCount, MaxAge: cfg.historyAge})
	hub, err := realtime.NewHub(realtime.HubConfig{History: hist, Authorizer: allowAll{}, QueueSize: cfg.queue})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	presence := realtime.NewPresence(realtime.PresenceConfig{
		OnTyping: func(u realtime.TypingUpdate) {
			data, _ := json.Marshal(map[string]any{"user": u.UserID, "typing": u.Typing})
			hub.Signal(ctx, u.Topic, realtime.Event{Type: "typing", Data: data})
		},
	})
	go presence.Run(ctx, time.Second)

	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/realtime/ws", realtime.WSHandler(realtime.WSConfig{Hub: hub, Authenticate: benchPrincipal,
		Presence: presence, PingInterval: cfg.ping}))
	mux.Handle("GET /api/v1/realtime/sse", realtime.SSEHandler(realtime.SSEConfig{Hub: hub, Authenticate: benchPrincipal,
		Heartbeat: cfg.ping}))
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) {
		topic, typ, data, ok := publishRequest(w, r)
		if !ok {
			return
		}
		ev, err := hub.Publish(r.Context(), topic, realtime.Event{Type: typ, Data: data})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writePublished(w, ev.Epoch, ev.Offset)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeStats(w, map[string]any{"topics": hub.Topics()})
	})
	mountPprof(mux)
	return mux, cancel, nil
}

// publishRequest reads POST /publish?topic= with a JSON body (the event's
// data), answering the client itself when the request is not usable.
func publishRequest(w http.ResponseWriter, r *http.Request) (topic, typ string, data []byte, ok bool) {
	topic = r.URL.Query().Get("topic")
	if topic == "" || len(topic) > 200 {
		http.Error(w, "?topic= is required (at most 200 characters)", http.StatusBadRequest)
		return "", "", nil, false
	}
	typ = r.URL.Query().Get("type")
	if typ == "" {
		typ = "message.created"
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return "", "", nil, false
	}
	if !json.Valid(data) {
		http.Error(w, "the body must be the event's data as JSON", http.StatusBadRequest)
		return "", "", nil, false
	}
	return topic, typ, data, true
}

func writePublished(w http.ResponseWriter, epoch string, offset uint64) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"epoch":%q,"offset":%d}`, epoch, offset)
}

// writeStats answers /stats: goroutines and memory, so a driver can
// report them beside RSS.
func writeStats(w http.ResponseWriter, extra map[string]any) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := map[string]any{"goroutines": runtime.NumGoroutine(), "heap_inuse": ms.HeapInuse, "stack_inuse": ms.StackInuse,
		"sys": ms.Sys, "num_gc": ms.NumGC}
	for k, v := range extra {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// mountPprof serves heap and goroutine profiles, to see where an idle
// connection's memory goes.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
}

// runHubServer serves until SIGINT/SIGTERM.
func runHubServer(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("hub-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	cfg := hubServerConfig{}
	fs.IntVar(&cfg.queue, "queue", 0, "per-connection outbound queue (0: the hub's default)")
	fs.DurationVar(&cfg.ping, "ping", 0, "ping and SSE heartbeat period (0: the default, 25s)")
	fs.IntVar(&cfg.historyCount, "history-events", 0, "events kept per topic (0: the default)")
	fs.DurationVar(&cfg.historyAge, "history-age", 0, "age limit of history (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, stop, err := newHubServer(cfg)
	if err != nil {
		return err
	}
	defer stop()
	return serveUntilSignal(*addr, h, out)
}

// serveUntilSignal listens on a loopback addr, prints the base URL on
// out (a driver reads it to find a port-0 listener) and serves until
// SIGINT or SIGTERM.
func serveUntilSignal(addr string, h http.Handler, out io.Writer) error {
	if err := loopbackAddr(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	if f, ok := out.(*os.File); ok {
		_ = f.Sync()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx) // hijacked WebSockets are not waited for
	return nil
}

func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return errors.New("--addr must be a loopback address")
	}
	return nil
}
