package app

import (
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/workspace"
)

// sampleBodies are well-formed bodies per route, so a route's answer to an
// outsider is its access decision and not a validation error.
var sampleBodies = map[string]any{
	"PATCH /api/v1/workspaces/{id}":                  map[string]string{"name": "Taken over"},
	"PATCH /api/v1/workspaces/{id}/members/{userId}": map[string]string{"role": "member"},
	"POST /api/v1/workspaces/{id}/invitations":       map[string]string{"email": "mallory.friend@example.com"},
	"PATCH /api/v1/users/{id}":                       map[string]string{"displayName": "Hacked"},
	"PATCH /api/v1/admin/users/{id}":                 map[string]bool{"systemAdmin": true},
	"POST /api/v1/workspaces":                        map[string]string{"name": "Mallory's other", "slug": "mallory-other"},
	"POST /api/v1/auth/password":                     map[string]string{"currentPassword": "x", "newPassword": "y"},
	"POST /api/v1/workspaces/{id}/channels":          map[string]string{"name": "mallory-was-here"},
	"DELETE /api/v1/messages/{id}/reactions":         map[string]string{"emoji": "👍"},
	"POST /api/v1/messages/{id}/reactions":           map[string]string{"emoji": "👍"},
	"POST /api/v1/channels/{id}/messages":            map[string]string{"text": "hello from outside"},
	"PATCH /api/v1/messages/{id}":                    map[string]string{"text": "edited from outside"},
	"POST /api/v1/channels/{id}/bookmarks":           map[string]string{"title": "x", "url": "https://example.com"},
}

// TestNothingCrossesWorkspaces calls every registered API route as a user
// of another workspace, with the ids of the first. Routes about a
// resource answer 403 or 404; no answer carries the first workspace's data.
func TestNothingCrossesWorkspaces(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		s.signUp("Root")
		ann, bob, mallory := s.signUp("Ann"), s.signUp("Bob"), s.signUp("Mallory")
		var ws workspace.Workspace
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme Secret Plans", "slug": "acme-secret"}).JSON(t, &ws)
		joinWorkspace(t, s, ann, bob, ws.ID, "member")
		var inv workspace.Invitation
		s.must(201, "POST", "/api/v1/workspaces/"+ws.ID+"/invitations", ann.Access, map[string]string{"email": "carol@example.com"}).JSON(t, &inv)
		var sessions struct{ Items []auth.Session }
		s.must(200, "GET", "/api/v1/auth/sessions", ann.Access, nil).JSON(t, &sessions)
		s.must(201, "POST", "/api/v1/workspaces", mallory.Access, map[string]string{"name": "Mallory's", "slug": "mallorys"})
		var secretChannel struct{ ID string }
		s.must(201, "POST", "/api/v1/workspaces/"+ws.ID+"/channels", ann.Access, map[string]string{"name": "secret-merger", "type": "private"}).JSON(t, &secretChannel)
		secretFile := s.uploadFile(t, ann, "?channelId="+secretChannel.ID, "merger-terms.txt", []byte("price: 1 billion"))
		var secretMessage struct{ ID string }
		s.must(201, "POST", "/api/v1/channels/"+secretChannel.ID+"/messages", ann.Access, map[string]string{"text": "we buy Initech on Friday"}).JSON(t, &secretMessage)

		secrets := []string{ws.ID, ann.ID, bob.ID, ann.Email, bob.Email, "Acme Secret", "acme-secret", "carol@example.com", inv.ID, sessions.Items[0].ID, secretChannel.ID, "secret-merger", "general", secretMessage.ID, "Initech", secretFile.ID, "merger-terms", "1 billion"}
		ids := map[string]string{"{id}": ws.ID, "{userId}": bob.ID, "{provider}": "corp", "{bookmarkId}": "no-such-bookmark"}
		routes := s.run.app.routes.Routes()
		if len(routes) < 30 {
			t.Fatalf("only %d routes registered", len(routes))
		}
		checked := 0
		for _, rt := range routes {
			pattern := rt.Method + " " + rt.Path
			path := rt.Path
			// The id a route takes depends on what it is about.
			switch {
			case strings.HasPrefix(path, "/api/v1/users/{id}"), strings.HasPrefix(path, "/api/v1/admin/users/{id}"):
				path = strings.Replace(path, "{id}", ann.ID, 1)
			case strings.HasPrefix(path, "/api/v1/files/{id}"):
				path = strings.Replace(path, "{id}", secretFile.ID, 1)
			case strings.HasPrefix(path, "/api/v1/messages/{id}"):
				path = strings.Replace(path, "{id}", secretMessage.ID, 1)
			case strings.HasPrefix(path, "/api/v1/channels/{id}"):
				path = strings.Replace(path, "{id}", secretChannel.ID, 1)
			case strings.HasPrefix(path, "/api/v1/auth/sessions/{id}"):
				path = strings.Replace(path, "{id}", sessions.Items[0].ID, 1)
			}
			for k, v := range ids {
				path = strings.ReplaceAll(path, k, v)
			}
			if strings.Contains(path, "{") {
				t.Errorf("%s: the test does not know what id to use; teach it", pattern)
				continue
			}
			body, ok := sampleBodies[pattern]
			if !ok && (rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT") && rt.HasBody() {
				body = map[string]string{}
			}
			if pattern == "POST /api/v1/invitations/accept" {
				body = map[string]string{"token": inv.Token}
			}
			s.login(&mallory) // a fresh session: an earlier route may have ended it
			r := s.do(rt.Method, path, mallory.Access, body)
			if r.Status >= 500 {
				t.Errorf("%s: %s", pattern, r)
			}
			aboutSomething := path != rt.Path || strings.HasPrefix(rt.Path, "/api/v1/admin/") || pattern == "POST /api/v1/invitations/accept"
			if aboutSomething && !rt.Public && r.Status != 403 && r.Status != 404 {
				t.Errorf("%s as an outsider: %s, want 403 or 404", pattern, r)
			}
			for _, sec := range secrets {
				if strings.Contains(r.Body, sec) {
					t.Errorf("%s leaks %q to an outsider: %s", pattern, sec, r.Body)
				}
			}
			checked++
		}
		t.Logf("%d routes checked", checked)
		// Nothing Mallory tried changed Acme.
		var after workspace.Workspace
		s.must(200, "GET", "/api/v1/workspaces/"+ws.ID, ann.Access, nil).JSON(t, &after)
		if after.Name != "Acme Secret Plans" {
			t.Fatalf("workspace changed by an outsider: %+v", after)
		}
		var members struct{ Items []workspace.Member }
		s.must(200, "GET", "/api/v1/workspaces/"+ws.ID+"/members", ann.Access, nil).JSON(t, &members)
		if len(members.Items) != 2 || members.Items[1].Role != "member" {
			t.Fatalf("members changed by an outsider: %+v", members.Items)
		}
	})
}
