package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// Purposes of emailed tokens.
const (
	purposeVerify = "verify_email"
	purposeReset  = "reset_password"
)

// newEmailToken stores a single-use token for userID and returns it.
func (s *Service) newEmailToken(ctx context.Context, q store.Querier, userID, purpose string, ttl time.Duration) (string, error) {
	secret, hash := newSecret("qet_")
	// Only the newest link of a kind works: older ones are used up.
	if _, err := q.ExecContext(ctx, "UPDATE email_tokens SET used_ms = ? WHERE user_id = ? AND purpose = ? AND used_ms = 0",
		ms(s.now()), userID, purpose); err != nil {
		return "", fmt.Errorf("auth: retire old %s tokens: %w", purpose, err)
	}
	if _, err := q.ExecContext(ctx, "INSERT INTO email_tokens (token_hash, user_id, purpose, expires_ms) VALUES (?, ?, ?, ?)",
		hash, userID, purpose, ms(s.now().Add(ttl))); err != nil {
		return "", fmt.Errorf("auth: store %s token: %w", purpose, err)
	}
	return secret, nil
}

// spendEmailToken marks a token used and returns its user.
func (s *Service) spendEmailToken(ctx context.Context, tx *store.Tx, secret, purpose string) (string, error) {
	bad := httpapi.InvalidField("token", "this link is not valid or was already used; ask for a new one")
	if secret == "" || len(secret) > 200 {
		return "", bad
	}
	var userID string
	var expires, used int64
	err := tx.QueryRowContext(ctx, "SELECT user_id, expires_ms, used_ms FROM email_tokens WHERE token_hash = ? AND purpose = ?",
		hashSecret(secret), purpose).Scan(&userID, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && used != 0) {
		return "", bad
	}
	if err != nil {
		return "", fmt.Errorf("auth: load %s token: %w", purpose, err)
	}
	if expires <= ms(s.now()) {
		return "", httpapi.InvalidField("token", "this link has expired; ask for a new one")
	}
	res, err := tx.ExecContext(ctx, "UPDATE email_tokens SET used_ms = ? WHERE token_hash = ? AND used_ms = 0", ms(s.now()), hashSecret(secret))
	if err != nil {
		return "", fmt.Errorf("auth: spend %s token: %w", purpose, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", bad
	}
	return userID, nil
}

func (s *Service) link(path, tok string) string {
	base := s.cfg.PublicURL
	if base == "" {
		base = "http://localhost:3000"
	}
	return base + path + "?token=" + url.QueryEscape(tok)
}

func (s *Service) sendVerification(ctx context.Context, u User) error {
	if u.EmailVerified {
		return nil
	}
	tok, err := s.newEmailToken(ctx, s.db, u.ID, purposeVerify, verifyTTL)
	if err != nil {
		return err
	}
	return s.cfg.Mailer.SendMail(ctx, Mail{To: u.Email, Subject: "Verify your email address for QuikApp",
		Text: "Hello " + u.DisplayName + ",\n\nConfirm this address by opening:\n" + s.link("/verify-email", tok) +
			"\n\nThe link works once, for 48 hours. If you did not sign up, ignore this email.\n"})
}

// RequestVerification sends a new verification link to the user.
func (s *Service) RequestVerification(ctx context.Context, userID string) error {
	u, err := s.user(ctx, s.db, userID)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return httpapi.Conflict("this email address is already verified")
	}
	return s.sendVerification(ctx, u)
}

// ConfirmEmail spends a verification token.
func (s *Service) ConfirmEmail(ctx context.Context, secret string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		userID, err := s.spendEmailToken(ctx, tx, secret, purposeVerify)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET email_verified = 1, updated_ms = ? WHERE id = ?", ms(s.now()), userID); err != nil {
			return fmt.Errorf("auth: mark verified: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.email_verified", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
}

// RequestPasswordReset emails a reset link if the address has an
// account. It answers the same either way, so it cannot be used to find
// out who has an account.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	addr, ok := normalizeEmail(email)
	if !ok {
		return httpapi.InvalidField("email", "must be an email address like ann@example.com")
	}
	var id, name string
	err := s.db.QueryRowContext(ctx, "SELECT id, display_name FROM users WHERE email = ?", addr).Scan(&id, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: find account: %w", err)
	}
	var tok string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if tok, err = s.newEmailToken(ctx, tx, id, purposeReset, resetTTL); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "auth.password_reset_requested", TargetKind: "user", TargetID: id, Result: audit.Success})
	})
	if err != nil {
		return err
	}
	if err := s.cfg.Mailer.SendMail(ctx, Mail{To: addr, Subject: "Reset your QuikApp password",
		Text: "Hello " + name + ",\n\nChoose a new password by opening:\n" + s.link("/reset-password", tok) +
			"\n\nThe link works once, for one hour. If you did not ask for this, ignore this email; your password stays as it is.\n"}); err != nil {
		s.log.WarnContext(ctx, "reset_mail_failed", "user", id, "error", err)
	}
	return nil
}

// ResetPassword spends a reset token, sets the password, clears any
// lockout and signs out every session.
func (s *Service) ResetPassword(ctx context.Context, secret, password string) error {
	var p httpapi.Problems
	checkPasswordRules(&p, "password", password)
	if err := p.Err(); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		userID, err := s.spendEmailToken(ctx, tx, secret, purposeReset)
		if err != nil {
			return err
		}
		// Following the emailed link proves the address too.
		if _, err := tx.ExecContext(ctx,
			"UPDATE users SET password_hash = ?, failed_logins = 0, locked_until_ms = 0, email_verified = 1, updated_ms = ? WHERE id = ?",
			hash, ms(now), userID); err != nil {
			return fmt.Errorf("auth: set password: %w", err)
		}
		if err := revokeAll(ctx, tx, userID, "", now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.password_reset", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
}
