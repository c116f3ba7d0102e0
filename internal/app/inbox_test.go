package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/inbox"
)

func notifications(t *testing.T, s *api, u user) []inbox.Notification {
	t.Helper()
	var l struct{ Items []inbox.Notification }
	s.must(200, "GET", "/api/v1/notifications", u.Access, nil).JSON(t, &l)
	return l.Items
}

func unread(t *testing.T, s *api, u user) int {
	t.Helper()
	var c inbox.UnreadCountResponse
	s.must(200, "GET", "/api/v1/notifications/unread-count", u.Access, nil).JSON(t, &c)
	return c.Count
}

func TestNotificationInbox(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-inbox")
		cat := s.signUp("Cat")
		joinWorkspace(t, s, tm.ann, cat, tm.ws.ID, "member")
		st, code := openSSE(t, s, tm.bob.Access, "user:"+tm.bob.ID)
		if code != 200 {
			t.Fatalf("stream: %d", code)
		}
		// A mention, live and in the inbox; the author gets nothing.
		post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> can you review?")
		st.waitFor(t, "event: notification.created")
		got := notifications(t, s, tm.bob)
		if len(got) != 1 || got[0].Kind != inbox.Mention || got[0].ActorID != tm.ann.ID || got[0].Snippet != "<@"+tm.bob.ID+"> can you review?" {
			t.Fatalf("bob's inbox: %+v", got)
		}
		if len(notifications(t, s, tm.ann)) != 0 {
			t.Fatal("the author was notified of their own message")
		}
		// DMs notify; @channel notifies everyone not muted.
		var dm channel.Channel
		s.must(200, "POST", "/api/v1/dms", cat.Access, map[string]any{"userIds": []string{tm.bob.ID}}).JSON(t, &dm)
		post(t, s, cat, dm.ID, "lunch?")
		s.must(200, "PATCH", "/api/v1/channels/"+tm.general.ID+"/preferences", cat.Access, map[string]any{"muted": true})
		post(t, s, tm.ann, tm.general.ID, "@channel all hands at 3")
		if n := unread(t, s, tm.bob); n != 3 {
			t.Fatalf("bob unread %d, want 3 (mention, dm, broadcast)", n)
		}
		if got := notifications(t, s, cat); len(got) != 0 {
			t.Fatalf("muted channel's @channel reached cat: %+v", got)
		}
		// Thread replies reach followers.
		root := post(t, s, tm.bob, tm.general.ID, "release notes draft")
		s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.ann.Access, map[string]string{"text": "looks good", "threadId": root.ID})
		got = notifications(t, s, tm.bob)
		if len(got) != 4 || got[0].Kind != inbox.ThreadReply || got[0].ThreadID != root.ID {
			t.Fatalf("after a reply: %+v", got)
		}
		// Mark one, then all, read.
		s.must(204, "POST", "/api/v1/notifications/"+got[0].ID+"/read", tm.bob.Access, nil)
		if n := unread(t, s, tm.bob); n != 3 {
			t.Fatalf("unread after one read: %d", n)
		}
		s.must(404, "POST", "/api/v1/notifications/"+got[1].ID+"/read", tm.ann.Access, nil)
		s.must(204, "POST", "/api/v1/notifications/read-all", tm.bob.Access, nil)
		if n := unread(t, s, tm.bob); n != 0 {
			t.Fatalf("unread after read-all: %d", n)
		}
		var onlyUnread struct{ Items []inbox.Notification }
		s.must(200, "GET", "/api/v1/notifications?unread=true", tm.bob.Access, nil).JSON(t, &onlyUnread)
		if len(onlyUnread.Items) != 0 {
			t.Fatalf("unread filter: %+v", onlyUnread.Items)
		}
		s.must(400, "GET", "/api/v1/notifications?unread=maybe", tm.bob.Access, nil)

		// Private channels notify nobody outside them, even when named.
		var secret channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "hr", "type": "private"}).JSON(t, &secret)
		post(t, s, tm.ann, secret.ID, "about <@"+cat.ID+">: @channel")
		if got := notifications(t, s, cat); len(got) != 0 {
			t.Fatalf("a private channel's message reached a non-member: %+v", got)
		}
		// Keywords: whole words, any case, only in channels one is in.
		s.must(200, "PUT", "/api/v1/users/me/settings", cat.Access, `{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily","keywords":["Outage","release train"]}}`)
		post(t, s, tm.ann, tm.general.ID, "outage while muted")
		if got := notifications(t, s, cat); len(got) != 0 {
			t.Fatalf("a keyword in a muted channel notified: %+v", got)
		}
		s.must(200, "PATCH", "/api/v1/channels/"+tm.general.ID+"/preferences", cat.Access, map[string]any{"muted": false})
		post(t, s, tm.ann, tm.general.ID, "We have an OUTAGE in eu-west")
		post(t, s, tm.ann, tm.general.ID, "outages happen; the release is on the train")
		post(t, s, tm.ann, secret.ID, "outage postmortem (private)")
		got = notifications(t, s, cat)
		if len(got) != 1 || got[0].Kind != inbox.Keyword || !strings.Contains(got[0].Snippet, "OUTAGE") {
			t.Fatalf("keyword notifications: %+v", got)
		}
		r := s.do("PUT", "/api/v1/users/me/settings", cat.Access, `{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily","keywords":["x"]}}`)
		if r.Status != 400 || !strings.Contains(r.Body, "keywords") {
			t.Fatalf("one-letter keyword: %s", r)
		}
		// Level "none" silences mentions in that channel.
		s.must(200, "PATCH", "/api/v1/channels/"+tm.general.ID+"/preferences", tm.bob.Access, map[string]any{"notificationLevel": "none"})
		post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> ping")
		if n := unread(t, s, tm.bob); n != 0 {
			t.Fatalf("level none still notifies: %d", n)
		}
	})
}

func mailsTo(t *testing.T, s *api, addr, subject string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "mail", "*.eml"))
	n := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "To: "+addr+"\r\n") && strings.Contains(string(b), subject) {
			n++
		}
	}
	return n
}

func TestEmailDigestForPeopleAway(t *testing.T) {
	old := digestInterval
	digestInterval = 100 * time.Millisecond
	t.Cleanup(func() { digestInterval = old })
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-digest")
		cat := s.signUp("Cat")
		joinWorkspace(t, s, tm.ann, cat, tm.ws.ID, "member")
		s.must(200, "PUT", "/api/v1/users/me/settings", cat.Access, `{"notifications":{"desktop":"all","mobile":"all","email":"none","emailDigest":"daily"}}`)
		post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> <@"+cat.ID+"> the contract needs your signature")
		time.Sleep(400 * time.Millisecond)
		if n := mailsTo(t, s, tm.bob.Email, "unread on QuikApp"); n != 0 {
			t.Fatal("a digest went out before the delay")
		}
		s.clock.Add(31 * time.Minute) // everyone has been away half an hour
		deadline := time.Now().Add(5 * time.Second)
		for mailsTo(t, s, tm.bob.Email, "1 unread on QuikApp") == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := mailsTo(t, s, tm.bob.Email, "1 unread on QuikApp"); n != 1 {
			t.Fatalf("bob got %d digests, want 1", n)
		}
		time.Sleep(400 * time.Millisecond)
		if n := mailsTo(t, s, tm.bob.Email, "unread on QuikApp"); n != 1 {
			t.Fatalf("bob got %d digests after more rounds, want still 1", n)
		}
		if n := mailsTo(t, s, cat.Email, "unread on QuikApp"); n != 0 {
			t.Fatal("a digest reached someone whose email setting is none")
		}
		// Someone who is around gets no email.
		s.login(&tm.bob)
		post(t, s, tm.bob, tm.general.ID, "<@"+tm.ann.ID+"> done")
		// Her notification becomes due while she was active 11 minutes ago
		// (at no moment is it both due and her away).
		s.clock.Add(20 * time.Minute)
		s.login(&tm.ann)
		s.clock.Add(11 * time.Minute)
		time.Sleep(400 * time.Millisecond)
		if n := mailsTo(t, s, tm.ann.Email, "unread on QuikApp"); n != 0 {
			t.Fatal("a digest reached someone who is active")
		}
	})
}
