package notifyd_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	emailv1 "github.com/quikapp/quikapp/api/email/v1/emailv1"
	"github.com/quikapp/quikapp/api/email/v1/emailv1/emailv1connect"
	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/api/notify/v1/notifyv1/notifyv1connect"
	"github.com/quikapp/quikapp/internal/notifyd"
	"github.com/quikapp/quikapp/internal/platform/env"
)

const internalToken = "internal-secret-0123456789"

// running is a daemon on loopback ports.
type running struct {
	d      *notifyd.Daemon
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	addrs  notifyd.Addrs
	hc     *http.Client
}

func loopback() notifyd.Addrs {
	return notifyd.Addrs{Client: "127.0.0.1:0", Internal: "127.0.0.1:0", Metrics: "127.0.0.1:0"}
}

func loadConfig(t *testing.T, vars map[string]string) notifyd.Config {
	t.Helper()
	cfg, err := notifyd.LoadConfig(env.FromMap(vars))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func devVars(extra ...string) map[string]string {
	m := map[string]string{"NOTIFY_AUTH_DEV_MODE": "true", "NOTIFY_INTERNAL_TOKEN": internalToken}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// newDaemon binds the metrics port only; start runs the rest.
func newDaemon(t *testing.T, cfg notifyd.Config) *running {
	t.Helper()
	d, err := notifyd.New(cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), loopback())
	if err != nil {
		t.Fatal(err)
	}
	r := &running{d: d, done: make(chan struct{}), hc: &http.Client{Timeout: 10 * time.Second}}
	r.addrs = d.Addrs()
	return r
}

func (r *running) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.err = r.d.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !r.d.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("daemon not ready after 15s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.addrs = r.d.Addrs()
}

func (r *running) get(t *testing.T, method, url string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := r.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (r *running) health(t *testing.T) (int, string) {
	code, body, _ := r.get(t, http.MethodGet, "http://"+r.addrs.Metrics+"/healthz")
	return code, strings.TrimSpace(body)
}

func (r *running) clients() (notifyv1connect.NotificationClientServiceClient, notifyv1connect.NotificationInternalServiceClient) {
	return notifyv1connect.NewNotificationClientServiceClient(http.DefaultClient, "http://"+r.addrs.Client),
		notifyv1connect.NewNotificationInternalServiceClient(http.DefaultClient, "http://"+r.addrs.Internal)
}

func internalReq(m *pb.NotifyRequest) *connect.Request[pb.NotifyRequest] {
	req := connect.NewRequest(m)
	req.Header().Set("X-Notify-Internal-Token", internalToken)
	return req
}

func bearer[T any](token string, m *T) *connect.Request[T] {
	req := connect.NewRequest(m)
	req.Header().Set("Authorization", "Bearer "+token)
	return req
}

// blockingEmail is an email service whose sends wait for release.
type blockingEmail struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingEmail) SendEmail(ctx context.Context, _ *connect.Request[emailv1.SendEmailRequest]) (*connect.Response[emailv1.SendEmailResponse], error) {
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
		return connect.NewResponse(&emailv1.SendEmailResponse{MessageId: "m"}), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func startEmailService(t *testing.T, h emailv1connect.EmailServiceHandler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(emailv1connect.NewEmailServiceHandler(h))
	srv := &http.Server{Handler: mux, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// The seed's rolling deploy: 503 before the listeners serve, 200 while
// serving, 503 from the moment SIGTERM arrives while in-flight work
// drains and open streams end canceled, then exit clean.
func TestRollingDeploy(t *testing.T) {
	mail := &blockingEmail{started: make(chan struct{}), release: make(chan struct{})}
	addr := startEmailService(t, mail)
	cfg := loadConfig(t, devVars("NOTIFY_EMAIL_PROVIDER", "emailservice", "NOTIFY_EMAIL_SERVICE_ADDRESS", addr,
		"NOTIFY_EMAIL_FROM", "noreply@example.com", "NOTIFY_SHUTDOWN_TIMEOUT", "10s"))
	r := newDaemon(t, cfg)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
		for _, path := range []string{"/healthz", "/health"} {
			code, body, _ := r.get(t, m, "http://"+r.addrs.Metrics+path)
			if code != http.StatusServiceUnavailable || (m != http.MethodHead && strings.TrimSpace(body) != `{"status":"not_ready"}`) {
				t.Fatalf("%s %s before start: %d %q", m, path, code, body)
			}
		}
	}
	r.start(t)
	if code, body := r.health(t); code != http.StatusOK || body != `{"status":"ok"}` {
		t.Fatalf("healthz when serving: %d %q", code, body)
	}
	client, internal := r.clients()

	ctx, cancelStream := context.WithCancel(context.Background())
	defer cancelStream()
	stream, err := client.StreamEvents(ctx, bearer("dev:u1:acme", &pb.StreamEventsRequest{DeviceType: pb.DeviceType_DEVICE_TYPE_BROWSER}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() || stream.Msg().GetHeartbeat() == nil {
		t.Fatalf("no first heartbeat: %v", stream.Err())
	}
	notified := make(chan error, 1)
	go func() {
		_, err := internal.Notify(context.Background(), internalReq(&pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"},
			Channels:  []pb.DeliveryChannel{pb.DeliveryChannel_DELIVERY_CHANNEL_EMAIL},
			Addresses: map[string]*pb.ChannelAddresses{"u1": {ByChannel: map[string]string{"email": "u1@example.com"}}}}))
		notified <- err
	}()
	<-mail.started // a Notify is in flight

	r.cancel() // SIGTERM
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := r.health(t)
		if code == http.StatusServiceUnavailable && body == `{"status":"not_ready"}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz after SIGTERM: %d %q", code, body)
		}
	}
	for stream.Receive() {
		if stream.Msg().GetHeartbeat() == nil {
			t.Fatalf("unexpected event during shutdown: %v", stream.Msg())
		}
	}
	if code := connect.CodeOf(stream.Err()); code != connect.CodeCanceled {
		t.Fatalf("stream ended with %v (%v), want canceled", code, stream.Err())
	}
	// The in-flight request is drained, not cut.
	close(mail.release)
	if err := <-notified; err != nil {
		t.Fatalf("in-flight Notify during drain: %v", err)
	}
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("Run after a clean drain: %v", r.err)
		}
	case <-time.After(cfg.ShutdownTimeout):
		t.Fatal("did not exit within NOTIFY_SHUTDOWN_TIMEOUT")
	}
}

// A request that outlives the shutdown timeout is cut and Run says so.
func TestShutdownTimeout(t *testing.T) {
	mail := &blockingEmail{started: make(chan struct{}), release: make(chan struct{})}
	defer close(mail.release)
	addr := startEmailService(t, mail)
	cfg := loadConfig(t, devVars("NOTIFY_EMAIL_PROVIDER", "emailservice", "NOTIFY_EMAIL_SERVICE_ADDRESS", addr,
		"NOTIFY_EMAIL_FROM", "noreply@example.com", "NOTIFY_SHUTDOWN_TIMEOUT", "300ms"))
	r := newDaemon(t, cfg)
	r.start(t)
	_, internal := r.clients()
	go func() {
		_, _ = internal.Notify(context.Background(), internalReq(&pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"},
			Channels:  []pb.DeliveryChannel{pb.DeliveryChannel_DELIVERY_CHANNEL_EMAIL},
			Addresses: map[string]*pb.ChannelAddresses{"u1": {ByChannel: map[string]string{"email": "u1@example.com"}}}}))
	}()
	<-mail.started
	r.cancel()
	select {
	case <-r.done:
		if r.err == nil {
			t.Fatal("Run reported a clean drain with a request still running")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
}

// Each port serves only its own service; the metrics port serves the
// Prometheus text format with the contract's series.
func TestPortsServeOnlyTheirService(t *testing.T) {
	r := newDaemon(t, loadConfig(t, devVars()))
	r.start(t)
	for _, c := range []struct{ addr, path string }{
		{r.addrs.Client, "/" + notifyv1connect.NotificationInternalServiceName + "/Notify"},
		{r.addrs.Internal, "/" + notifyv1connect.NotificationClientServiceName + "/GetNotifications"},
		{r.addrs.Client, "/metrics"},
		{r.addrs.Internal, "/healthz"},
		{r.addrs.Metrics, "/" + notifyv1connect.NotificationClientServiceName + "/GetNotifications"},
	} {
		if code, _, _ := r.get(t, http.MethodPost, "http://"+c.addr+c.path); code != http.StatusNotFound {
			t.Errorf("POST %s on %s: %d, want 404", c.path, c.addr, code)
		}
	}
	client, internal := r.clients()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := client.StreamEvents(ctx, bearer("dev:u1:acme", &pb.StreamEventsRequest{DeviceType: pb.DeviceType_DEVICE_TYPE_IOS}))
	if err != nil || !stream.Receive() {
		t.Fatalf("stream: %v %v", err, stream.Err())
	}
	if _, err := internal.Notify(context.Background(), internalReq(&pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}})); err != nil {
		t.Fatal(err)
	}
	if _, err := internal.Notify(context.Background(), internalReq(&pb.NotifyRequest{TenantId: "acme", UserIds: []string{"u1"}})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("invalid Notify: %v", err)
	}
	// The stream's first frame reaches the client as its counter is
	// bumped, so give the counter a moment rather than race it.
	var code int
	var body string
	var h http.Header
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, body, h = r.get(t, http.MethodGet, "http://"+r.addrs.Metrics+"/metrics")
		if strings.Contains(body, `notify_stream_events_total{kind="heartbeat"}`) || time.Now().After(deadline) {
			break
		}
	}
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`notify_live_connections{device_type="ios"} 1`,
		`notify_notify_requests_total{code="ok"} 1`,
		`notify_notify_requests_total{code="invalid_argument"} 1`,
		`notify_send_total{channel="in_app",provider="in_app",status="delivered"} 1`,
		`notify_send_duration_seconds_count{channel="in_app",provider="in_app"} 1`,
		`notify_store_op_total{code="ok",op="create_notification"} 1`,
		`notify_store_op_duration_seconds_count{op="create_notification"} 1`,
		`notify_stream_events_total{kind="heartbeat"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "acme") {
		t.Error("/metrics carries a tenant label")
	}
}

// CORS on the client port: preflights and reflected origins when
// configured, nothing at all when not.
func TestCORS(t *testing.T) {
	path := "/" + notifyv1connect.NotificationClientServiceName + "/GetNotifications"
	preflight := func(t *testing.T, r *running, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, "http://"+r.addrs.Client+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,connect-protocol-version")
		resp, err := r.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	on := newDaemon(t, loadConfig(t, devVars("NOTIFY_ALLOWED_ORIGINS", " https://app.example.com , ,https://admin.example.com")))
	on.start(t)
	resp := preflight(t, on, "https://app.example.com")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Connect-Protocol-Version") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight(t, on, "https://evil.example.com"); resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+on.addrs.Client+path, strings.NewReader("{}"))
	req.Header.Set("Origin", "https://admin.example.com")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer dev:u1:acme")
	got, err := on.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != 200 || got.Header.Get("Access-Control-Allow-Origin") != "https://admin.example.com" ||
		!strings.Contains(got.Header.Get("Access-Control-Expose-Headers"), "Grpc-Status") {
		t.Fatalf("CORS request: %d %v", got.StatusCode, got.Header)
	}

	off := newDaemon(t, loadConfig(t, devVars()))
	off.start(t)
	if resp := preflight(t, off, "https://app.example.com"); resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Fatalf("CORS headers with no origins configured: %v", resp.Header)
	}
}

// hs256 mints a JWT as an identity provider would.
func hs256(secret, claims string) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(head))
	return head + "." + enc.EncodeToString(mac.Sum(nil))
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
