package app

import (
	"testing"

	"github.com/quikapp/quikapp/internal/workspace"
)

// joinWorkspace has inviter invite invitee with role and invitee accept.
func joinWorkspace(t *testing.T, s *api, inviter, invitee user, wsID, role string) {
	t.Helper()
	var inv workspace.Invitation
	s.must(201, "POST", "/api/v1/workspaces/"+wsID+"/invitations", inviter.Access, map[string]string{"email": invitee.Email, "role": role}).JSON(t, &inv)
	s.must(200, "POST", "/api/v1/invitations/accept", invitee.Access, map[string]string{"token": inv.Token})
}

func TestWorkspaceLifecycle(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		s.signUp("Root") // system administrator, kept out of the way
		ann, bob, cat := s.signUp("Ann"), s.signUp("Bob"), s.signUp("Cat")
		var ws workspace.Workspace
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme", "slug": "acme"}).JSON(t, &ws)
		if ws.ID == "" || ws.Role != "owner" || ws.Slug != "acme" {
			t.Fatalf("created: %+v", ws)
		}
		if r := s.do("POST", "/api/v1/workspaces", bob.Access, map[string]string{"name": "Other", "slug": "acme"}); r.Status != 409 {
			t.Fatalf("slug clash: %s", r)
		}
		for _, bad := range []map[string]string{{"name": "", "slug": "x"}, {"name": "X", "slug": "Bad Slug"}, {"name": "X", "slug": "-x"}} {
			if r := s.do("POST", "/api/v1/workspaces", bob.Access, bad); r.Status != 400 || r.Code() != "VALIDATION_ERROR" {
				t.Errorf("bad workspace %v: %s", bad, r)
			}
		}
		// Invitations are bound to the address and single-use.
		var inv workspace.Invitation
		s.must(201, "POST", "/api/v1/workspaces/"+ws.ID+"/invitations", ann.Access, map[string]string{"email": bob.Email}).JSON(t, &inv)
		s.must(404, "POST", "/api/v1/invitations/accept", cat.Access, map[string]string{"token": inv.Token})
		s.must(200, "POST", "/api/v1/invitations/accept", bob.Access, map[string]string{"token": inv.Token})
		s.must(404, "POST", "/api/v1/invitations/accept", bob.Access, map[string]string{"token": inv.Token})
		joinWorkspace(t, s, ann, cat, ws.ID, "guest")

		var members struct {
			Items      []workspace.Member
			NextCursor string
		}
		s.must(200, "GET", "/api/v1/workspaces/"+ws.ID+"/members?limit=2", cat.Access, nil).JSON(t, &members)
		if len(members.Items) != 2 || members.NextCursor == "" || members.Items[0].DisplayName != "Ann" || members.Items[0].Role != "owner" {
			t.Fatalf("members page 1: %+v", members)
		}
		s.must(200, "GET", "/api/v1/workspaces/"+ws.ID+"/members?limit=2&cursor="+members.NextCursor, cat.Access, nil).JSON(t, &members)
		if len(members.Items) != 1 || members.Items[0].UserID != cat.ID || members.Items[0].Role != "guest" {
			t.Fatalf("members page 2: %+v", members)
		}
		// Role rules.
		s.must(403, "PATCH", "/api/v1/workspaces/"+ws.ID, bob.Access, map[string]string{"name": "Bob's"})
		s.must(403, "PATCH", "/api/v1/workspaces/"+ws.ID+"/members/"+cat.ID, bob.Access, map[string]string{"role": "admin"})
		s.must(403, "POST", "/api/v1/workspaces/"+ws.ID+"/invitations", cat.Access, map[string]string{"email": "x@example.com"})
		s.must(200, "PATCH", "/api/v1/workspaces/"+ws.ID+"/members/"+bob.ID, ann.Access, map[string]string{"role": "admin"})
		s.must(403, "PATCH", "/api/v1/workspaces/"+ws.ID+"/members/"+ann.ID, bob.Access, map[string]string{"role": "member"})
		s.must(403, "PATCH", "/api/v1/workspaces/"+ws.ID+"/members/"+cat.ID, bob.Access, map[string]string{"role": "owner"})
		s.must(400, "PATCH", "/api/v1/workspaces/"+ws.ID+"/members/"+cat.ID, bob.Access, map[string]string{"role": "emperor"})
		s.must(200, "PATCH", "/api/v1/workspaces/"+ws.ID, bob.Access, map[string]string{"name": "Acme Inc"})
		s.must(403, "DELETE", "/api/v1/workspaces/"+ws.ID, bob.Access, nil)
		// The last owner can neither leave nor step down.
		s.must(409, "DELETE", "/api/v1/workspaces/"+ws.ID+"/members/"+ann.ID, ann.Access, nil)
		s.must(409, "PATCH", "/api/v1/workspaces/"+ws.ID+"/members/"+ann.ID, ann.Access, map[string]string{"role": "admin"})
		// Admins remove; members leave.
		s.must(204, "DELETE", "/api/v1/workspaces/"+ws.ID+"/members/"+cat.ID, bob.Access, nil)
		s.must(404, "GET", "/api/v1/workspaces/"+ws.ID, cat.Access, nil)
		s.must(204, "DELETE", "/api/v1/workspaces/"+ws.ID+"/members/"+bob.ID, bob.Access, nil)
		var list struct{ Items []workspace.Workspace }
		s.must(200, "GET", "/api/v1/workspaces", bob.Access, nil).JSON(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("bob still lists %+v", list.Items)
		}
		// The audit log has it all, for admins only.
		var log struct{ Items []struct{ Action string } }
		s.must(200, "GET", "/api/v1/workspaces/"+ws.ID+"/audit", ann.Access, nil).JSON(t, &log)
		seen := map[string]bool{}
		for _, e := range log.Items {
			seen[e.Action] = true
		}
		for _, want := range []string{"workspace.created", "workspace.invited", "workspace.joined", "workspace.role_changed", "workspace.member_removed", "workspace.member_left", "workspace.updated"} {
			if !seen[want] {
				t.Errorf("audit lacks %s: %v", want, seen)
			}
		}
		csv := s.must(200, "GET", "/api/v1/workspaces/"+ws.ID+"/audit?format=csv", ann.Access, nil)
		if csv.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(csv.Body) < 50 {
			t.Fatalf("csv export: %s", csv)
		}
		s.must(204, "DELETE", "/api/v1/workspaces/"+ws.ID, ann.Access, nil)
		s.must(404, "GET", "/api/v1/workspaces/"+ws.ID, ann.Access, nil)
	})
}

func TestInvitationExpires(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann, bob := s.signUp("Ann"), s.signUp("Bob")
		var ws workspace.Workspace
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme", "slug": "acme"}).JSON(t, &ws)
		var inv workspace.Invitation
		s.must(201, "POST", "/api/v1/workspaces/"+ws.ID+"/invitations", ann.Access, map[string]string{"email": bob.Email}).JSON(t, &inv)
		if tok := mailTo(t, s, bob.Email, "/invite"); tok != inv.Token {
			t.Fatalf("mailed token %q differs from %q", tok, inv.Token)
		}
		s.clock.Add(workspace.InvitationTTL + 1)
		r := s.do("POST", "/api/v1/invitations/accept", bob.Access, map[string]string{"token": inv.Token})
		if r.Status == 200 {
			t.Fatalf("expired invitation accepted: %s", r)
		}
	})
}
