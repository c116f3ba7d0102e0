package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quikapp/quikapp/internal/realtime"
)

func wsServer(t *testing.T, h *realtime.Hub, p *realtime.Presence) *httptest.Server {
	t.Helper()
	auth := func(r *http.Request) (realtime.Principal, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return realtime.Principal{UserID: u, TenantID: "acme"}, nil
		}
		return realtime.Principal{}, errors.New("no user")
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", realtime.WSHandler(realtime.WSConfig{Hub: h, Authenticate: auth, Presence: p}))
	mux.Handle("/sse", realtime.SSEHandler(realtime.SSEConfig{Hub: h, Authenticate: auth}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func dialWS(t *testing.T, srv *httptest.Server, user, query string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws"+query,
		&websocket.DialOptions{HTTPHeader: http.Header{"X-User": {user}}})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func readJSON(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return m
}

// WebSocket and SSE subscribers of the same topics receive identical
// streams.
func TestWebSocketAndSSEIdentical(t *testing.T) {
	h := newHub(t, 256, members{"ada": {"channel:1", "user:ada"}})
	srv := wsServer(t, h, nil)
	ws, _, err := dialWS(t, srv, "ada", "?topics=channel:1,user:ada")
	if err != nil {
		t.Fatal(err)
	}
	_, sse, _ := openSSE(t, srv.URL+"/sse?topics=channel:1,user:ada", "ada", "")
	for h.Subscribers("channel:1") != 2 {
		time.Sleep(time.Millisecond)
	}
	publish(t, h, "channel:1", 3)
	publish(t, h, "user:ada", 2)
	publish(t, h, "channel:1", 1)
	for i := range 6 {
		w := readJSON(t, ws)
		s := eventOf(t, next(t, sse))
		if w["topic"] != s.Topic || uint64(w["offset"].(float64)) != s.Offset || w["id"] != s.ID || w["epoch"] != s.Epoch || w["type"] != s.Type {
			t.Fatalf("event %d differs: ws %v, sse %+v", i, w, s)
		}
	}
}

func TestWebSocketResumeAndFrames(t *testing.T) {
	h := newHub(t, 256, members{"ada": {"t"}})
	p := realtime.NewPresence(realtime.PresenceConfig{})
	srv := wsServer(t, h, p)
	evs := publish(t, h, "t", 5)
	resume := realtime.EncodePositions(map[string]realtime.Position{"t": {Epoch: evs[0].Epoch, Offset: 2}})
	ws, _, err := dialWS(t, srv, "ada", "?topics=t&resume="+resume)
	if err != nil {
		t.Fatal(err)
	}
	for want := 3.0; want <= 5; want++ {
		if f := readJSON(t, ws); f["offset"] != want {
			t.Fatalf("resumed frame %v, want offset %v", f, want)
		}
	}
	ctx := context.Background()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if f := readJSON(t, ws); f["type"] != "pong" {
		t.Fatalf("ping answered with %v", f)
	}
	if p.Get("acme", "ada").Status != realtime.StatusOnline {
		t.Fatal("a WebSocket connection did not count for presence")
	}
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"presence","status":"dnd"}`))
	deadline := time.Now().Add(10 * time.Second)
	for p.Get("acme", "ada").Status != realtime.StatusDND && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Get("acme", "ada").Status != realtime.StatusDND {
		t.Fatal("presence frame ignored")
	}
	// A bad frame closes the connection with a reason.
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"delete_everything"}`))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err = ws.Read(rctx)
	if websocket.CloseStatus(err) != realtime.CloseBadFrame {
		t.Fatalf("after a bad frame: %v", err)
	}
}

func TestWebSocketRefusalsAndSlowConsumer(t *testing.T) {
	h := newHub(t, 4, members{"ada": {"t"}})
	srv := wsServer(t, h, nil)
	if _, resp, err := dialWS(t, srv, "ada", "?topics=forbidden"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forbidden topic: %v %v", resp, err)
	}
	if _, resp, err := dialWS(t, srv, "", "?topics=t"); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %v %v", resp, err)
	}
	// A plain GET is told to upgrade, in the API's error shape.
	req, _ := http.NewRequest("GET", srv.URL+"/ws?topics=t", nil)
	req.Header.Set("X-User", "ada")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || !strings.Contains(string(body), `"UPGRADE_REQUIRED"`) {
		t.Fatalf("plain GET: %d %s", resp.StatusCode, body)
	}
	ws, _, err := dialWS(t, srv, "ada", "?topics=t")
	if err != nil {
		t.Fatal(err)
	}
	for h.Subscribers("t") != 1 {
		time.Sleep(time.Millisecond)
	}
	// The client reads nothing while much more than its queue is
	// published: the server cuts it off with the slow-consumer code.
	for range 2000 {
		publish(t, h, "t", 1)
		if h.Subscribers("t") == 0 {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if websocket.CloseStatus(err) != realtime.CloseSlowConsumer {
				t.Fatalf("closed with %v, want %d", err, realtime.CloseSlowConsumer)
			}
			return
		}
	}
}

func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{`{"type":"ping"}`, `{"type":"typing","topic":"channel:1"}`, `{"type":"presence","status":"away"}`, `{"type":"x"}`, `[]`, `null`, `{"type":"typing"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := realtime.DecodeClientFrame(b)
		if err != nil {
			return
		}
		switch fr.Type {
		case "ping":
		case "typing":
			if fr.Topic == "" {
				t.Fatalf("typing without a topic accepted: %q", b)
			}
		case "presence":
			if fr.Status == "" {
				t.Fatalf("presence without a status accepted: %q", b)
			}
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
	})
}
