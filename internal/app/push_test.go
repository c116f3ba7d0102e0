package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// recordingSender stands in for a push provider (the real ones are tested
// against local servers in their packages): it records what it is asked
// to send.
type recordingSender struct {
	mu   sync.Mutex
	sent []notify.Message
}

func (r *recordingSender) Provider() string { return "recording" }

func (r *recordingSender) Send(_ context.Context, m notify.Message) (notify.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return notify.Result{}, nil
}

func (r *recordingSender) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

func (r *recordingSender) waitFor(t *testing.T, n int) []notify.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) < n {
		t.Fatalf("%d pushes, want %d", len(r.sent), n)
	}
	return append([]notify.Message(nil), r.sent...)
}

func TestPushToDevices(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			mobile, web := &recordingSender{}, &recordingSender{}
			s := startAPIWith(t, driver, nil, func(a *App) {
				a.pushSenders = map[string]notify.Sender{notify.ChannelMobilePush: mobile, notify.ChannelWebPush: web}
			})
			tm := newTeam(t, s, "acme-push")
			iosToken := strings.Repeat("ab", 32)
			s.must(201, "POST", "/api/v1/users/me/devices", tm.bob.Access, map[string]string{"platform": "ios", "token": iosToken, "name": "iPhone"})
			s.must(201, "POST", "/api/v1/users/me/devices", tm.bob.Access, map[string]string{"platform": "web", "token": `{"endpoint":"https://push.example/x"}`})
			s.must(201, "POST", "/api/v1/users/me/devices", tm.ann.Access, map[string]string{"platform": "android", "token": "ann-fcm"})

			post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> your turn")
			got := mobile.waitFor(t, 1)
			if got[0].Destination != iosToken || got[0].Title != "You were mentioned" || !strings.Contains(got[0].Body, "your turn") {
				t.Fatalf("mobile push: %+v", got[0])
			}
			if w := web.waitFor(t, 1); w[0].Destination != `{"endpoint":"https://push.example/x"}` {
				t.Fatalf("web push: %+v", w[0])
			}
			time.Sleep(600 * time.Millisecond)
			if mobile.count() != 1 {
				t.Fatalf("%d mobile pushes for one mention (the author's device included?)", mobile.count())
			}
			// "mentions": thread replies do not buzz; "none": nothing does.
			root := post(t, s, tm.bob, tm.general.ID, "draft")
			s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.ann.Access, map[string]string{"text": "comment", "threadId": root.ID})
			time.Sleep(600 * time.Millisecond)
			if mobile.count() != 1 {
				t.Fatal("a thread reply buzzed with the mobile setting on mentions")
			}
			s.must(200, "PUT", "/api/v1/users/me/settings", tm.bob.Access, `{"notifications":{"desktop":"all","mobile":"none","email":"all","emailDigest":"daily"}}`)
			post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> again")
			time.Sleep(600 * time.Millisecond)
			if mobile.count() != 1 {
				t.Fatal("pushed although the mobile setting is none")
			}
			// Quiet hours hold pushes back.
			now := s.clock.Now().UTC()
			from, to := now.Add(-time.Hour).Format("15:04"), now.Add(time.Hour).Format("15:04")
			s.must(200, "PUT", "/api/v1/users/me/settings", tm.bob.Access, `{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily","quietFrom":"`+from+`","quietTo":"`+to+`"}}`)
			post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> at night")
			time.Sleep(600 * time.Millisecond)
			if mobile.count() != 1 {
				t.Fatal("pushed during quiet hours")
			}
			// Do not disturb pauses pushes until its time.
			until := s.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			s.must(200, "PUT", "/api/v1/users/me/settings", tm.bob.Access, `{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily","pausedUntil":"`+until+`"}}`)
			post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> urgent?")
			time.Sleep(600 * time.Millisecond)
			if mobile.count() != 1 {
				t.Fatal("pushed while paused")
			}
			s.must(200, "PUT", "/api/v1/users/me/settings", tm.bob.Access, `{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily"}}`)
			post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> now?")
			mobile.waitFor(t, 2)
		})
	}
}
