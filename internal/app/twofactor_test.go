package app

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
)

// totpAt computes a code the way an authenticator app does (RFC 6238),
// written here separately from the server's code on purpose.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	var counter [8]byte
	binary.BigEndian.PutUint64(counter[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(counter[:])
	h := m.Sum(nil)
	o := h[19] & 15
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(h[o:])&0x7fffffff)%1000000)
}

func TestTwoFactorSignIn(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		s.must(400, "POST", "/api/v1/auth/2fa/setup", ann.Access, map[string]string{"password": "not my password"})
		var setup auth.TOTPSetup
		s.must(200, "POST", "/api/v1/auth/2fa/setup", ann.Access, map[string]string{"password": ann.Password}).JSON(t, &setup)
		if len(setup.Secret) < 32 || setup.OTPAuthURL == "" {
			t.Fatalf("setup: %+v", setup)
		}
		s.must(400, "POST", "/api/v1/auth/2fa/enable", ann.Access, map[string]string{"code": "000000"})
		var enabled struct{ BackupCodes []string }
		s.must(200, "POST", "/api/v1/auth/2fa/enable", ann.Access, map[string]string{"code": totpAt(t, setup.Secret, s.clock.Now())}).JSON(t, &enabled)
		if len(enabled.BackupCodes) != 10 {
			t.Fatalf("backup codes: %v", enabled.BackupCodes)
		}

		// Sign-in now stops at the second factor.
		r := s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password})
		var step struct {
			Error        struct{ Code string }
			InterimToken string
			ExpiresIn    int
		}
		r.JSON(t, &step)
		if r.Status != 401 || step.Error.Code != "TWO_FACTOR_REQUIRED" || step.InterimToken == "" || step.ExpiresIn != 300 {
			t.Fatalf("login with 2FA on: %s", r)
		}
		// The interim token is not an access token.
		s.must(401, "GET", "/api/v1/users/me", step.InterimToken, nil)
		s.must(400, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": "123456"})
		// The code used to enable cannot be replayed; the next step's works.
		s.clock.Add(30 * time.Second)
		var tokens auth.Tokens
		code := totpAt(t, setup.Secret, s.clock.Now())
		s.must(200, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": code}).JSON(t, &tokens)
		s.must(200, "GET", "/api/v1/users/me", tokens.AccessToken, nil)
		s.must(400, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": code})

		// A backup code works once.
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}).JSON(t, &step)
		s.must(200, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": enabled.BackupCodes[0]})
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}).JSON(t, &step)
		s.must(400, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": enabled.BackupCodes[0]})

		// The interim token lasts five minutes.
		s.clock.Add(auth.InterimTTL + time.Minute)
		s.must(401, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": totpAt(t, setup.Secret, s.clock.Now())})

		// New backup codes replace the old ones.
		var fresh struct{ BackupCodes []string }
		s.must(400, "POST", "/api/v1/auth/2fa/backup-codes", tokens.AccessToken, map[string]string{"password": "wrong password!"})
		s.must(200, "POST", "/api/v1/auth/2fa/backup-codes", tokens.AccessToken, map[string]string{"password": ann.Password}).JSON(t, &fresh)
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}).JSON(t, &step)
		s.must(400, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": enabled.BackupCodes[2]})
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}).JSON(t, &step)
		s.must(200, "POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": fresh.BackupCodes[0]})
		enabled.BackupCodes = fresh.BackupCodes
		// Turning it off needs the password and a code.
		s.must(400, "POST", "/api/v1/auth/2fa/disable", tokens.AccessToken, map[string]string{"password": ann.Password, "code": "000000"})
		s.must(204, "POST", "/api/v1/auth/2fa/disable", tokens.AccessToken, map[string]string{"password": ann.Password, "code": enabled.BackupCodes[1]})
		s.login(&ann)
	})
}

// A system administrator can turn off someone's two-factor sign-in.
func TestAdminResetsTwoFactor(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		root, ann := s.signUp("Root"), s.signUp("Ann")
		var setup auth.TOTPSetup
		s.must(200, "POST", "/api/v1/auth/2fa/setup", ann.Access, map[string]string{"password": ann.Password}).JSON(t, &setup)
		s.must(200, "POST", "/api/v1/auth/2fa/enable", ann.Access, map[string]string{"code": totpAt(t, setup.Secret, s.clock.Now())})
		s.must(403, "POST", "/api/v1/admin/users/"+root.ID+"/reset-2fa", ann.Access, nil)
		s.must(204, "POST", "/api/v1/admin/users/"+ann.ID+"/reset-2fa", root.Access, nil)
		s.must(404, "POST", "/api/v1/admin/users/"+ann.ID+"/reset-2fa", root.Access, nil)
		s.must(401, "GET", "/api/v1/users/me", ann.Access, nil) // sessions ended
		s.login(&ann)                                           // and no second factor asked
	})
}

func TestWrongSecondFactorCodesLockTheAccount(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		var setup auth.TOTPSetup
		s.must(200, "POST", "/api/v1/auth/2fa/setup", ann.Access, map[string]string{"password": ann.Password}).JSON(t, &setup)
		s.must(200, "POST", "/api/v1/auth/2fa/enable", ann.Access, map[string]string{"code": totpAt(t, setup.Secret, s.clock.Now())})
		var step struct{ InterimToken string }
		s.do("POST", "/api/v1/auth/login", "", map[string]string{"email": ann.Email, "password": ann.Password}).JSON(t, &step)
		var last resp
		for range auth.MaxFailedLogins {
			last = s.do("POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": "999999"})
		}
		last = s.do("POST", "/api/v1/auth/2fa/verify", "", map[string]string{"interimToken": step.InterimToken, "code": "999999"})
		if last.Status != 423 || last.Code() != "ACCOUNT_LOCKED" {
			t.Fatalf("after %d wrong codes: %s", auth.MaxFailedLogins+1, last)
		}
	})
}
