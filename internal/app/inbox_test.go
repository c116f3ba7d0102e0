package app

import (
	"testing"

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
		// Level "none" silences mentions in that channel.
		s.must(200, "PATCH", "/api/v1/channels/"+tm.general.ID+"/preferences", tm.bob.Access, map[string]any{"notificationLevel": "none"})
		post(t, s, tm.ann, tm.general.ID, "<@"+tm.bob.ID+"> ping")
		if n := unread(t, s, tm.bob); n != 0 {
			t.Fatalf("level none still notifies: %d", n)
		}
	})
}
