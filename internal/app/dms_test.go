package app

import (
	"slices"
	"testing"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/message"
)

func TestDirectMessages(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-dms")
		cat, dan, eve := s.signUp("Cat"), s.signUp("Dan"), s.signUp("Eve")
		for _, u := range []user{cat, dan} {
			joinWorkspace(t, s, tm.ann, u, tm.ws.ID, "member")
		}
		var dm, again channel.Channel
		s.must(200, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{tm.bob.ID}}).JSON(t, &dm)
		s.must(200, "POST", "/api/v1/dms", tm.bob.Access, map[string]any{"userIds": []string{tm.ann.ID}, "workspaceId": tm.ws.ID}).JSON(t, &again)
		if dm.ID == "" || dm.Type != "dm" || again.ID != dm.ID || dm.MemberCount != 2 {
			t.Fatalf("one DM per pair: %+v vs %+v", dm, again)
		}
		post(t, s, tm.bob, dm.ID, "psst")
		s.must(404, "GET", "/api/v1/channels/"+dm.ID+"/messages", cat.Access, nil)
		if u, _ := counts(sidebar(t, s, tm.ann, tm.ws.ID), dm.ID); u != 1 {
			t.Fatalf("DM unread in the sidebar: %d", u)
		}
		var group channel.Channel
		s.must(200, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{tm.bob.ID, cat.ID, dan.ID}}).JSON(t, &group)
		if group.Type != "group" || group.MemberCount != 4 {
			t.Fatalf("group DM: %+v", group)
		}
		var list struct{ Items []channel.Channel }
		s.must(200, "GET", "/api/v1/workspaces/"+tm.ws.ID+"/dms", cat.Access, nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != group.ID {
			t.Fatalf("cat's DMs: %+v", list.Items)
		}
		// Outsiders, too many people, and blocks are refused.
		s.must(400, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{eve.ID}})
		many := []string{tm.bob.ID, cat.ID, dan.ID, "a", "b", "c", "d", "e"}
		s.must(400, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": many})
		s.must(400, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{}})
		s.must(204, "POST", "/api/v1/users/me/blocks", dan.Access, map[string]string{"userId": tm.ann.ID})
		s.must(403, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{dan.ID}})
		// DMs are not channels one can rename or archive.
		s.must(400, "PATCH", "/api/v1/channels/"+dm.ID, tm.ann.Access, map[string]string{"name": "ours"})
		s.must(403, "POST", "/api/v1/channels/"+dm.ID+"/archive", tm.ann.Access, nil)
	})
}

func TestChannelSettings(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-settings")
		var proj channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.bob.Access, map[string]string{"name": "project"}).JSON(t, &proj)
		s.must(200, "POST", "/api/v1/channels/"+proj.ID+"/join", tm.ann.Access, nil)
		var c channel.Channel
		s.must(200, "PATCH", "/api/v1/channels/"+proj.ID, tm.ann.Access, map[string]string{"topic": "Ship v2", "purpose": "Everything v2"}).JSON(t, &c)
		if c.Topic != "Ship v2" || c.Purpose != "Everything v2" {
			t.Fatalf("topic: %+v", c)
		}
		carol := s.signUp("Carol")
		joinWorkspace(t, s, tm.ann, carol, tm.ws.ID, "member")
		s.must(200, "POST", "/api/v1/channels/"+proj.ID+"/join", carol.Access, nil)
		s.must(403, "PATCH", "/api/v1/channels/"+proj.ID, carol.Access, map[string]string{"name": "carols"}) // neither creator nor admin
		s.must(200, "PATCH", "/api/v1/channels/"+proj.ID, tm.bob.Access, map[string]string{"name": "project-v2"})
		s.must(409, "PATCH", "/api/v1/channels/"+proj.ID, tm.bob.Access, map[string]string{"name": "general"})
		s.must(400, "PATCH", "/api/v1/channels/"+tm.general.ID, tm.ann.Access, map[string]string{"name": "all"})
		// Archived channels are read-only.
		s.must(403, "POST", "/api/v1/channels/"+proj.ID+"/archive", carol.Access, nil)
		s.must(200, "POST", "/api/v1/channels/"+proj.ID+"/archive", tm.bob.Access, nil)
		s.must(409, "POST", "/api/v1/channels/"+proj.ID+"/messages", tm.bob.Access, map[string]string{"text": "anyone?"})
		s.must(200, "GET", "/api/v1/channels/"+proj.ID+"/messages", carol.Access, nil)
		s.must(200, "POST", "/api/v1/channels/"+proj.ID+"/unarchive", tm.ann.Access, nil) // admins may
		post(t, s, tm.bob, proj.ID, "back")
		s.must(403, "POST", "/api/v1/channels/"+tm.general.ID+"/archive", tm.ann.Access, nil)
		// Preferences are one's own.
		var p channel.Preferences
		s.must(200, "PATCH", "/api/v1/channels/"+proj.ID+"/preferences", carol.Access, map[string]any{"muted": true, "starred": true, "section": "Work", "notificationLevel": "mentions"}).JSON(t, &p)
		if !p.Muted || !p.Starred || p.Section != "Work" || p.NotificationLevel != "mentions" {
			t.Fatalf("preferences: %+v", p)
		}
		s.must(400, "PATCH", "/api/v1/channels/"+proj.ID+"/preferences", carol.Access, map[string]any{"notificationLevel": "loud"})
		s.must(200, "GET", "/api/v1/channels/"+proj.ID+"/preferences", tm.bob.Access, nil).JSON(t, &p)
		if p.Muted || p.Starred {
			t.Fatalf("someone else's preferences changed: %+v", p)
		}
		sb := sidebar(t, s, carol, tm.ws.ID)
		var row message.SidebarChannel
		for _, c := range sb.Items {
			if c.ChannelID == proj.ID {
				row = c
			}
		}
		if !row.Muted || !row.Starred || row.UnreadCount != 1 || sb.Totals.UnreadCount != 0 {
			t.Fatalf("sidebar: %+v totals %+v", row, sb.Totals)
		}
		var members struct{ Items []string }
		s.must(200, "GET", "/api/v1/channels/"+proj.ID+"/members", carol.Access, nil).JSON(t, &members)
		if len(members.Items) != 3 || !slices.Contains(members.Items, tm.bob.ID) || !slices.Contains(members.Items, carol.ID) {
			t.Fatalf("members: %v", members.Items)
		}
	})
}

func TestReadReceiptsInDMs(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-receipts")
		var dm channel.Channel
		s.must(200, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{tm.bob.ID}}).JSON(t, &dm)
		st, code := openSSE(t, s, tm.ann.Access, "channel:"+dm.ID)
		if code != 200 {
			t.Fatalf("stream: %d", code)
		}
		m := post(t, s, tm.ann, dm.ID, "seen this?")
		s.must(200, "POST", "/api/v1/channels/"+dm.ID+"/read", tm.bob.Access, map[string]string{"messageId": m.ID})
		st.waitFor(t, "event: read_receipt")
		var r struct{ Items []message.Receipt }
		s.must(200, "GET", "/api/v1/channels/"+dm.ID+"/read-receipts", tm.ann.Access, nil).JSON(t, &r)
		if len(r.Items) != 1 || r.Items[0].UserID != tm.bob.ID || r.Items[0].LastReadSeq != m.Seq {
			t.Fatalf("receipts: %+v", r.Items)
		}
		// Bob stops sharing them.
		s.must(200, "PUT", "/api/v1/users/me/settings", tm.bob.Access, `{"privacy":{"showPresence":true,"readReceipts":false,"allowDirectMessagesFromAnyone":true}}`)
		s.must(200, "GET", "/api/v1/channels/"+dm.ID+"/read-receipts", tm.ann.Access, nil).JSON(t, &r)
		if len(r.Items) != 0 {
			t.Fatalf("receipts after opting out: %+v", r.Items)
		}
		s.must(400, "GET", "/api/v1/channels/"+tm.general.ID+"/read-receipts", tm.ann.Access, nil)
	})
}
