package app

import (
	"testing"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/message"
)

func TestPinsSavedAndBookmarks(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-pins")
		m := post(t, s, tm.ann, tm.general.ID, "the plan")
		s.must(204, "POST", "/api/v1/messages/"+m.ID+"/pin", tm.bob.Access, nil)
		s.must(204, "POST", "/api/v1/messages/"+m.ID+"/pin", tm.bob.Access, nil)
		var pins struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/pins", tm.ann.Access, nil).JSON(t, &pins)
		if len(pins.Items) != 1 || pins.Items[0].ID != m.ID {
			t.Fatalf("pins: %+v", pins.Items)
		}
		s.must(204, "DELETE", "/api/v1/messages/"+m.ID+"/pin", tm.ann.Access, nil)
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/pins", tm.ann.Access, nil).JSON(t, &pins)
		if len(pins.Items) != 0 {
			t.Fatal("unpinned message still pinned")
		}

		// Saved items are one's own, and leave with the channel.
		var secret channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "inner", "type": "private"}).JSON(t, &secret)
		s.must(204, "POST", "/api/v1/channels/"+secret.ID+"/members", tm.ann.Access, map[string][]string{"userIds": {tm.bob.ID}})
		hidden := post(t, s, tm.ann, secret.ID, "inner circle")
		s.must(204, "POST", "/api/v1/messages/"+m.ID+"/save", tm.bob.Access, nil)
		s.must(204, "POST", "/api/v1/messages/"+hidden.ID+"/save", tm.bob.Access, nil)
		var saved struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/users/me/saved", tm.bob.Access, nil).JSON(t, &saved)
		if len(saved.Items) != 2 {
			t.Fatalf("saved: %+v", saved.Items)
		}
		s.must(204, "POST", "/api/v1/channels/"+secret.ID+"/leave", tm.bob.Access, nil)
		s.must(200, "GET", "/api/v1/users/me/saved", tm.bob.Access, nil).JSON(t, &saved)
		if len(saved.Items) != 1 || saved.Items[0].ID != m.ID {
			t.Fatalf("saved after leaving: %+v", saved.Items)
		}
		s.must(200, "GET", "/api/v1/users/me/saved", tm.ann.Access, nil).JSON(t, &saved)
		if len(saved.Items) != 0 {
			t.Fatal("someone else's saved items")
		}

		var b message.Bookmark
		s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/bookmarks", tm.bob.Access, map[string]string{"title": "Roadmap", "url": "https://example.com/roadmap"}).JSON(t, &b)
		for _, bad := range []string{"javascript:alert(1)", "ftp://x", "https://", ""} {
			if r := s.do("POST", "/api/v1/channels/"+tm.general.ID+"/bookmarks", tm.bob.Access, map[string]string{"title": "x", "url": bad}); r.Status != 400 {
				t.Errorf("bookmark %q: %s", bad, r)
			}
		}
		var list struct{ Items []message.Bookmark }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/bookmarks", tm.ann.Access, nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].URL != "https://example.com/roadmap" {
			t.Fatalf("bookmarks: %+v", list.Items)
		}
		s.must(204, "DELETE", "/api/v1/channels/"+tm.general.ID+"/bookmarks/"+b.ID, tm.ann.Access, nil)
		s.must(404, "DELETE", "/api/v1/channels/"+tm.general.ID+"/bookmarks/"+b.ID, tm.ann.Access, nil)
	})
}

func TestThreadFollowing(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-follow")
		cat := s.signUp("Cat")
		joinWorkspace(t, s, tm.ann, cat, tm.ws.ID, "member")
		root := post(t, s, tm.ann, tm.general.ID, "Who is in for the offsite?")
		reply := func(u user, text string, also bool) {
			s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", u.Access, map[string]any{"text": text, "threadId": root.ID, "alsoInChannel": also})
		}
		reply(tm.bob, "me! <@"+cat.ID+">?", false) // bob follows by replying, ann by starting, cat by being named
		threads := func(u user) []message.ThreadSummary {
			var l struct{ Items []message.ThreadSummary }
			s.must(200, "GET", "/api/v1/workspaces/"+tm.ws.ID+"/threads", u.Access, nil).JSON(t, &l)
			return l.Items
		}
		for _, u := range []user{tm.ann, cat} {
			if l := threads(u); len(l) != 1 || l[0].Root.ID != root.ID || l[0].UnreadCount != 1 {
				t.Fatalf("threads of %s: %+v", u.Email, l)
			}
		}
		if l := threads(tm.bob); len(l) != 1 || l[0].UnreadCount != 0 {
			t.Fatalf("bob's own reply counts as unread: %+v", l)
		}
		s.must(204, "POST", "/api/v1/messages/"+root.ID+"/thread-read", tm.ann.Access, nil)
		s.must(204, "DELETE", "/api/v1/messages/"+root.ID+"/follow", cat.Access, nil)
		reply(tm.bob, "and I'll bring snacks", true)
		if l := threads(tm.ann); len(l) != 1 || l[0].UnreadCount != 1 {
			t.Fatalf("ann after a new reply: %+v", l)
		}
		if l := threads(cat); len(l) != 0 {
			t.Fatalf("an unfollowed thread is listed: %+v", l)
		}
		// "Also send to channel" shows the reply in the channel too.
		var hist struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages", tm.ann.Access, nil).JSON(t, &hist)
		if len(hist.Items) != 2 || !hist.Items[1].AlsoInChannel || hist.Items[1].ThreadID != root.ID {
			t.Fatalf("history: %+v", hist.Items)
		}
	})
}
