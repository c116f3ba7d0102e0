package app

import (
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/message"
)

func sidebar(t *testing.T, s *api, u user, wsID string) message.SidebarResponse {
	t.Helper()
	var sb message.SidebarResponse
	s.must(200, "GET", "/api/v1/workspaces/"+wsID+"/sidebar", u.Access, nil).JSON(t, &sb)
	return sb
}

func counts(sb message.SidebarResponse, channelID string) (unread, mentions int) {
	for _, c := range sb.Items {
		if c.ChannelID == channelID {
			return c.UnreadCount, c.MentionCount
		}
	}
	return -1, -1
}

func TestReactions(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-react")
		m := post(t, s, tm.ann, tm.general.ID, "ship it")
		path := "/api/v1/messages/" + m.ID + "/reactions"
		var got message.Message
		for range 2 { // adding twice is a no-op
			s.must(200, "POST", path, tm.bob.Access, map[string]string{"emoji": "👍"}).JSON(t, &got)
		}
		s.clock.Add(time.Millisecond)
		s.must(200, "POST", path, tm.ann.Access, map[string]string{"emoji": "👍"})
		s.clock.Add(time.Millisecond)
		s.must(200, "POST", path, tm.ann.Access, map[string]string{"emoji": ":tada:"}).JSON(t, &got)
		// In the order they were first used, each with its people in order.
		if len(got.Reactions) != 2 || got.Reactions[0].Emoji != "👍" || got.Reactions[0].Count != 2 ||
			got.Reactions[0].Users[0] != tm.bob.ID || got.Reactions[1].Users[0] != tm.ann.ID {
			t.Fatalf("reactions: %+v", got.Reactions)
		}
		var hist struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, nil).JSON(t, &hist)
		if len(hist.Items[0].Reactions) != 2 {
			t.Fatalf("history lacks reactions: %+v", hist.Items[0])
		}
		s.must(200, "DELETE", path+"?emoji=%F0%9F%91%8D", tm.bob.Access, nil).JSON(t, &got)
		if got.Reactions[0].Count != 1 {
			t.Fatalf("after removing: %+v", got.Reactions)
		}
		s.must(200, "DELETE", path, tm.bob.Access, map[string]string{"emoji": "👍"}) // removing twice is a no-op
		for _, bad := range []string{"", "<b>", "thumbs", ":no spaces:"} {
			if r := s.do("POST", path, tm.bob.Access, map[string]string{"emoji": bad}); r.Status != 400 {
				t.Errorf("emoji %q: %s", bad, r)
			}
		}
	})
}

func TestUnreadAndMentionCounts(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-unread")
		post(t, s, tm.ann, tm.general.ID, "one")
		post(t, s, tm.ann, tm.general.ID, "hey <@"+tm.bob.ID+"> look")
		post(t, s, tm.ann, tm.general.ID, "@here standup")
		last := post(t, s, tm.ann, tm.general.ID, "`<@"+tm.bob.ID+">` in code is no mention")
		if u, m := counts(sidebar(t, s, tm.bob, tm.ws.ID), tm.general.ID); u != 4 || m != 2 {
			t.Fatalf("bob: unread %d mentions %d, want 4 and 2", u, m)
		}
		// Own messages are read; the author's counts stay zero.
		if u, m := counts(sidebar(t, s, tm.ann, tm.ws.ID), tm.general.ID); u != 0 || m != 0 {
			t.Fatalf("ann: unread %d mentions %d", u, m)
		}
		var st message.ReadState
		s.must(200, "POST", "/api/v1/channels/"+tm.general.ID+"/read", tm.bob.Access, map[string]string{"messageId": last.ID}).JSON(t, &st)
		if st.UnreadCount != 0 || st.MentionCount != 0 {
			t.Fatalf("after reading: %+v", st)
		}
		// Reading never moves backwards by accident; "mark unread" does.
		first := struct{ Items []message.Message }{}
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages?after=start&limit=1", tm.bob.Access, nil).JSON(t, &first)
		s.must(200, "POST", "/api/v1/channels/"+tm.general.ID+"/read", tm.bob.Access, map[string]string{"messageId": first.Items[0].ID}).JSON(t, &st)
		if st.UnreadCount != 0 {
			t.Fatalf("an older read position moved back: %+v", st)
		}
		s.must(200, "POST", "/api/v1/channels/"+tm.general.ID+"/read", tm.bob.Access, map[string]any{"messageId": first.Items[0].ID, "unread": true}).JSON(t, &st)
		if st.UnreadCount != 4 || st.MentionCount != 2 {
			t.Fatalf("marked unread: %+v", st)
		}
		// Deleting a message takes it out of the counts.
		s.must(204, "DELETE", "/api/v1/messages/"+last.ID, tm.ann.Access, nil)
		if u, _ := counts(sidebar(t, s, tm.bob, tm.ws.ID), tm.general.ID); u != 3 {
			t.Fatalf("after a delete: unread %d", u)
		}
		// Counts stay right while many write at once.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 10 {
					s.do("POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.ann.Access, map[string]string{"text": "busy <@" + tm.bob.ID + ">"})
				}
			})
		}
		wg.Wait()
		sb := sidebar(t, s, tm.bob, tm.ws.ID)
		if u, m := counts(sb, tm.general.ID); u != 43 || m != 42 || sb.Totals.UnreadCount != 43 {
			t.Fatalf("after 40 concurrent: unread %d mentions %d totals %+v", u, m, sb.Totals)
		}
		// Private channels never show up in someone else's counts.
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "hidden", "type": "private"})
		if len(sidebar(t, s, tm.bob, tm.ws.ID).Items) != 1 {
			t.Fatal("a private channel appears in a non-member's sidebar")
		}
	})
}
