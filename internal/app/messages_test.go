package app

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/workspace"
)

// team is a workspace with an owner (Ann) and a member (Bob), both in
// #general.
type team struct {
	ws       workspace.Workspace
	ann, bob user
	general  channel.Channel
}

func newTeam(t *testing.T, s *api, slug string) team {
	t.Helper()
	s.signUp("Root")
	tm := team{ann: s.signUp("Ann"), bob: s.signUp("Bob")}
	s.must(201, "POST", "/api/v1/workspaces", tm.ann.Access, map[string]string{"name": "Acme", "slug": slug}).JSON(t, &tm.ws)
	joinWorkspace(t, s, tm.ann, tm.bob, tm.ws.ID, "member")
	tm.general = channelNames(t, s, tm.ann, tm.ws.ID)["general"]
	return tm
}

func post(t *testing.T, s *api, u user, channelID, text string) message.Message {
	t.Helper()
	var m message.Message
	s.must(201, "POST", "/api/v1/channels/"+channelID+"/messages", u.Access, map[string]string{"text": text}).JSON(t, &m)
	return m
}

func TestMessagesSendEditDelete(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-msg")
		ch := "/api/v1/channels/" + tm.general.ID + "/messages"
		var first message.Message
		s.must(201, "POST", ch, tm.ann.Access, map[string]string{"text": "Hello **team**", "clientMessageId": "c-1"}).JSON(t, &first)
		if first.ID == "" || first.Seq != 1 || first.AuthorID != tm.ann.ID || first.Text != "Hello **team**" {
			t.Fatalf("sent: %+v", first)
		}
		// The same client id again is the same message.
		var again message.Message
		s.must(200, "POST", ch, tm.ann.Access, map[string]string{"text": "Hello **team**", "clientMessageId": "c-1"}).JSON(t, &again)
		if again.ID != first.ID {
			t.Fatal("a repeated clientMessageId made a second message")
		}
		for body, field := range map[string]string{
			`{"text":"   "}`: "text", `{"text":"a\u0007b"}`: "text", `{"text":"x","clientMessageId":"` + strings.Repeat("c", 65) + `"}`: "clientMessageId",
			`{"text":"` + strings.Repeat("x", message.MaxTextRunes+1) + `"}`: "text", `{"text":"x","threadId":"nope"}`: "threadId",
		} {
			if r := s.do("POST", ch, tm.ann.Access, body); r.Status != 400 || !strings.Contains(r.Body, field) {
				t.Errorf("%.60s: %s", body, r)
			}
		}
		second := post(t, s, tm.bob, tm.general.ID, "hi Ann")
		// Only the author edits; the edit is marked.
		s.must(403, "PATCH", "/api/v1/messages/"+second.ID, tm.ann.Access, map[string]string{"text": "changed"})
		var edited message.Message
		s.must(200, "PATCH", "/api/v1/messages/"+second.ID, tm.bob.Access, map[string]string{"text": "hi Ann!"}).JSON(t, &edited)
		if edited.Text != "hi Ann!" || edited.EditedAt == nil {
			t.Fatalf("edited: %+v", edited)
		}
		// Members delete their own; others' need a moderator.
		s.must(403, "DELETE", "/api/v1/messages/"+first.ID, tm.bob.Access, nil)
		s.must(204, "DELETE", "/api/v1/messages/"+second.ID, tm.ann.Access, nil) // Ann is the owner
		var gone message.Message
		s.must(200, "GET", "/api/v1/messages/"+second.ID, tm.bob.Access, nil).JSON(t, &gone)
		if !gone.Deleted || gone.Text != "" {
			t.Fatalf("deleted message shows %+v", gone)
		}
		s.must(409, "PATCH", "/api/v1/messages/"+second.ID, tm.bob.Access, map[string]string{"text": "back"})
	})
}

func TestThreads(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-threads")
		root := post(t, s, tm.ann, tm.general.ID, "Lunch?")
		for i, u := range []user{tm.bob, tm.ann, tm.bob} {
			s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", u.Access, map[string]string{"text": fmt.Sprint("reply ", i), "threadId": root.ID})
		}
		var parent message.Message
		s.must(200, "GET", "/api/v1/messages/"+root.ID, tm.bob.Access, nil).JSON(t, &parent)
		if parent.ReplyCount != 3 || parent.LastReplyAt == nil {
			t.Fatalf("parent: %+v", parent)
		}
		var replies struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/messages/"+root.ID+"/replies", tm.bob.Access, nil).JSON(t, &replies)
		if len(replies.Items) != 3 || replies.Items[0].Text != "reply 0" || replies.Items[2].Text != "reply 2" {
			t.Fatalf("replies: %+v", replies.Items)
		}
		// Replies stay out of the channel's history; no replies to replies.
		var hist struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, nil).JSON(t, &hist)
		if len(hist.Items) != 1 || hist.Items[0].ID != root.ID {
			t.Fatalf("history: %+v", hist.Items)
		}
		s.must(400, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, map[string]string{"text": "x", "threadId": replies.Items[0].ID})
	})
}

// A 500-message history walked backwards with cursors has no gap and no
// repeat; around a message centres on it.
func TestHistoryPaging(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-paging")
		const n = 500
		ids := make([]string, n)
		for i := range n {
			ids[i] = post(t, s, tm.ann, tm.general.ID, fmt.Sprint("m", i)).ID
		}
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("paging does not end")
			}
			q := "?limit=37"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			var page struct {
				Items      []message.Message
				NextCursor string
			}
			s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages"+q, tm.bob.Access, nil).JSON(t, &page)
			for i := len(page.Items) - 1; i >= 0; i-- {
				seen = append(seen, page.Items[i].ID)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != n {
			t.Fatalf("walked %d messages, want %d", len(seen), n)
		}
		for i, id := range seen {
			if id != ids[n-1-i] {
				t.Fatalf("position %d: got %s, want %s", i, id, ids[n-1-i])
			}
		}
		var around struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages?around="+ids[250]+"&limit=10", tm.bob.Access, nil).JSON(t, &around)
		if len(around.Items) != 10 || around.Items[5].ID != ids[250] && around.Items[4].ID != ids[250] {
			t.Fatalf("around: %d items", len(around.Items))
		}
		var after struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages?after="+ids[497], tm.bob.Access, nil).JSON(t, &after)
		if len(after.Items) != 2 || after.Items[0].ID != ids[498] {
			t.Fatalf("after: %+v", after.Items)
		}
		s.must(400, "GET", "/api/v1/channels/"+tm.general.ID+"/messages?before="+ids[1]+"&after="+ids[2], tm.bob.Access, nil)
		s.must(400, "GET", "/api/v1/channels/"+tm.general.ID+"/messages?cursor=zzz", tm.bob.Access, nil)
	})
}

// Several writers at once: the history and a live subscriber see one and
// the same order, with nothing missing or doubled.
func TestConcurrentWritersOneOrder(t *testing.T) {
	writers, each := 5, 60
	if os.Getenv("QUIKAPP_TEST_FULL") != "" {
		each = 1000
	}
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-order")
		st, code := openSSE(t, s, tm.bob.Access, "channel:"+tm.general.ID)
		if code != 200 {
			t.Fatalf("subscribe: %d", code)
		}
		var wg sync.WaitGroup
		for w := range writers {
			u := tm.ann
			if w%2 == 1 {
				u = tm.bob
			}
			wg.Go(func() {
				for i := range each {
					r := s.do("POST", "/api/v1/channels/"+tm.general.ID+"/messages", u.Access,
						map[string]string{"text": fmt.Sprintf("w%d-%d", w, i), "clientMessageId": fmt.Sprintf("w%d-%d", w, i)})
					if r.Status != 201 {
						t.Errorf("post: %s", r)
						return
					}
				}
			})
		}
		wg.Wait()
		total := writers * each
		var history []string
		cursor := "start"
		for {
			var page struct {
				Items      []message.Message
				NextCursor string
			}
			q := "?limit=200&after=start"
			if cursor != "start" {
				q = "?limit=200&cursor=" + cursor
			}
			s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages"+q, tm.bob.Access, nil).JSON(t, &page)
			for _, m := range page.Items {
				history = append(history, m.ID)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(history) != total {
			t.Fatalf("history holds %d messages, want %d", len(history), total)
		}
		var live []string
		for len(live) < total {
			st.waitFor(t, "event: message.created")
			l := <-st.lines // id:
			if strings.HasPrefix(l, "id:") {
				l = <-st.lines
			}
			var ev struct {
				Data message.Message `json:"data"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev); err != nil {
				t.Fatalf("event %q: %v", l, err)
			}
			live = append(live, ev.Data.ID)
		}
		for i := range history {
			if live[i] != history[i] {
				t.Fatalf("order differs at %d: live %s, history %s", i, live[i], history[i])
			}
		}
	})
}

func TestPrivateChannelsStayPrivate(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-private")
		var secret channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "board", "type": "private"}).JSON(t, &secret)
		msg := post(t, s, tm.ann, secret.ID, "the merger is on")
		s.must(404, "GET", "/api/v1/channels/"+secret.ID+"/messages", tm.bob.Access, nil)
		s.must(404, "GET", "/api/v1/messages/"+msg.ID, tm.bob.Access, nil)
		s.must(404, "POST", "/api/v1/channels/"+secret.ID+"/messages", tm.bob.Access, map[string]string{"text": "let me in"})
		s.must(404, "POST", "/api/v1/channels/"+secret.ID+"/join", tm.bob.Access, nil)
		if _, code := openSSE(t, s, tm.bob.Access, "channel:"+secret.ID); code != 403 {
			t.Fatalf("non-member subscribes to a private channel: %d", code)
		}
		// Added, Bob reads and hears it; removed, he stops at once.
		s.must(204, "POST", "/api/v1/channels/"+secret.ID+"/members", tm.ann.Access, map[string][]string{"userIds": {tm.bob.ID}})
		s.must(200, "GET", "/api/v1/channels/"+secret.ID+"/messages", tm.bob.Access, nil)
		st, code := openSSE(t, s, tm.bob.Access, "channel:"+secret.ID, "user:"+tm.bob.ID)
		if code != 200 {
			t.Fatalf("member subscribes: %d", code)
		}
		post(t, s, tm.ann, secret.ID, "welcome Bob")
		st.waitFor(t, "welcome Bob")
		s.must(204, "DELETE", "/api/v1/channels/"+secret.ID+"/members/"+tm.bob.ID, tm.ann.Access, nil)
		st.waitFor(t, "channel.member_left") // on his own topic
		post(t, s, tm.ann, secret.ID, "bob is gone")
		// Events are relayed in commit order, so once this one arrives on
		// his user topic, the message before it would have too.
		s.must(200, "PUT", "/api/v1/users/me/status", tm.bob.Access, map[string]string{"emoji": "👋", "text": "marker"})
		deadline := time.After(5 * time.Second)
	read:
		for {
			select {
			case l := <-st.lines:
				if strings.Contains(l, "bob is gone") {
					t.Fatal("a removed member still receives the private channel")
				}
				if strings.Contains(l, "marker") {
					break read
				}
			case <-deadline:
				t.Fatal("no marker event within 5 s")
			}
		}
		s.must(404, "GET", "/api/v1/channels/"+secret.ID+"/messages", tm.bob.Access, nil)
		// Public channels: join to post; leave; #general cannot be left.
		var random channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "random"}).JSON(t, &random)
		s.must(403, "POST", "/api/v1/channels/"+random.ID+"/messages", tm.bob.Access, map[string]string{"text": "hi"})
		s.must(200, "GET", "/api/v1/channels/"+random.ID+"/messages", tm.bob.Access, nil) // readable before joining
		s.must(200, "POST", "/api/v1/channels/"+random.ID+"/join", tm.bob.Access, nil)
		post(t, s, tm.bob, random.ID, "hi")
		s.must(204, "POST", "/api/v1/channels/"+random.ID+"/leave", tm.bob.Access, nil)
		s.must(403, "POST", "/api/v1/channels/"+tm.general.ID+"/leave", tm.bob.Access, nil)
	})
}
