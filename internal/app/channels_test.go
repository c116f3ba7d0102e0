package app

import (
	"testing"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/workspace"
)

func channelNames(t *testing.T, s *api, u user, wsID string) map[string]channel.Channel {
	t.Helper()
	var list struct{ Items []channel.Channel }
	s.must(200, "GET", "/api/v1/workspaces/"+wsID+"/channels", u.Access, nil).JSON(t, &list)
	out := map[string]channel.Channel{}
	for _, c := range list.Items {
		out[c.Name] = c
	}
	return out
}

func TestWorkspaceStartsWithGeneralAndChannelsRespectPrivacy(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		s.signUp("Root")
		ann, bob, gus := s.signUp("Ann"), s.signUp("Bob"), s.signUp("Gus")
		var ws workspace.Workspace
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme", "slug": "acme-channels"}).JSON(t, &ws)
		chans := channelNames(t, s, ann, ws.ID)
		general, ok := chans["general"]
		if !ok || !general.IsGeneral || !general.IsMember || general.MemberCount != 1 || general.Type != "public" {
			t.Fatalf("#general: %+v (all: %v)", general, chans)
		}
		// Whoever joins is in #general.
		joinWorkspace(t, s, ann, bob, ws.ID, "member")
		joinWorkspace(t, s, ann, gus, ws.ID, "guest")
		if g := channelNames(t, s, bob, ws.ID)["general"]; !g.IsMember || g.MemberCount != 3 {
			t.Fatalf("#general after joins: %+v", g)
		}
		// Private channels are invisible to non-members, in lists and by id.
		var secret channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+ws.ID+"/channels", ann.Access, map[string]string{"name": "#Leadership", "type": "private", "topic": "Plans"}).JSON(t, &secret)
		if secret.Name != "leadership" || secret.Topic != "Plans" || !secret.IsMember {
			t.Fatalf("created: %+v", secret)
		}
		if _, seen := channelNames(t, s, bob, ws.ID)["leadership"]; seen {
			t.Fatal("a private channel is listed to a non-member")
		}
		s.must(404, "GET", "/api/v1/channels/"+secret.ID, bob.Access, nil)
		s.must(200, "GET", "/api/v1/channels/"+secret.ID, ann.Access, nil)
		s.must(200, "GET", "/api/v1/channels/"+general.ID, bob.Access, nil)

		// Names: unique, validated; guests cannot create.
		s.must(409, "POST", "/api/v1/workspaces/"+ws.ID+"/channels", bob.Access, map[string]string{"name": "general"})
		for _, bad := range []string{"", "Has Spaces", "<script>", "-dash", string(make([]byte, 81))} {
			if r := s.do("POST", "/api/v1/workspaces/"+ws.ID+"/channels", bob.Access, map[string]string{"name": bad}); r.Status != 400 {
				t.Errorf("name %q: %s", bad, r)
			}
		}
		s.must(400, "POST", "/api/v1/workspaces/"+ws.ID+"/channels", bob.Access, map[string]string{"name": "ok-name", "type": "secret"})
		s.must(403, "POST", "/api/v1/workspaces/"+ws.ID+"/channels", gus.Access, map[string]string{"name": "guest-room"})
		s.must(201, "POST", "/api/v1/workspaces/"+ws.ID+"/channels", bob.Access, map[string]string{"name": "random"})

		// Leaving the workspace leaves its channels.
		s.must(204, "DELETE", "/api/v1/workspaces/"+ws.ID+"/members/"+bob.ID, bob.Access, nil)
		if g := channelNames(t, s, ann, ws.ID)["general"]; g.MemberCount != 2 {
			t.Fatalf("#general after bob left: %+v", g)
		}
		s.must(404, "GET", "/api/v1/channels/"+general.ID, bob.Access, nil)
	})
}
