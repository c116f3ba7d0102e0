package app

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/search"
)

func find(t *testing.T, s *api, u user, wsID, q string, extra ...string) []search.Result {
	t.Helper()
	path := "/api/v1/search?workspaceId=" + wsID + "&q=" + url.QueryEscape(q) + strings.Join(extra, "")
	var res struct{ Items []search.Result }
	s.must(200, "GET", path, u.Access, nil).JSON(t, &res)
	return res.Items
}

func texts(rs []search.Result) []string {
	var out []string
	for _, r := range rs {
		if r.Message != nil {
			out = append(out, r.Message.Text)
		}
	}
	return out
}

func TestSearchMessages(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-search")
		var dm, secret, random channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "random"}).JSON(t, &random)
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "board", "type": "private"}).JSON(t, &secret)
		s.must(200, "POST", "/api/v1/dms", tm.ann.Access, map[string]any{"userIds": []string{tm.bob.ID}}).JSON(t, &dm)

		launch := post(t, s, tm.ann, tm.general.ID, "The launch plan for Q3 is ready: https://example.com/plan")
		s.clock.Add(48 * time.Hour)
		s.login(&tm.ann)
		s.login(&tm.bob)
		post(t, s, tm.bob, tm.general.ID, "launch party planning")
		draft := post(t, s, tm.bob, tm.general.ID, "draft of the launch notes")
		post(t, s, tm.ann, secret.ID, "secret launch budget")
		post(t, s, tm.ann, dm.ID, "launch retro in our DM")
		s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, map[string]string{"text": "reply about launch", "threadId": launch.ID})
		s.must(200, "POST", "/api/v1/messages/"+draft.ID+"/reactions", tm.ann.Access, map[string]string{"emoji": "👍"})
		s.must(204, "POST", "/api/v1/messages/"+launch.ID+"/pin", tm.ann.Access, nil)

		if got := texts(find(t, s, tm.bob, tm.ws.ID, "launch")); len(got) != 5 {
			t.Fatalf("bob's launch results (5 visible): %q", got)
		}
		// "plans" finds "plan" and "planning" (stemming), newest first.
		stemmed := find(t, s, tm.bob, tm.ws.ID, "plans")
		if len(stemmed) != 2 || stemmed[1].Message.ID != launch.ID || len(stemmed[1].Highlights) == 0 {
			t.Fatalf("stemmed search: %q", texts(stemmed))
		}
		r := stemmed[1]
		if w := []rune(r.Message.Text)[r.Highlights[0][0]:r.Highlights[0][1]]; strings.ToLower(string(w)) != "plan" {
			t.Fatalf("highlight marks %q", string(w))
		}
		cases := map[string]int{
			`"launch plan"`:      1,
			`launch -draft`:      4,
			`launch from:@Bob`:   3,
			`launch in:#general`: 4,
			`launch in:@Bob`:     1,
			`has:link`:           1,
			`has:reaction`:       1,
			`is:thread launch`:   2,
			`is:pinned`:          1,
			`launch has:file`:    0,
			`launch before:` + s.clock.Now().Add(-24*time.Hour).UTC().Format("2006-01-02"): 1,
			`launch on:` + s.clock.Now().UTC().Format("2006-01-02"):                        4,
		}
		for q, want := range cases {
			if got := texts(find(t, s, tm.bob, tm.ws.ID, q)); len(got) != want {
				t.Errorf("%s: %d results %q, want %d", q, len(got), got, want)
			}
		}
		// Private content never shows, not even its highlights.
		for _, res := range find(t, s, tm.bob, tm.ws.ID, "secret budget") {
			t.Fatalf("a non-member found %+v", res)
		}
		if got := texts(find(t, s, tm.ann, tm.ws.ID, "secret budget")); len(got) != 1 {
			t.Fatalf("a member cannot find her private message: %q", got)
		}
		// Edits and deletes show in the next search.
		s.must(200, "PATCH", "/api/v1/messages/"+draft.ID, tm.bob.Access, map[string]string{"text": "final version of the notes"})
		if len(find(t, s, tm.bob, tm.ws.ID, "draft")) != 0 || len(find(t, s, tm.bob, tm.ws.ID, "final version")) != 1 {
			t.Fatal("an edit is not reflected in search")
		}
		s.must(204, "DELETE", "/api/v1/messages/"+draft.ID, tm.bob.Access, nil)
		if len(find(t, s, tm.bob, tm.ws.ID, "final version")) != 0 {
			t.Fatal("a deleted message is still found")
		}
		// Paging: newest first, no repeats.
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			var page struct {
				Items      []search.Result
				NextCursor string
			}
			q := "/api/v1/search?workspaceId=" + tm.ws.ID + "&q=launch&limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			s.must(200, "GET", q, tm.bob.Access, nil).JSON(t, &page)
			for _, r := range page.Items {
				if seen[r.Message.ID] {
					t.Fatalf("page repeats %s", r.Message.ID)
				}
				seen[r.Message.ID] = true
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 4 {
			t.Fatalf("paged through %d results, want 4", len(seen))
		}
		if got := find(t, s, tm.bob, tm.ws.ID, "launch", "&sort=relevance"); len(got) != 4 {
			t.Fatalf("relevance order: %d results", len(got))
		}
		// Channels and people.
		if got := find(t, s, tm.bob, tm.ws.ID, "rand", "&type=channels"); len(got) != 1 || got[0].Channel.Name != "random" {
			t.Fatalf("channel search: %+v", got)
		}
		if got := find(t, s, tm.bob, tm.ws.ID, "boa", "&type=channels"); len(got) != 0 {
			t.Fatalf("a private channel found by a non-member: %+v", got)
		}
		if got := find(t, s, tm.bob, tm.ws.ID, "an", "&type=users"); len(got) != 1 || got[0].User.ID != tm.ann.ID {
			t.Fatalf("people search: %+v", got)
		}
		// Bad input is a clear 400.
		for _, bad := range []string{`"unclosed`, `from:bob`, `on:yesterday`, ``} {
			r := s.do("GET", "/api/v1/search?workspaceId="+tm.ws.ID+"&q="+url.QueryEscape(bad), tm.bob.Access, nil)
			if r.Status != 400 || r.Code() != "VALIDATION_ERROR" {
				t.Errorf("q=%q: %s", bad, r)
			}
		}
		s.must(400, "GET", "/api/v1/search?q=x", tm.bob.Access, nil)
		outsider := s.signUp("Mallory")
		s.must(404, "GET", "/api/v1/search?workspaceId="+tm.ws.ID+"&q=launch", outsider.Access, nil)
	})
}
