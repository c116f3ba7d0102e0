package notifyrpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/internal/notify/notifyrpc"
)

type sseEvent struct{ event, id, data string }

type sseConn struct {
	events chan sseEvent
	cancel context.CancelFunc
}

func openSSE(t *testing.T, e *env, auth, lastID string) (*sseConn, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+notifyrpc.SSEPath, nil)
	req.Header.Set("Authorization", auth)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	c := &sseConn{events: make(chan sseEvent, 64), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				c.events <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return c, http.StatusOK
}

// next returns the next event that is not a heartbeat.
func (c *sseConn) next(t *testing.T) sseEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatal("SSE stream ended")
			}
			if ev.event != "heartbeat" {
				return ev
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no SSE event within 10s")
		}
	}
}

func notificationID(t *testing.T, ev sseEvent) string {
	t.Helper()
	if ev.event != "notification" || ev.id == "" {
		t.Fatalf("want a notification event with an id, got %+v", ev)
	}
	var n struct{ NotificationId string }
	if err := json.Unmarshal([]byte(ev.data), &n); err != nil {
		t.Fatalf("notification data %q: %v", ev.data, err)
	}
	return n.NotificationId
}

func TestSSEStreamAndResume(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d, protocols[0], envOptions{})
			if _, code := openSSE(t, e, "Bearer nope", ""); code != http.StatusUnauthorized {
				t.Fatalf("bad token: %d", code)
			}
			if _, code := openSSE(t, e, "Bearer dev:u1:acme", "garbage"); code != http.StatusBadRequest {
				t.Fatalf("bad Last-Event-ID: %d", code)
			}
			c, _ := openSSE(t, e, "Bearer dev:u1:acme", "")
			if first := c.next(t); first.event != "session" || !strings.Contains(first.data, `"sessionId"`) {
				t.Fatalf("first SSE event %+v", first)
			}
			notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}})
			ev := c.next(t)
			if notificationID(t, ev) != "n1" {
				t.Fatalf("live event %+v", ev)
			}
			c.cancel()
			waitFor(t, "the SSE session to close", func() bool { return e.hub.Len() == 0 })
			for _, id := range []string{"n2", "n3"} {
				notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: id, UserIds: []string{"u1"}})
				time.Sleep(2 * time.Millisecond) // distinct created_at_ms, so the order is defined
			}
			notifyOK(t, e, &pb.NotifyRequest{TenantId: "beta", NotificationId: "foreign", UserIds: []string{"u1"}})
			r, _ := openSSE(t, e, "Bearer dev:u1:acme", ev.id)
			if first := r.next(t); first.event != "session" {
				t.Fatalf("first event after resume %+v", first)
			}
			for _, want := range []string{"n2", "n3"} {
				if got := notificationID(t, r.next(t)); got != want {
					t.Fatalf("replayed %q, want %q", got, want)
				}
			}
			notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n4", UserIds: []string{"u1"}})
			if got := notificationID(t, r.next(t)); got != "n4" {
				t.Fatalf("live after replay %q, want n4", got)
			}
		})
	}
}
