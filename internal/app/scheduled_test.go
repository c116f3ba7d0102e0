package app

import (
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/message"
)

// waitHistory polls a channel until it holds n top-level messages.
func waitHistory(t *testing.T, s *api, u user, channelID string, n int) []message.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var h struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+channelID+"/messages", u.Access, nil).JSON(t, &h)
		if len(h.Items) >= n || time.Now().After(deadline) {
			return h.Items
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScheduledMessagesAndReminders(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-sched")
		at := s.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		var it message.Scheduled
		s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/scheduled", tm.ann.Access, map[string]string{"text": "Good morning!", "at": at}).JSON(t, &it)
		var later message.Scheduled
		s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/scheduled", tm.ann.Access, map[string]string{"text": "never", "at": at}).JSON(t, &later)
		s.must(204, "DELETE", "/api/v1/scheduled/"+later.ID, tm.ann.Access, nil)
		s.must(404, "DELETE", "/api/v1/scheduled/"+it.ID, tm.bob.Access, nil)
		for _, bad := range []string{"2000-01-01T00:00:00Z", s.clock.Now().Add(200 * 24 * time.Hour).UTC().Format(time.RFC3339)} {
			s.must(400, "POST", "/api/v1/channels/"+tm.general.ID+"/scheduled", tm.ann.Access, map[string]string{"text": "x", "at": bad})
		}
		var waiting struct{ Items []message.Scheduled }
		s.must(200, "GET", "/api/v1/users/me/scheduled", tm.ann.Access, nil).JSON(t, &waiting)
		if len(waiting.Items) != 1 || waiting.Items[0].ID != it.ID {
			t.Fatalf("waiting: %+v", waiting.Items)
		}
		// Not before its time...
		time.Sleep(600 * time.Millisecond)
		if h := waitHistory(t, s, tm.bob, tm.general.ID, 0); len(h) != 0 {
			t.Fatalf("sent early: %+v", h)
		}
		// ...then exactly once.
		note := post(t, s, tm.bob, tm.general.ID, "remind me of this")
		var rem message.Scheduled
		s.must(201, "POST", "/api/v1/messages/"+note.ID+"/reminders", tm.bob.Access, map[string]string{"at": at}).JSON(t, &rem)
		st, code := openSSE(t, s, tm.bob.Access, "user:"+tm.bob.ID)
		if code != 200 {
			t.Fatalf("stream: %d", code)
		}
		s.clock.Add(time.Hour + time.Second)
		s.login(&tm.bob) // an hour on, his access token has expired
		s.login(&tm.ann)
		if h := waitHistory(t, s, tm.bob, tm.general.ID, 2); len(h) < 2 {
			t.Fatalf("not sent 5 s after the due time: %+v", h)
		}
		time.Sleep(600 * time.Millisecond) // a second worker pass must not send it again
		h := waitHistory(t, s, tm.bob, tm.general.ID, 0)
		if len(h) != 2 || h[1].Text != "Good morning!" || h[1].AuthorID != tm.ann.ID {
			t.Fatalf("after the due time: %+v", h)
		}
		st.waitFor(t, "event: reminder")
		st.waitFor(t, "remind me of this")
		s.must(200, "GET", "/api/v1/users/me/scheduled", tm.ann.Access, nil).JSON(t, &waiting)
		if len(waiting.Items) != 0 {
			t.Fatalf("still waiting: %+v", waiting.Items)
		}
	})
}

// Two workers (two nodes) racing over the same items deliver each once.
func TestScheduledRunsOnceWithTwoWorkers(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-twice")
		at := s.clock.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		for range 20 {
			s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/scheduled", tm.ann.Access, map[string]string{"text": "tick", "at": at})
		}
		other := message.New(s.run.app.deps.DB, testLogger(t), s.run.app.deps.Identity.Access, s.run.app.deps.Identity.Channels, s.clock.Now)
		s.clock.Add(2 * time.Minute)
		s.login(&tm.bob)
		done := make(chan int, 8)
		for range 8 {
			go func() {
				n, _ := other.RunDue(t.Context())
				done <- n
			}()
		}
		total := 0
		for range 8 {
			total += <-done
		}
		h := waitHistory(t, s, tm.bob, tm.general.ID, 20)
		time.Sleep(600 * time.Millisecond)
		var all struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages?limit=100", tm.bob.Access, nil).JSON(t, &all)
		if len(h) < 20 || len(all.Items) != 20 {
			t.Fatalf("%d messages for 20 scheduled (extra workers did %d)", len(all.Items), total)
		}
	})
}
