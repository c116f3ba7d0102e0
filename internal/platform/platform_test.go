package platform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, mux *http.ServeMux, logBuf *bytes.Buffer) (*Server, *Metrics, string) {
	t.Helper()
	var w io.Writer = io.Discard
	if logBuf != nil {
		w = logBuf
	}
	m := NewMetrics()
	s := NewServer("test", "127.0.0.1:0", mux, NewLogger(w, "debug", "json"), m, ServerOptions{})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, m, "http://" + s.Addr().String()
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHealthReadiness(t *testing.T) {
	h := NewHealth("v1.2.3")
	mux := http.NewServeMux()
	h.Register(mux)
	_, _, base := newTestServer(t, mux, nil)

	if resp, _ := get(t, base+"/health/ready"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ready before SetReady: %d, want 503", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/health/live"); resp.StatusCode != http.StatusOK {
		t.Fatalf("live: %d, want 200", resp.StatusCode)
	}
	h.SetReady(true)
	if resp, _ := get(t, base+"/health/ready"); resp.StatusCode != http.StatusOK {
		t.Fatalf("ready after SetReady: %d, want 200", resp.StatusCode)
	}

	// A dependency that is down degrades /health but not liveness.
	var dbErr error
	h.AddCheck("database", func(context.Context) error { return dbErr })
	resp, body := get(t, base+"/health")
	var rep healthReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("health body %q: %v", body, err)
	}
	if resp.StatusCode != 200 || rep.Status != "ok" || rep.Version != "v1.2.3" || rep.Dependencies["database"] != "ok" {
		t.Fatalf("healthy report: %d %+v", resp.StatusCode, rep)
	}
	dbErr = errors.New("connection refused to secret-host:5432")
	resp, body = get(t, base+"/health")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"database":"down"`) {
		t.Fatalf("degraded report: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "secret-host") {
		t.Fatal("health response leaks the dependency error")
	}
}

func TestMiddlewareRequestIDMetricsAndPanics(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, RequestID(r.Context()))
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("handler bug") })
	var logs bytes.Buffer
	_, m, base := newTestServer(t, mux, &logs)

	resp, body := get(t, base+"/items/42", "X-Request-Id", "abc-123")
	if body != "abc-123" || resp.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("caller's request id not kept: body %q header %q", body, resp.Header.Get("X-Request-Id"))
	}
	resp, body = get(t, base+"/items/42", "X-Request-Id", "bad id with spaces <script>")
	if len(body) != 32 || strings.Contains(body, "script") || resp.Header.Get("X-Request-Id") != body {
		t.Fatalf("invalid request id must be replaced: %q", body)
	}

	resp, body = get(t, base+"/panic")
	if resp.StatusCode != 500 || !strings.Contains(body, `"INTERNAL"`) {
		t.Fatalf("panic: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, base+"/items/1"); resp.StatusCode != 200 {
		t.Fatal("server stopped serving after a panic")
	}

	rec := httpRecorder(t, m.Handler())
	if !strings.Contains(rec, `quikapp_http_requests_total{code="200",method="GET",route="GET /items/{id}"} 3`) {
		t.Fatalf("request counter by route missing:\n%s", grep(rec, "quikapp_http_requests_total"))
	}
	if !strings.Contains(rec, `code="500",method="GET",route="GET /panic"`) {
		t.Fatalf("panic not counted as 500:\n%s", grep(rec, "quikapp_http_requests_total"))
	}
	if !strings.Contains(rec, "go_goroutines") {
		t.Fatal("Go runtime metrics missing")
	}
	if !strings.Contains(logs.String(), `"request_id":"abc-123"`) || !strings.Contains(logs.String(), `"msg":"http_panic"`) {
		t.Fatalf("logs lack request id or panic line:\n%s", logs.String())
	}
}

func httpRecorder(t *testing.T, h http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	_, _, base := newTestServer(t, mux, nil)
	resp, body := get(t, base+"/metrics")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("metrics content type %q", ct)
	}
	return body
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A stream that would never end by itself ends when the drain starts, so
// Shutdown returns well within its timeout.
func TestShutdownEndsStreams(t *testing.T) {
	mux := http.NewServeMux()
	var srv *Server
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := srv.StreamContext(r)
		defer cancel()
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				_, _ = io.WriteString(w, "event: bye\n\n")
				return
			case <-tick.C:
				_, _ = io.WriteString(w, "data: tick\n\n")
				http.NewResponseController(w).Flush()
			}
		}
	})
	s, _, base := newTestServer(t, mux, nil)
	srv = s

	resp, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || line != "data: tick\n" {
		t.Fatalf("first stream line %q %v", line, err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("shutdown waited %s for the stream", d)
	}
	rest, _ := io.ReadAll(rd)
	if !strings.Contains(string(rest), "event: bye") {
		t.Fatalf("stream did not end cleanly: %q", rest)
	}
}

// A request that ignores the drain is cut at the timeout and Shutdown says so.
func TestShutdownTimeoutReported(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	s, _, base := newTestServer(t, mux, nil)
	defer close(release)
	go func() {
		if resp, err := http.Get(base + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown of a stuck request: err = %v, want deadline exceeded", err)
	}
}

func TestWriteErrorEnvelope(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, http.StatusBadRequest, "VALIDATION_ERROR", "name is required", FieldDetail{Field: "name", Message: "required"})
	})
	_, _, base := newTestServer(t, mux, nil)
	resp, body := get(t, base+"/bad", "X-Request-Id", "r-1")
	var env ErrorBody
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || env.Error.Code != "VALIDATION_ERROR" || env.Error.RequestID != "r-1" ||
		len(env.Error.Details) != 1 || env.Error.Details[0].Field != "name" {
		t.Fatalf("envelope %d %+v", resp.StatusCode, env)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warning": slog.LevelWarn, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got := ParseLevel(in); got != want {
			t.Errorf("ParseLevel(%q) = %v", in, got)
		}
	}
}
