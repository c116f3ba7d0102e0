package notifyrpc_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/api/notify/v1/notifyv1/notifyv1connect"
	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/memstore"
	"github.com/quikapp/quikapp/internal/notify/notifyrpc"
	"github.com/quikapp/quikapp/internal/notify/sqlstore"
	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

const internalToken = "s3cret-internal"

// devAuth accepts "Bearer dev:<user>:<tenant>" and the internal token; the
// real authenticator has its own tests in package notifyd.
type devAuth struct{}

func (devAuth) Client(h string) (notify.Identity, error) {
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return notify.Identity{}, errors.New("notify: unauthenticated: missing bearer token")
	}
	p := strings.Split(strings.TrimSpace(h[7:]), ":")
	if len(p) != 3 || p[0] != "dev" || p[1] == "" || p[2] == "" {
		return notify.Identity{}, errors.New("notify: unauthenticated: bad token")
	}
	return notify.Identity{UserID: p[1], TenantID: p[2]}, nil
}

func (devAuth) Internal(tok string) error {
	if subtle.ConstantTimeCompare([]byte(tok), []byte(internalToken)) != 1 {
		return errors.New("notify: unauthenticated: bad internal token")
	}
	return nil
}

// protocol is one way a client speaks to the server.
type protocol struct {
	name string
	opts []connect.ClientOption
	h2c  bool // cleartext HTTP/2 instead of HTTP/1.1
}

var protocols = []protocol{
	{name: "connect-proto", opts: nil},
	{name: "connect-json", opts: []connect.ClientOption{connect.WithProtoJSON()}, h2c: true},
	{name: "grpc", opts: []connect.ClientOption{connect.WithGRPC()}, h2c: true},
	{name: "grpc-web", opts: []connect.ClientOption{connect.WithGRPCWeb()}},
}

func (p protocol) httpClient() *http.Client {
	// Enough idle connections for parallel benchmarks over HTTP/1.1; the
	// default (2 per host) would dial a new connection for most calls.
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	if p.h2c {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Transport: tr}
}

var drivers = []string{"memory", store.SQLite, store.Postgres}

func newStore(t testing.TB, driver string) notify.Store {
	t.Helper()
	if driver == "memory" {
		return memstore.New()
	}
	db := storetest.Open(t, driver)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.Migrate(ctx, sqlstore.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return sqlstore.New(db)
}

// env is one server on loopback and clients in one protocol.
type env struct {
	base     string
	engine   *notify.Engine
	hub      *notify.Hub
	dc       *notify.DataChanges
	store    notify.Store
	client   notifyv1connect.NotificationClientServiceClient
	internal notifyv1connect.NotificationInternalServiceClient
}

type envOptions struct {
	liveOff   bool
	heartbeat time.Duration
	senders   map[string]notify.Sender
	wrapStore func(notify.Store) notify.Store
	queue     int
}

func newEnv(t testing.TB, driver string, p protocol, o envOptions) *env {
	t.Helper()
	st := newStore(t, driver)
	if o.wrapStore != nil {
		st = o.wrapStore(st)
	}
	e := &env{store: st}
	if !o.liveOff {
		e.hub = notify.NewHub(notify.HubConfig{QueueSize: o.queue})
		e.dc = notify.NewDataChanges(e.hub, 20*time.Millisecond, 3)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go func() { _ = e.dc.Run(ctx) }()
	}
	var err error
	e.engine, err = notify.NewEngine(notify.EngineConfig{Store: st, Hub: e.hub, Senders: o.senders, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cs := notifyrpc.NewClientService(notifyrpc.ClientConfig{Engine: e.engine, Hub: e.hub, DataChanges: e.dc, Auth: devAuth{}, Heartbeat: o.heartbeat, Log: log})
	is := notifyrpc.NewInternalService(notifyrpc.InternalConfig{Engine: e.engine, Auth: devAuth{}, Log: log})
	mux := http.NewServeMux()
	mux.Handle(cs.Handler())
	mux.Handle(is.Handler())
	mux.HandleFunc(notifyrpc.SSEPath, cs.ServeSSE)
	srv := platform.NewServer("notify-test", "127.0.0.1:0", mux, log, platform.NewMetrics(), platform.ServerOptions{H2C: true})
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() {
		if e.hub != nil {
			e.hub.Shutdown()
		}
		// HTTP/2 connections whose streams just ended wait out a GOAWAY
		// grace period; the tests are done with them, so cut them soon.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	base := "http://" + srv.Addr().String()
	e.base = base
	hc := p.httpClient()
	// Runs before the server's cleanup: an HTTP/2 connection left open
	// would hold the graceful shutdown for its GOAWAY timeout.
	t.Cleanup(hc.CloseIdleConnections)
	e.client = notifyv1connect.NewNotificationClientServiceClient(hc, base, p.opts...)
	e.internal = notifyv1connect.NewNotificationInternalServiceClient(hc, base, p.opts...)
	return e
}

// newEnvB is a benchmark's environment: Connect binary, deep queues.
func newEnvB(b *testing.B, driver string) *env {
	return newEnv(b, driver, protocols[0], envOptions{queue: 1 << 12})
}

// each runs fn for every store driver and protocol.
func each(t *testing.T, o envOptions, fn func(t *testing.T, e *env)) {
	for _, d := range drivers {
		for _, p := range protocols {
			t.Run(d+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				fn(t, newEnv(t, d, p, o))
			})
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func as[T any](user, tenant string, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	r.Header().Set("Authorization", "Bearer dev:"+user+":"+tenant)
	return r
}

func internalReq(msg *pb.NotifyRequest) *connect.Request[pb.NotifyRequest] {
	r := connect.NewRequest(msg)
	r.Header().Set(notifyrpc.InternalHeader, internalToken)
	return r
}

func wantCode(t *testing.T, what string, err error, code connect.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %s", what, code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("%s: code %s (%v), want %s", what, got, err, code)
	}
}

func notifyOK(t *testing.T, e *env, req *pb.NotifyRequest) *pb.NotifyResponse {
	t.Helper()
	resp, err := e.internal.Notify(ctxT(t), internalReq(req))
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	return resp.Msg
}

func inbox(t *testing.T, e *env, user, tenant string, req *pb.GetNotificationsRequest) *pb.GetNotificationsResponse {
	t.Helper()
	resp, err := e.client.GetNotifications(ctxT(t), as(user, tenant, req))
	if err != nil {
		t.Fatalf("GetNotifications(%s/%s): %v", tenant, user, err)
	}
	return resp.Msg
}

// liveStream is an open StreamEvents call whose events arrive on a channel.
type liveStream struct {
	session string
	events  chan *pb.StreamEvent
	done    chan error // the stream's final error
	cancel  context.CancelFunc
}

func openStream(t *testing.T, e *env, user, tenant string, dt pb.DeviceType) *liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := e.client.StreamEvents(ctx, as(user, tenant, &pb.StreamEventsRequest{DeviceType: dt}))
	if err != nil {
		t.Fatalf("StreamEvents: %v", err)
	}
	ls := &liveStream{events: make(chan *pb.StreamEvent, 256), done: make(chan error, 1), cancel: cancel}
	if !st.Receive() {
		t.Fatalf("StreamEvents: no first event: %v", st.Err())
	}
	first := st.Msg()
	if first.GetHeartbeat() == nil || first.GetSessionId() == "" || first.GetHeartbeat().GetTimestampMs() <= 0 {
		t.Fatalf("first event is not a heartbeat with a session id: %v", first)
	}
	ls.session = first.GetSessionId()
	go func() {
		for st.Receive() {
			ls.events <- st.Msg()
		}
		ls.done <- st.Err()
		close(ls.events)
	}()
	return ls
}

// next returns the next non-heartbeat event, or fails after a generous wait.
func (ls *liveStream) next(t *testing.T) *pb.StreamEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ls.events:
			if !ok {
				t.Fatalf("stream ended: %v", <-ls.done)
			}
			if ev.GetSessionId() != ls.session {
				t.Fatalf("event carries session %q, want %q", ev.GetSessionId(), ls.session)
			}
			if ev.GetHeartbeat() == nil {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 10s")
		}
	}
}

// quiet checks that no non-heartbeat event arrives before fence does: the
// caller sends a fence event through the same path afterwards, so the
// check is ordered rather than timed.
func (ls *liveStream) nextIs(t *testing.T, wantNotificationID string) {
	t.Helper()
	ev := ls.next(t)
	if got := ev.GetNotification().GetNotification().GetNotificationId(); got != wantNotificationID {
		t.Fatalf("next event is %v, want notification %q", ev, wantNotificationID)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
