package app

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/workspace"
)

// sseStream is an open /api/v1/realtime/sse stream; lines arrive on a
// channel so tests can wait with a deadline.
type sseStream struct {
	lines chan string
	done  chan struct{}
}

func openSSE(t *testing.T, s *api, token string, topics ...string) (*sseStream, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u := s.base + "/api/v1/realtime/sse?topics=" + url.QueryEscape(strings.Join(topics, ",")) + "&access_token=" + url.QueryEscape(token)
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	st := &sseStream{lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			st.lines <- sc.Text()
		}
	}()
	return st, 200
}

// waitFor reads until a line contains want, or fails after 5 s.
func (st *sseStream) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l := <-st.lines:
			if strings.Contains(l, want) {
				return
			}
		case <-st.done:
			// Lines read before the end may still be queued.
			for {
				select {
				case l := <-st.lines:
					if strings.Contains(l, want) {
						return
					}
				default:
					t.Fatalf("stream ended before %q", want)
				}
			}
		case <-deadline:
			t.Fatalf("no %q within 5 s", want)
		}
	}
}

func TestRealtimeWorkspaceEventsAndBans(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		root, ann, mallory := s.signUp("Root"), s.signUp("Ann"), s.signUp("Mallory")
		var ws workspace.Workspace
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme", "slug": "acme-live"}).JSON(t, &ws)

		// Topics are checked: only one's own user topic, only one's workspaces.
		if _, code := openSSE(t, s, mallory.Access, "workspace:"+ws.ID); code != 403 {
			t.Fatalf("outsider on the workspace topic: %d", code)
		}
		if _, code := openSSE(t, s, mallory.Access, "user:"+ann.ID); code != 403 {
			t.Fatalf("someone else's user topic: %d", code)
		}
		if _, code := openSSE(t, s, "garbage", "user:"+ann.ID); code != 401 {
			t.Fatalf("bad token: %d", code)
		}
		// Refusals use the API's error shape.
		if r := s.do("GET", "/api/v1/realtime/sse?topics=workspace:"+ws.ID, mallory.Access, nil); r.Status != 403 || r.Code() != "FORBIDDEN" {
			t.Fatalf("refusal: %s", r)
		}
		if r := s.do("GET", "/api/v1/realtime/sse?topics=", mallory.Access, nil); r.Status != 400 || r.Code() != "VALIDATION_ERROR" {
			t.Fatalf("no topics: %s", r)
		}
		st, code := openSSE(t, s, ann.Access, "workspace:"+ws.ID, "user:"+ann.ID)
		if code != 200 {
			t.Fatalf("ann's stream: %d", code)
		}
		// Changes arrive live.
		s.must(200, "PATCH", "/api/v1/workspaces/"+ws.ID, ann.Access, map[string]string{"name": "Acme Live"})
		st.waitFor(t, "event: workspace.updated")
		st.waitFor(t, "Acme Live")
		s.must(200, "PUT", "/api/v1/users/me/status", ann.Access, map[string]string{"emoji": "🌴", "text": "Out"})
		st.waitFor(t, "event: user.status_changed")

		// A ban closes her streams within 5 s.
		s.must(200, "POST", "/api/v1/admin/users/"+ann.ID+"/ban", root.Access, nil)
		st.waitFor(t, "banned")
		select {
		case <-st.done:
		case <-time.After(5 * time.Second):
			t.Fatal("a banned user's stream is still open after 5 s")
		}
		if _, code := openSSE(t, s, ann.Access, "user:"+ann.ID); code != 403 {
			t.Fatalf("banned user reconnects: %d", code)
		}
	})
}
