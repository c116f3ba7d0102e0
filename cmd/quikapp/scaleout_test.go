package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quikapp/quikapp/internal/auth/token"
	"github.com/quikapp/quikapp/internal/bus/bustest"
	"github.com/quikapp/quikapp/internal/realtime"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// Two quikapp processes on one PostgreSQL and one NATS: a client on node A
// sees, live, a message posted through node B; when A is stopped with
// SIGTERM its client moves to B and recovers every event it missed, none
// twice; and no request fails while A drains, because requests follow
// readiness the way a load balancer does.
func TestScaleOutTwoNodesRollingRestart(t *testing.T) {
	if os.Getenv("QUIKAPP_TEST_FULL") == "" {
		t.Skip("starts two processes on PostgreSQL and NATS; runs with QUIKAPP_TEST_FULL=1 (scripts/test sets it)")
	}
	bin := buildBinary(t)
	prefix := "scale" + strings.ToLower(rand.Text()[:10])
	bustest.DeleteStreams(t, strings.ToUpper(prefix)+"_EVENTS", strings.ToUpper(prefix)+"_REALTIME")
	env := cleanEnv(
		"QUIKAPP_HTTP_ADDR=127.0.0.1:0",
		"QUIKAPP_DATABASE_URL="+storetest.NewPostgresSchema(t),
		"QUIKAPP_NATS_URL="+bustest.NATSURL(),
		"QUIKAPP_NATS_PREFIX="+prefix, // streams of the test's own
		"QUIKAPP_JWT_PRIVATE_KEY_FILE="+signingKey(t),
		"QUIKAPP_RATE_LIMIT_STORE=database",
		"QUIKAPP_SHUTDOWN_DELAY=1s",
	)
	nodeA := startProcess(t, bin, t.TempDir(), env)
	nodeB := startProcess(t, bin, t.TempDir(), env)
	c := &client{t: t}

	ann, bob := c.signUp(nodeA, "ann"), c.signUp(nodeB, "bob")
	var ws struct{ ID string }
	c.call(nodeA, "POST", "/api/v1/workspaces", ann, map[string]string{"name": "Acme", "slug": "acme-scale"}, 201, &ws)
	var inv struct{ Token string }
	c.call(nodeA, "POST", "/api/v1/workspaces/"+ws.ID+"/invitations", ann, map[string]string{"email": bob.email, "role": "member"}, 201, &inv)
	c.call(nodeB, "POST", "/api/v1/invitations/accept", bob, map[string]string{"token": inv.Token}, 200, nil)
	var chans struct{ Items []struct{ ID, Name string } }
	c.call(nodeB, "GET", "/api/v1/workspaces/"+ws.ID+"/channels", bob, nil, 200, &chans)
	general := ""
	for _, ch := range chans.Items {
		if ch.Name == "general" {
			general = ch.ID
		}
	}
	topic := "channel:" + general

	// Bob listens on node A; Ann posts through node B.
	st := openStream(t, nodeA, bob, topic, nil)
	posted := []string{c.post(nodeB, ann, general, "hello from B")}
	st.waitFor(t, posted[0])

	// Ann keeps posting, through whichever node is ready, while A is
	// stopped.
	var failures atomic.Int64
	stopPosting := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stopPosting:
				return
			case <-time.After(20 * time.Millisecond):
			}
			node := nodeB
			if i%2 == 0 && nodeA.ready() {
				node = nodeA
			}
			text := fmt.Sprintf("message %d", i)
			if err := c.tryPost(node, ann, general, text); err != nil {
				failures.Add(1)
				t.Errorf("post %d through %s during the restart: %v", i, node.base, err)
				continue
			}
			mu.Lock()
			posted = append(posted, text)
			mu.Unlock()
		}
	})
	time.Sleep(300 * time.Millisecond)
	stopping := make(chan struct{})
	go func() { defer close(stopping); nodeA.stop(t) }()

	// A tells its clients it is going away; Bob resumes on B from his
	// last position.
	reason := st.waitClosed(t)
	if !strings.Contains(reason, realtime.ReasonShutdown) {
		t.Fatalf("node A closed Bob's stream with %q, want %q", reason, realtime.ReasonShutdown)
	}
	time.Sleep(300 * time.Millisecond) // a client's reconnect backoff: messages go on meanwhile
	resumed := openStream(t, nodeB, bob, topic, map[string]realtime.Position{topic: st.last()})
	<-stopping
	time.Sleep(300 * time.Millisecond)
	close(stopPosting)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d requests failed during the rolling restart", failures.Load())
	}

	// Every posted message reached Bob exactly once, in one order of
	// offsets with no gap, across the move.
	last := posted[len(posted)-1]
	resumed.waitFor(t, last)
	seen := append(st.texts(), resumed.texts()...)
	offsets := append(st.offsets(), resumed.offsets()...)
	for i := 1; i < len(offsets); i++ {
		if offsets[i] != offsets[i-1]+1 {
			t.Fatalf("offsets across the move are not contiguous at %d: %v", i, offsets)
		}
	}
	count := map[string]int{}
	for _, s := range seen {
		count[s]++
	}
	for _, p := range posted {
		if count[p] != 1 {
			t.Fatalf("%q reached Bob %d times (posted %d, seen %d events)", p, count[p], len(posted), len(seen))
		}
	}
	t.Logf("%d messages posted across the restart, %d before the move and %d after, 0 failed", len(posted), len(st.texts()), len(resumed.texts()))
}

// signingKey writes an Ed25519 key both nodes sign tokens with.
func signingKey(t *testing.T) string {
	t.Helper()
	key, err := token.GenerateEd25519()
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwt.pem")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// client is the little of the API the test needs.
type client struct{ t *testing.T }

type account struct{ id, email, token string }

func (c *client) do(p *process, method, path string, a account, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *client) call(p *process, method, path string, a account, body any, want int, out any) {
	c.t.Helper()
	code, b, err := c.do(p, method, path, a, body)
	if err != nil || code != want {
		c.t.Fatalf("%s %s on %s: %d %s %v, want %d", method, path, p.base, code, b, err, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (c *client) signUp(p *process, name string) account {
	c.t.Helper()
	a := account{email: name + "@example.com"}
	pw := "correct horse battery " + name
	var created struct{ ID string }
	c.call(p, "POST", "/api/v1/auth/register", account{}, map[string]string{"email": a.email, "password": pw, "displayName": name}, 201, &created)
	var tok struct{ AccessToken string }
	c.call(p, "POST", "/api/v1/auth/login", account{}, map[string]string{"email": a.email, "password": pw}, 200, &tok)
	a.id, a.token = created.ID, tok.AccessToken
	return a
}

func (c *client) tryPost(p *process, a account, channelID, text string) error {
	code, b, err := c.do(p, "POST", "/api/v1/channels/"+channelID+"/messages", a, map[string]string{"text": text})
	if err != nil {
		return err
	}
	if code != 201 {
		return fmt.Errorf("%d %s", code, b)
	}
	return nil
}

func (c *client) post(p *process, a account, channelID, text string) string {
	c.t.Helper()
	if err := c.tryPost(p, a, channelID, text); err != nil {
		c.t.Fatal(err)
	}
	return text
}

// stream is a WebSocket on one topic, recording the message texts and
// offsets it receives.
type stream struct {
	mu     sync.Mutex
	events []realtime.Event
	msgs   []string
	closed chan string // the close reason
	notify chan struct{}
}

func openStream(t *testing.T, p *process, a account, topic string, resume map[string]realtime.Position) *stream {
	t.Helper()
	u := "ws" + strings.TrimPrefix(p.base, "http") + "/api/v1/realtime/ws?topics=" + url.QueryEscape(topic) +
		"&access_token=" + url.QueryEscape(a.token)
	if resume != nil {
		u += "&resume=" + url.QueryEscape(realtime.EncodePositions(resume))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	st := &stream{closed: make(chan string, 1), notify: make(chan struct{}, 1)}
	go func() {
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				st.closed <- websocket.CloseStatus(err).String() + " " + err.Error()
				return
			}
			var ev realtime.Event
			if json.Unmarshal(b, &ev) != nil || ev.Type != "message.created" {
				continue
			}
			var m struct{ Text string }
			_ = json.Unmarshal(ev.Data, &m)
			st.mu.Lock()
			st.events = append(st.events, ev)
			st.msgs = append(st.msgs, m.Text)
			st.mu.Unlock()
			select {
			case st.notify <- struct{}{}:
			default:
			}
		}
	}()
	return st
}

func (st *stream) texts() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string(nil), st.msgs...)
}

func (st *stream) offsets() []uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]uint64, len(st.events))
	for i, ev := range st.events {
		out[i] = ev.Offset
	}
	return out
}

func (st *stream) last() realtime.Position {
	st.mu.Lock()
	defer st.mu.Unlock()
	ev := st.events[len(st.events)-1]
	return realtime.Position{Epoch: ev.Epoch, Offset: ev.Offset}
}

func (st *stream) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, s := range st.texts() {
			if s == text {
				return
			}
		}
		select {
		case <-st.notify:
		case <-deadline:
			t.Fatalf("%q did not arrive within 10 s (got %d messages)", text, len(st.texts()))
		}
	}
}

func (st *stream) waitClosed(t *testing.T) string {
	t.Helper()
	select {
	case r := <-st.closed:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("node A did not close the stream on SIGTERM")
		return ""
	}
}
