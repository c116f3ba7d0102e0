package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// InterimTTL is how long the interim token of a two-factor sign-in lives.
const InterimTTL = 5 * time.Minute

const backupCodeCount = 10

// TOTPSetup is what the user needs to add QuikApp to an authenticator app.
type TOTPSetup struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauthUrl"`
}

func (s *Service) checkOwnPassword(ctx context.Context, userID, password string) error {
	var hash string
	if err := s.db.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = ?", userID).Scan(&hash); err != nil {
		return fmt.Errorf("auth: load password: %w", err)
	}
	if ok, _, _ := s.check(ctx, password, hash); !ok {
		return &httpapi.Error{Status: http.StatusBadRequest, Code: httpapi.CodeInvalidCredentials, Message: "the password is wrong"}
	}
	return nil
}

func (s *Service) totpEnabled(ctx context.Context, q store.Querier, userID string) (bool, error) {
	var enabled int64
	err := q.QueryRowContext(ctx, "SELECT enabled_ms FROM user_totp WHERE user_id = ?", userID).Scan(&enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: load 2fa: %w", err)
	}
	return enabled != 0, nil
}

// SetupTOTP starts two-factor setup after checking the password: a new
// secret is kept pending until EnableTOTP confirms a code from it.
func (s *Service) SetupTOTP(ctx context.Context, userID, password string) (TOTPSetup, error) {
	if err := s.checkOwnPassword(ctx, userID, password); err != nil {
		return TOTPSetup{}, err
	}
	if on, err := s.totpEnabled(ctx, s.db, userID); err != nil {
		return TOTPSetup{}, err
	} else if on {
		return TOTPSetup{}, httpapi.Conflict("two-factor sign-in is already on; turn it off first to change the device")
	}
	u, err := s.user(ctx, s.db, userID)
	if err != nil {
		return TOTPSetup{}, err
	}
	secret := newTOTPSecret()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_totp WHERE user_id = ?", userID); err != nil {
			return fmt.Errorf("auth: reset 2fa: %w", err)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO user_totp (user_id, secret) VALUES (?, ?)", userID, secret)
		if err != nil {
			return fmt.Errorf("auth: store 2fa secret: %w", err)
		}
		return nil
	})
	if err != nil {
		return TOTPSetup{}, err
	}
	return TOTPSetup{Secret: secret, OTPAuthURL: otpauthURL(secret, u.Email)}, nil
}

var errBadCode = &httpapi.Error{Status: http.StatusBadRequest, Code: httpapi.CodeInvalidCredentials,
	Message: "the code is wrong or was already used", Details: nil}

// EnableTOTP confirms setup with a current code and returns the backup
// codes, shown this once.
func (s *Service) EnableTOTP(ctx context.Context, userID, code string) ([]string, error) {
	code = strings.TrimSpace(code)
	var codes []string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var secret string
		var enabled, last int64
		err := tx.QueryRowContext(ctx, "SELECT secret, enabled_ms, last_step FROM user_totp WHERE user_id = ?", userID).Scan(&secret, &enabled, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return httpapi.Conflict("start two-factor setup first")
		}
		if err != nil {
			return fmt.Errorf("auth: load 2fa: %w", err)
		}
		if enabled != 0 {
			return httpapi.Conflict("two-factor sign-in is already on")
		}
		step := totpMatch(secret, code, s.now(), last)
		if step == 0 {
			return errBadCode
		}
		if _, err := tx.ExecContext(ctx, "UPDATE user_totp SET enabled_ms = ?, last_step = ? WHERE user_id = ?", ms(s.now()), step, userID); err != nil {
			return fmt.Errorf("auth: enable 2fa: %w", err)
		}
		if codes, err = newBackupCodes(ctx, tx, userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.2fa_enabled", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
	return codes, err
}

func newBackupCodes(ctx context.Context, tx *store.Tx, userID string) ([]string, error) {
	if _, err := tx.ExecContext(ctx, "DELETE FROM backup_codes WHERE user_id = ?", userID); err != nil {
		return nil, fmt.Errorf("auth: drop backup codes: %w", err)
	}
	codes := make([]string, backupCodeCount)
	for i := range codes {
		raw := strings.ToLower(newTOTPSecret()[:10]) // 50 bits
		codes[i] = raw[:5] + "-" + raw[5:]
		if _, err := tx.ExecContext(ctx, "INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)", userID, hashSecret(raw)); err != nil {
			return nil, fmt.Errorf("auth: store backup code: %w", err)
		}
	}
	return codes, nil
}

// useSecondFactor spends a TOTP code or a backup code of the user.
func (s *Service) useSecondFactor(ctx context.Context, tx *store.Tx, userID, code string) (bool, error) {
	code = strings.ToLower(strings.TrimSpace(code))
	if len(code) == totpDigits {
		var secret string
		var last int64
		err := tx.QueryRowContext(ctx, "SELECT secret, last_step FROM user_totp WHERE user_id = ? AND enabled_ms <> 0", userID).Scan(&secret, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("auth: load 2fa: %w", err)
		}
		step := totpMatch(secret, code, s.now(), last)
		if step == 0 {
			return false, nil
		}
		// Conditional, so two requests with one code cannot both pass.
		res, err := tx.ExecContext(ctx, "UPDATE user_totp SET last_step = ? WHERE user_id = ? AND last_step < ?", step, userID, step)
		if err != nil {
			return false, fmt.Errorf("auth: spend 2fa code: %w", err)
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	raw := strings.ReplaceAll(code, "-", "")
	if len(raw) != 10 {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, "UPDATE backup_codes SET used_ms = ? WHERE user_id = ? AND code_hash = ? AND used_ms = 0",
		ms(s.now()), userID, hashSecret(raw))
	if err != nil {
		return false, fmt.Errorf("auth: spend backup code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DisableTOTP turns two-factor sign-in off; it needs the password and a
// current code (or a backup code).
func (s *Service) DisableTOTP(ctx context.Context, userID, password, code string) error {
	if err := s.checkOwnPassword(ctx, userID, password); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ok, err := s.useSecondFactor(ctx, tx, userID, code)
		if err != nil {
			return err
		}
		if !ok {
			return errBadCode
		}
		for _, q := range []string{"DELETE FROM user_totp WHERE user_id = ?", "DELETE FROM backup_codes WHERE user_id = ?"} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return fmt.Errorf("auth: disable 2fa: %w", err)
			}
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.2fa_disabled", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
}

// twoFactorRequired is Login's answer for an account with 2FA on.
func (s *Service) twoFactorRequired(userID string) error {
	tok, err := s.accessToken(userID, "", purposeTwoFactor, s.now(), InterimTTL)
	if err != nil {
		return err
	}
	return &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeTwoFactorRequired,
		Message: "enter the code from your authenticator app (or a backup code)",
		Extra:   map[string]any{"interimToken": tok, "expiresIn": int(InterimTTL.Seconds())}}
}

const purposeTwoFactor = "2fa"

// VerifyTwoFactor finishes a sign-in with the interim token and a code.
// Wrong codes count toward the lockout like wrong passwords.
func (s *Service) VerifyTwoFactor(ctx context.Context, interim, code string) (Tokens, error) {
	c, err := s.verifier.Verify(interim, purposeTwoFactor)
	if err != nil {
		return Tokens{}, httpapi.Unauthenticated("the sign-in step has expired or is not valid; sign in again")
	}
	var lockedUntil int64
	var banned bool
	if err := s.db.QueryRowContext(ctx, "SELECT locked_until_ms, banned FROM users WHERE id = ?", c.Subject).Scan(&lockedUntil, &banned); err != nil {
		return Tokens{}, httpapi.Unauthenticated("the sign-in step is not valid; sign in again")
	}
	now := s.now()
	if lockedUntil > ms(now) {
		return Tokens{}, lockedError(time.UnixMilli(lockedUntil).Sub(now))
	}
	if banned {
		return Tokens{}, errBannedLogin
	}
	var t Tokens
	var bad bool
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ok, err := s.useSecondFactor(ctx, tx, c.Subject, code)
		if err != nil {
			return err
		}
		if !ok {
			bad = true
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET failed_logins = 0 WHERE id = ?", c.Subject); err != nil {
			return fmt.Errorf("auth: reset failures: %w", err)
		}
		if t, err = s.openSession(ctx, tx, c.Subject); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: c.Subject, Action: "auth.login", TargetKind: "user", TargetID: c.Subject,
			Result: audit.Success, Detail: "with second factor"})
	})
	if err != nil {
		return Tokens{}, err
	}
	if bad {
		// loginFailed answers the lockout, or bad credentials, which for
		// this step reads better as "the code is wrong".
		if err := s.loginFailed(ctx, c.Subject, now); !isBadCredentials(err) {
			return Tokens{}, err
		}
		return Tokens{}, errBadCode
	}
	u, err := s.user(ctx, s.db, c.Subject)
	if err != nil {
		return Tokens{}, err
	}
	t.User = &u
	return t, nil
}

func isBadCredentials(err error) bool { return err == errBadCredentials }

// RegenerateBackupCodes replaces the backup codes (the old ones stop
// working); it needs the password and two-factor sign-in to be on.
func (s *Service) RegenerateBackupCodes(ctx context.Context, userID, password string) ([]string, error) {
	if err := s.checkOwnPassword(ctx, userID, password); err != nil {
		return nil, err
	}
	var codes []string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if on, err := s.totpEnabled(ctx, tx, userID); err != nil {
			return err
		} else if !on {
			return httpapi.Conflict("turn two-factor sign-in on first")
		}
		var err error
		if codes, err = newBackupCodes(ctx, tx, userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.backup_codes_regenerated", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
	return codes, err
}

// ResetTwoFactor turns someone's two-factor sign-in off (a system
// administrator helping a person who lost their device and codes) and
// ends their sessions.
func (s *Service) ResetTwoFactor(ctx context.Context, actor access.Actor, userID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM user_totp WHERE user_id = ?", userID)
		if err != nil {
			return fmt.Errorf("auth: reset 2fa: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return httpapi.NotFound("two-factor setup")
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM backup_codes WHERE user_id = ?", userID); err != nil {
			return fmt.Errorf("auth: reset 2fa: %w", err)
		}
		if err := revokeAll(ctx, tx, userID, "", s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: actor.UserID, Action: "admin.2fa_reset", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
}
