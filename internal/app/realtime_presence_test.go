package app

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// openWS connects to /api/v1/realtime/ws on topics; the socket closes when
// the test ends.
func openWS(t *testing.T, s *api, token string, topics string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + s.base[len("http"):] + "/api/v1/realtime/ws?topics=" + url.QueryEscape(topics) + "&access_token=" + url.QueryEscape(token)
	ws, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	// Read in the background so pings are answered.
	go func() {
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return ws
}

// Presence and typing reach the people who share the workspace or
// channel, live; a lookup shows only people one shares a workspace with.
func TestPresenceAndTyping(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-presence")
		stranger := s.signUp("Stranger")
		watch, code := openSSE(t, s, tm.bob.Access, "workspace:"+tm.ws.ID, "channel:"+tm.general.ID)
		if code != 200 {
			t.Fatalf("bob's stream: %d", code)
		}

		ann := openWS(t, s, tm.ann.Access, "channel:"+tm.general.ID)
		watch.waitFor(t, "event: presence.updated")
		watch.waitFor(t, `"status":"online"`)
		var got struct {
			Items []PresenceState `json:"items"`
		}
		s.must(200, "GET", "/api/v1/presence?users="+tm.ann.ID+","+stranger.ID, tm.bob.Access, nil).JSON(t, &got)
		if len(got.Items) != 1 || got.Items[0].UserID != tm.ann.ID || got.Items[0].Status != "online" {
			t.Fatalf("bob looks up ann and a stranger: %+v", got.Items)
		}
		s.must(200, "GET", "/api/v1/presence?users="+tm.ann.ID, stranger.Access, nil).JSON(t, &got)
		if len(got.Items) != 0 {
			t.Fatalf("a stranger sees ann's presence: %+v", got.Items)
		}

		// Typing on a topic she follows reaches bob; it is a signal, with
		// no offset.
		if err := ann.Write(context.Background(), websocket.MessageText, []byte(`{"type":"typing","topic":"channel:`+tm.general.ID+`"}`)); err != nil {
			t.Fatal(err)
		}
		watch.waitFor(t, "event: typing")
		watch.waitFor(t, `"userId":"`+tm.ann.ID+`"`)

		// A chosen status shows as chosen; invisible shows as offline.
		s.must(200, "PUT", "/api/v1/users/me/presence", tm.ann.Access, map[string]string{"status": "dnd"})
		watch.waitFor(t, `"status":"dnd"`)
		if r := s.do("PUT", "/api/v1/users/me/presence", tm.ann.Access, map[string]string{"status": "asleep"}); r.Status != 400 || r.Code() != "VALIDATION_ERROR" {
			t.Fatalf("an unknown status: %s", r)
		}
		s.must(200, "PUT", "/api/v1/users/me/presence", tm.ann.Access, map[string]string{"status": "invisible"})
		watch.waitFor(t, `"status":"offline"`)
		s.must(200, "PUT", "/api/v1/users/me/presence", tm.ann.Access, map[string]string{"status": "auto"})
		watch.waitFor(t, `"status":"online"`)

		// Offline a minute after her last connection closes.
		// The clock moves a minute at a time until the server, having
		// seen the close, counts her out.
		ann.Close(websocket.StatusNormalClosure, "bye")
		for i := 0; ; i++ {
			s.must(200, "GET", "/api/v1/presence?users="+tm.ann.ID, tm.bob.Access, nil).JSON(t, &got)
			if got.Items[0].Status == "offline" {
				break
			}
			if i == 100 {
				t.Fatalf("ann is %s after 100 minutes without a connection", got.Items[0].Status)
			}
			s.clock.Add(61 * time.Second)
			time.Sleep(20 * time.Millisecond)
		}
		watch.waitFor(t, `"status":"offline"`)
		if r := s.do("GET", "/api/v1/presence?users=", tm.bob.Access, nil); r.Status != 400 {
			t.Fatalf("empty lookup: %s", r)
		}
	})
}
