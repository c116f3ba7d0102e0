package app

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
)

func TestRegisterAndSignIn(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		root := s.signUp("Root") // the first account is the system administrator
		var me auth.User
		s.must(200, "GET", "/api/v1/users/me", root.Access, nil).JSON(t, &me)
		if me.ID != root.ID || me.Email != root.Email || !me.SystemAdmin || me.EmailVerified {
			t.Fatalf("first user: %+v", me)
		}
		ann := s.signUp("Ann")
		var annMe auth.User
		s.must(200, "GET", "/api/v1/users/me", ann.Access, nil).JSON(t, &annMe)
		if annMe.SystemAdmin || annMe.ID != ann.ID {
			t.Fatal("second account is a system administrator")
		}
		// The same address twice, in another case, is a conflict.
		r := s.do("POST", "/api/v1/auth/register", "", map[string]string{"email": strings.ToUpper(ann.Email), "password": "another long password", "displayName": "Ann2"})
		if r.Status != 409 || r.Code() != "CONFLICT" {
			t.Fatalf("duplicate email: %s", r)
		}
		// A wrong password and an unknown address get the same answer.
		for _, email := range []string{ann.Email, "nobody@example.com"} {
			r := s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": "wrong password here"})
			if r.Status != 401 || r.Code() != "INVALID_CREDENTIALS" {
				t.Fatalf("bad sign-in for %s: %s", email, r)
			}
		}
	})
}

// Every bad input gets the documented error naming the field, never a 500.
func TestBadInputIsRefusedClearly(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		reg := "/api/v1/auth/register"
		cases := []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"short password", "POST", reg, `{"email":"a@example.com","password":"short","displayName":"A"}`, 400, "VALIDATION_ERROR", "password"},
			{"bad email", "POST", reg, `{"email":"not-an-email","password":"long enough password","displayName":"A"}`, 400, "VALIDATION_ERROR", "email"},
			{"named email", "POST", reg, `{"email":"Ann <a@example.com>","password":"long enough password","displayName":"A"}`, 400, "VALIDATION_ERROR", "email"},
			{"no name", "POST", reg, `{"email":"a@example.com","password":"long enough password","displayName":"  "}`, 400, "VALIDATION_ERROR", "displayName"},
			{"control chars", "POST", reg, `{"email":"a@example.com","password":"long enough password","displayName":"A\u0000B"}`, 400, "VALIDATION_ERROR", "displayName"},
			{"unknown field", "POST", reg, `{"email":"a@example.com","password":"long enough password","displayName":"A","admin":true}`, 400, "VALIDATION_ERROR", "admin"},
			{"wrong type", "POST", reg, `{"email":7,"password":"long enough password","displayName":"A"}`, 400, "VALIDATION_ERROR", "email"},
			{"not json", "POST", reg, `email=a`, 400, "VALIDATION_ERROR", ""},
			{"empty body", "POST", reg, ``, 400, "VALIDATION_ERROR", ""},
			{"huge body", "POST", reg, `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "PAYLOAD_TOO_LARGE", ""},
			{"huge password", "POST", "/api/v1/auth/login", `{"email":"a@example.com","password":"` + strings.Repeat("p", 2000) + `"}`, 400, "VALIDATION_ERROR", "password"},
			{"empty refresh", "POST", "/api/v1/auth/refresh", `{"refreshToken":""}`, 400, "VALIDATION_ERROR", "refreshToken"},
			{"bad refresh", "POST", "/api/v1/auth/refresh", `{"refreshToken":"qrt_nope"}`, 401, "UNAUTHENTICATED", ""},
			{"bad reset token", "POST", "/api/v1/auth/password-reset/confirm", `{"token":"x","password":"long enough password"}`, 400, "VALIDATION_ERROR", "token"},
			{"unknown route", "GET", "/api/v1/nothing/here", ``, 404, "NOT_FOUND", ""},
		}
		for _, c := range cases {
			r := s.do(c.method, c.path, "", c.body)
			if r.Status != c.status || r.Code() != c.code {
				t.Errorf("%s: %s, want %d %s", c.name, r, c.status, c.code)
				continue
			}
			if c.field != "" {
				var e struct {
					Error struct{ Details []struct{ Field string } }
				}
				r.JSON(t, &e)
				if len(e.Error.Details) == 0 || e.Error.Details[0].Field != c.field {
					t.Errorf("%s: details %s do not name %s", c.name, r.Body, c.field)
				}
			}
		}
		// Tokens: malformed, tampered, wrong scheme.
		ann := s.signUp("Ann")
		parts := strings.Split(ann.Access, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), ann.ID, "someone-else", 1))) + "." + parts[2]
		for name, tok := range map[string]string{"garbage": "abc", "tampered": forged, "truncated": ann.Access[:len(ann.Access)-5], "refresh as access": ann.Refresh} {
			r := s.do("GET", "/api/v1/users/me", tok, nil)
			if r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
				t.Errorf("%s token: %s", name, r)
			}
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		var t1 auth.Tokens
		s.must(200, "POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": ann.Refresh}).JSON(t, &t1)
		if t1.RefreshToken == ann.Refresh || t1.AccessToken == "" || t1.ExpiresIn != 900 {
			t.Fatalf("refresh did not rotate: %+v", t1)
		}
		s.must(200, "GET", "/api/v1/users/me", t1.AccessToken, nil)
		// The spent token again: the whole family dies, including the
		// newest refresh token and access tokens of that session.
		if r := s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": ann.Refresh}); r.Status != 401 {
			t.Fatalf("reused refresh token: %s", r)
		}
		if r := s.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": t1.RefreshToken}); r.Status != 401 {
			t.Fatalf("family survived reuse: %s", r)
		}
		if r := s.do("GET", "/api/v1/users/me", t1.AccessToken, nil); r.Status != 401 {
			t.Fatalf("access token of a revoked session still works: %s", r)
		}
	})
}

func TestAccessTokenExpires(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		s.clock.Add(auth.AccessTTL + time.Minute)
		r := s.do("GET", "/api/v1/users/me", ann.Access, nil)
		if r.Status != 401 || r.Code() != "TOKEN_EXPIRED" {
			t.Fatalf("expired token: %s", r)
		}
		var fresh auth.Tokens
		s.must(200, "POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": ann.Refresh}).JSON(t, &fresh)
		s.must(200, "GET", "/api/v1/users/me", fresh.AccessToken, nil)
	})
}

func TestSessionsLogoutAndPasswordChange(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		phone := ann
		s.login(&phone)
		var list struct {
			Items []auth.Session
		}
		s.must(200, "GET", "/api/v1/auth/sessions", ann.Access, nil).JSON(t, &list)
		if len(list.Items) != 2 {
			t.Fatalf("sessions: %+v", list.Items)
		}
		var phoneID string
		for _, x := range list.Items {
			if !x.Current {
				phoneID = x.ID
			}
		}
		s.must(204, "DELETE", "/api/v1/auth/sessions/"+phoneID, ann.Access, nil)
		if r := s.do("GET", "/api/v1/users/me", phone.Access, nil); r.Status != 401 {
			t.Fatalf("revoked session still works: %s", r)
		}
		s.must(404, "DELETE", "/api/v1/auth/sessions/"+phoneID, ann.Access, nil)

		// Someone else cannot end Ann's session.
		bob := s.signUp("Bob")
		s.must(404, "DELETE", "/api/v1/auth/sessions/"+phoneID, bob.Access, nil)

		// A password change signs out every other session.
		laptop := ann
		s.login(&laptop)
		r := s.do("POST", "/api/v1/auth/password", ann.Access, map[string]string{"currentPassword": "wrong one here", "newPassword": "a brand new password"})
		if r.Status != 400 || r.Code() != "INVALID_CREDENTIALS" {
			t.Fatalf("wrong current password: %s", r)
		}
		s.must(204, "POST", "/api/v1/auth/password", ann.Access, map[string]string{"currentPassword": ann.Password, "newPassword": "a brand new password"})
		s.must(200, "GET", "/api/v1/users/me", ann.Access, nil)
		if r := s.do("GET", "/api/v1/users/me", laptop.Access, nil); r.Status != 401 {
			t.Fatalf("other session survived a password change: %s", r)
		}
		if r := s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}); r.Status != 401 {
			t.Fatalf("old password still works: %s", r)
		}
		ann.Password = "a brand new password"
		s.login(&ann)
		s.must(204, "POST", "/api/v1/auth/logout", ann.Access, nil)
		if r := s.do("GET", "/api/v1/users/me", ann.Access, nil); r.Status != 401 {
			t.Fatalf("signed-out token still works: %s", r)
		}
	})
}

func TestLockoutAfterFiveFailures(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		root := s.signUp("Root")
		ann := s.signUp("Ann")
		for i := range auth.MaxFailedLogins - 1 {
			if r := s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": "wrong password " + string(rune('a'+i))}); r.Status != 401 {
				t.Fatalf("failure %d: %s", i+1, r)
			}
		}
		r := s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": "wrong password again"})
		if r.Status != 423 || r.Code() != "ACCOUNT_LOCKED" || r.Header.Get("Retry-After") != "1800" {
			t.Fatalf("fifth failure: %s %v", r, r.Header)
		}
		// Even the right password is refused while locked.
		if r := s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}); r.Status != 423 {
			t.Fatalf("right password while locked: %s", r)
		}
		// The lock is in the audit log.
		var log struct {
			Items []struct{ Action, TargetID string }
		}
		s.must(200, "GET", "/api/v1/admin/audit?action=auth.locked", root.Access, nil).JSON(t, &log)
		if len(log.Items) != 1 || log.Items[0].TargetID != ann.ID {
			t.Fatalf("audit: %+v", log.Items)
		}
		s.clock.Add(auth.LockoutDuration + time.Second)
		s.login(&ann)
	})
}

// mailTo reads the newest mail written to the data dir for addr and
// returns the token in its link.
func mailTo(t *testing.T, s *api, addr, path string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "mail", "*.eml"))
	re := regexp.MustCompile(regexp.QuoteMeta(path) + `\?token=([A-Za-z0-9_\-]+)`)
	for i := len(files) - 1; i >= 0; i-- {
		b, _ := os.ReadFile(files[i])
		if !strings.Contains(string(b), "To: "+addr+"\r\n") {
			continue
		}
		if m := re.FindStringSubmatch(string(b)); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no mail to %s with a %s link in %v", addr, path, files)
	return ""
}

// mailSubject returns the newest mail to addr whose subject contains sub.
func mailSubject(t *testing.T, s *api, addr, sub string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, "mail", "*.eml"))
	for i := len(files) - 1; i >= 0; i-- {
		b, _ := os.ReadFile(files[i])
		if strings.Contains(string(b), "To: "+addr+"\r\n") && strings.Contains(string(b), sub) {
			return string(b)
		}
	}
	t.Fatalf("no mail to %s about %q", addr, sub)
	return ""
}

func TestEmailVerificationRequired(t *testing.T) {
	eachAPI(t, func(c *Config) { c.Identity.RequireEmailVerification = true }, func(t *testing.T, s *api) {
		r := s.must(201, "POST", "/api/v1/auth/register", "", map[string]string{"email": "vera@example.com", "password": "a long password here", "displayName": "Vera"})
		_ = r
		login := map[string]string{"email": "vera@example.com", "password": "a long password here"}
		if r := s.do("POST", "/api/v1/auth/login", "", login); r.Status != 403 || r.Code() != "EMAIL_NOT_VERIFIED" {
			t.Fatalf("unverified sign-in: %s", r)
		}
		tok := mailTo(t, s, "vera@example.com", "/verify-email")
		s.must(204, "POST", "/api/v1/auth/verify-email/confirm", "", map[string]string{"token": tok})
		if r := s.do("POST", "/api/v1/auth/verify-email/confirm", "", map[string]string{"token": tok}); r.Status != 400 {
			t.Fatalf("verification link used twice: %s", r)
		}
		var tokens auth.Tokens
		s.must(200, "POST", "/api/v1/auth/login", "", login).JSON(t, &tokens)
		if !tokens.User.EmailVerified {
			t.Fatal("user not marked verified")
		}
	})
}

func TestPasswordResetByEmail(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		// Unknown addresses get the same answer and no mail.
		s.must(202, "POST", "/api/v1/auth/password-reset/request", "", map[string]string{"email": "nobody@example.com"})
		s.must(202, "POST", "/api/v1/auth/password-reset/request", "", map[string]string{"email": ann.Email})
		tok := mailTo(t, s, ann.Email, "/reset-password")
		r := s.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "short"})
		if r.Status != 400 || r.Code() != "VALIDATION_ERROR" {
			t.Fatalf("short new password: %s", r)
		}
		s.must(204, "POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "my new long password"})
		if r := s.do("GET", "/api/v1/users/me", ann.Access, nil); r.Status != 401 {
			t.Fatalf("session survived a reset: %s", r)
		}
		if r := s.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "password": "another new password"}); r.Status != 400 {
			t.Fatalf("reset link used twice: %s", r)
		}
		ann.Password = "my new long password"
		s.login(&ann)
		// An expired link is refused.
		s.must(202, "POST", "/api/v1/auth/password-reset/request", "", map[string]string{"email": ann.Email})
		tok2 := mailTo(t, s, ann.Email, "/reset-password")
		if tok2 == tok {
			t.Fatal("the same reset token twice")
		}
		s.clock.Add(2 * time.Hour)
		if r := s.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok2, "password": "another new password"}); r.Status != 400 || !strings.Contains(r.Body, "expired") {
			t.Fatalf("expired reset link: %s", r)
		}
	})
}

func TestAuthRateLimit(t *testing.T) {
	eachAPI(t, func(c *Config) { c.Identity.AuthRate = RateSpec{Limit: 3, Window: time.Hour} }, func(t *testing.T, s *api) {
		var last resp
		for range 4 {
			last = s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": "a@example.com", "password": "whatever password"})
		}
		if last.Status != 429 || last.Code() != "RATE_LIMITED" || last.Header.Get("Retry-After") == "" ||
			last.Header.Get("X-RateLimit-Limit") != "3" || last.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("fourth sign-in: %s %v", last, last.Header)
		}
	})
}

func TestUserRateLimitSharedInDatabase(t *testing.T) {
	eachAPI(t, func(c *Config) {
		c.Identity.RateLimitStore = "database"
		c.Identity.UserRate = RateSpec{Limit: 5, Window: time.Hour}
	}, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		for i := range 6 {
			r := s.do("GET", "/api/v1/users/me", ann.Access, nil)
			if (i < 5) != (r.Status == 200) {
				t.Fatalf("request %d: %s", i+1, r)
			}
			if i == 5 && r.Code() != "RATE_LIMITED" {
				t.Fatalf("sixth request: %s", r)
			}
		}
		// Another user has their own budget.
		bob := s.signUp("Bob")
		s.must(200, "GET", "/api/v1/users/me", bob.Access, nil)
	})
}

func TestProfiles(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		s.signUp("Root")
		ann, bob := s.signUp("Ann"), s.signUp("Bob")
		var u auth.User
		s.must(200, "PATCH", "/api/v1/users/"+ann.ID, ann.Access, map[string]string{"displayName": "Ann A.", "timeZone": "Europe/Paris", "locale": "fr-FR", "title": "Engineer"}).JSON(t, &u)
		if u.DisplayName != "Ann A." || u.TimeZone != "Europe/Paris" || u.Locale != "fr-FR" || u.Title != "Engineer" {
			t.Fatalf("patched: %+v", u)
		}
		for field, bad := range map[string]string{"timeZone": "Mars/Olympus", "locale": "not a locale", "displayName": ""} {
			r := s.do("PATCH", "/api/v1/users/"+ann.ID, ann.Access, map[string]string{field: bad})
			if r.Status != 400 || !strings.Contains(r.Body, field) {
				t.Errorf("bad %s: %s", field, r)
			}
		}
		// Strangers see nothing; nobody edits another's profile.
		s.must(404, "GET", "/api/v1/users/"+ann.ID, bob.Access, nil)
		s.must(404, "PATCH", "/api/v1/users/"+ann.ID, bob.Access, map[string]string{"displayName": "Hacked"})
		// Sharing a workspace makes profiles visible, without the email.
		var ws struct{ ID string }
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme", "slug": "acme-profiles"}).JSON(t, &ws)
		joinWorkspace(t, s, ann, bob, ws.ID, "member")
		var seen auth.User
		s.must(200, "GET", "/api/v1/users/"+ann.ID, bob.Access, nil).JSON(t, &seen)
		if seen.DisplayName != "Ann A." || seen.Email != "" {
			t.Fatalf("profile seen by a co-member: %+v", seen)
		}
	})
}
