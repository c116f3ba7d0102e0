package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/platform/env"
)

func TestBanEverywhere(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		bans := make(chan string, 4)
		_, err := s.run.app.deps.Bus.Subscribe(context.Background(), "auth.user.*.banned", func(_ context.Context, m bus.Message) error {
			bans <- m.Subject
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		root, ann, bob := s.signUp("Root"), s.signUp("Ann"), s.signUp("Bob")
		s.must(403, "POST", "/api/v1/admin/users/"+ann.ID+"/ban", bob.Access, nil)
		s.must(403, "POST", "/api/v1/admin/users/"+root.ID+"/ban", root.Access, nil)
		s.must(404, "POST", "/api/v1/admin/users/no-such-user/ban", root.Access, nil)
		s.must(200, "POST", "/api/v1/admin/users/"+ann.ID+"/ban", root.Access, nil)
		select {
		case subj := <-bans:
			if subj != "auth.user."+ann.ID+".banned" {
				t.Fatalf("ban event %q", subj)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no ban event on the bus within 5 s")
		}
		for name, r := range map[string]resp{
			"API":     s.do("GET", "/api/v1/users/me", ann.Access, nil),
			"create":  s.do("POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "X", "slug": "banned-x"}),
			"login":   s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}),
			"refresh": s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": ann.Refresh}),
		} {
			if r.Status != 403 || r.Code() != "USER_BANNED" {
				t.Errorf("banned user's %s: %s", name, r)
			}
		}
		s.must(200, "POST", "/api/v1/admin/users/"+ann.ID+"/unban", root.Access, nil)
		s.login(&ann)
		s.must(200, "GET", "/api/v1/users/me", ann.Access, nil)

		var audit struct {
			Items []struct{ Action, TargetID string }
		}
		s.must(200, "GET", "/api/v1/admin/audit?action=admin.", root.Access, nil).JSON(t, &audit)
		if len(audit.Items) != 2 || audit.Items[0].Action != "admin.user_unbanned" || audit.Items[1].Action != "admin.user_banned" {
			t.Fatalf("admin audit: %+v", audit.Items)
		}
	})
}

func TestAdminUsersStatsAndRoles(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		root, ann := s.signUp("Root"), s.signUp("Ann")
		s.signUp("Bob")
		var page struct {
			Items      []auth.User
			NextCursor string
		}
		s.must(200, "GET", "/api/v1/admin/users?q=ANN", root.Access, nil).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ann.ID || page.Items[0].Email != ann.Email {
			t.Fatalf("search: %+v", page.Items)
		}
		s.must(200, "GET", "/api/v1/admin/users?q=100%25", root.Access, nil).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("a %% in the query matched everything: %+v", page.Items)
		}
		s.must(200, "GET", "/api/v1/admin/users?limit=2", root.Access, nil).JSON(t, &page)
		if len(page.Items) != 2 || page.NextCursor == "" {
			t.Fatalf("page 1: %+v", page)
		}
		s.must(200, "GET", "/api/v1/admin/users?limit=2&cursor="+page.NextCursor, root.Access, nil).JSON(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("page 2: %+v", page)
		}
		s.must(400, "GET", "/api/v1/admin/users?limit=5000", root.Access, nil)
		s.must(400, "GET", "/api/v1/admin/users?cursor=!!", root.Access, nil)

		var st auth.Stats
		s.must(200, "GET", "/api/v1/admin/stats", root.Access, nil).JSON(t, &st)
		if st.Users != 3 || st.SystemAdmins != 1 || st.ActiveSessions != 3 || st.SignupsLast7d != 3 {
			t.Fatalf("stats: %+v", st)
		}
		// The last system administrator stays; a second one can be made.
		s.must(409, "PATCH", "/api/v1/admin/users/"+root.ID, root.Access, map[string]bool{"systemAdmin": false})
		s.must(200, "PATCH", "/api/v1/admin/users/"+ann.ID, root.Access, map[string]bool{"systemAdmin": true})
		s.must(200, "GET", "/api/v1/admin/stats", ann.Access, nil)
		s.must(200, "PATCH", "/api/v1/admin/users/"+root.ID, ann.Access, map[string]bool{"systemAdmin": false})
		s.must(403, "GET", "/api/v1/admin/stats", root.Access, nil)
		s.must(400, "PATCH", "/api/v1/admin/users/"+root.ID, ann.Access, map[string]string{})
	})
}

func TestAdminConfigHidesSecrets(t *testing.T) {
	cfg, err := LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_SMTP_PASSWORD": "hunter2",
		"QUIKAPP_SMTP_HOST":     "mail.example.com",
		"QUIKAPP_DATABASE_URL":  "postgres://app:s3cret@db:5432/quikapp",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range configEntries(cfg) {
		got[e.Name] = e.Value
	}
	if got["QUIKAPP_SMTP_HOST"] != "mail.example.com" || got["QUIKAPP_SMTP_PASSWORD"] != "(set, hidden)" || got["QUIKAPP_HTTP_ADDR"] != ":3000" {
		t.Fatalf("config entries: %v", got)
	}
	if strings.Contains(got["QUIKAPP_DATABASE_URL"], "s3cret") || !strings.Contains(got["QUIKAPP_DATABASE_URL"], "db:5432") {
		t.Fatalf("database URL shown as %q", got["QUIKAPP_DATABASE_URL"])
	}
}

// Concurrent first sign-ups make exactly one system administrator.
func TestExactlyOneFirstAdmin(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		const n = 8
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				s.do("POST", "/api/v1/auth/register", "", map[string]string{
					"email": fmt.Sprintf("first%d@example.com", i), "password": "a long enough password", "displayName": "First"})
			})
		}
		wg.Wait()
		admins := 0
		for i := range n {
			u := user{Email: fmt.Sprintf("first%d@example.com", i), Password: "a long enough password"}
			s.login(&u)
			var me auth.User
			s.must(200, "GET", "/api/v1/users/me", u.Access, nil).JSON(t, &me)
			if me.SystemAdmin {
				admins++
			}
		}
		if admins != 1 {
			t.Fatalf("%d system administrators after %d concurrent first sign-ups", admins, n)
		}
	})
}
