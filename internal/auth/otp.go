package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// One-time sign-in codes (product.md: 6 digits, 5 minutes, 3 tries).
const (
	OTPTTL      = 5 * time.Minute
	OTPTries    = 3
	otpPerQuota = 3 // codes per account per otpQuota, beyond which none are sent
	otpQuota    = 15 * time.Minute
)

// SMSSender sends a text message to an E.164 number.
type SMSSender interface {
	SendSMS(ctx context.Context, to, text string) error
}

func newOTP() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// RequestLoginCode sends a sign-in code by email or SMS (to the phone on
// the profile). It answers the same whether or not the account exists,
// and sends at most three codes per account per 15 minutes.
func (s *Service) RequestLoginCode(ctx context.Context, email, channel string) error {
	var p httpapi.Problems
	addr, ok := normalizeEmail(email)
	if !ok {
		p.Add("email", "must be an email address like ann@example.com")
	}
	if channel == "" {
		channel = "email"
	}
	if channel != "email" && channel != "sms" {
		p.Add("channel", "must be email or sms")
	}
	if err := p.Err(); err != nil {
		return err
	}
	if channel == "sms" && s.cfg.SMS == nil {
		return httpapi.InvalidField("channel", "sign-in codes by SMS are not set up on this server")
	}
	var id, phone string
	var banned bool
	err := s.db.QueryRowContext(ctx, "SELECT id, phone, banned FROM users WHERE email = ?", addr).Scan(&id, &phone, &banned)
	if errors.Is(err, sql.ErrNoRows) || banned || (channel == "sms" && phone == "") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: find account: %w", err)
	}
	now := s.now()
	code := newOTP()
	send := false
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var recent int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM login_codes WHERE user_id = ? AND expires_ms > ?",
			id, ms(now.Add(OTPTTL-otpQuota))).Scan(&recent); err != nil {
			return fmt.Errorf("auth: count codes: %w", err)
		}
		if recent >= otpPerQuota {
			return audit.Record(ctx, tx, audit.Entry{Action: "auth.login_code", TargetKind: "user", TargetID: id, Result: audit.Denied, Detail: "quota"})
		}
		// A new code replaces the old ones.
		if _, err := tx.ExecContext(ctx, "UPDATE login_codes SET used_ms = ? WHERE user_id = ? AND used_ms = 0", ms(now), id); err != nil {
			return fmt.Errorf("auth: retire codes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO login_codes (id, user_id, code_hash, channel, expires_ms) VALUES (?, ?, ?, ?, ?)",
			newID(), id, hashSecret(id+":"+code), channel, ms(now.Add(OTPTTL))); err != nil {
			return fmt.Errorf("auth: store code: %w", err)
		}
		send = true
		return audit.Record(ctx, tx, audit.Entry{Action: "auth.login_code", TargetKind: "user", TargetID: id, Result: audit.Success, Detail: channel})
	})
	if err != nil || !send {
		return err
	}
	text := "Your QuikApp sign-in code is " + code + ". It works once, for 5 minutes. Nobody from QuikApp will ask you for it."
	if channel == "sms" {
		err = s.cfg.SMS.SendSMS(ctx, phone, text)
	} else {
		err = s.cfg.Mailer.SendMail(ctx, Mail{To: addr, Subject: "Your QuikApp sign-in code: " + code, Text: text + "\n"})
	}
	if err != nil {
		s.log.WarnContext(ctx, "login_code_send_failed", "user", id, "channel", channel, "error", err)
	}
	return nil
}

var errBadOTP = &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeInvalidCredentials,
	Message: "the code is wrong, used or expired; ask for a new one"}

// LoginWithCode signs in with an emailed or texted code. Each code allows
// three tries; an account with two-factor sign-in on still needs its
// second factor.
func (s *Service) LoginWithCode(ctx context.Context, email, code string) (Tokens, error) {
	addr, ok := normalizeEmail(email)
	code = strings.TrimSpace(code)
	if !ok || len(code) != 6 {
		return Tokens{}, httpapi.Invalid("send the email address and the 6-digit code")
	}
	var id string
	var banned bool
	var lockedUntil int64
	err := s.db.QueryRowContext(ctx, "SELECT id, banned, locked_until_ms FROM users WHERE email = ?", addr).Scan(&id, &banned, &lockedUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return Tokens{}, errBadOTP
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: find account: %w", err)
	}
	now := s.now()
	if lockedUntil > ms(now) {
		return Tokens{}, lockedError(time.UnixMilli(lockedUntil).Sub(now))
	}
	good := false
	var channel string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var codeID, hash string
		var tries int
		err := tx.QueryRowContext(ctx,
			"SELECT id, code_hash, tries, channel FROM login_codes WHERE user_id = ? AND used_ms = 0 AND expires_ms > ? ORDER BY expires_ms DESC LIMIT 1",
			id, ms(now)).Scan(&codeID, &hash, &tries, &channel)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auth: load code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(hash), []byte(hashSecret(id+":"+code))) == 1 {
			good = true
			_, err := tx.ExecContext(ctx, "UPDATE login_codes SET used_ms = ? WHERE id = ?", ms(now), codeID)
			return err
		}
		// A wrong try; the third one uses the code up.
		used := int64(0)
		if tries+1 >= OTPTries {
			used = ms(now)
		}
		_, err = tx.ExecContext(ctx, "UPDATE login_codes SET tries = tries + 1, used_ms = ? WHERE id = ?", used, codeID)
		return err
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: check code: %w", err)
	}
	if !good {
		return Tokens{}, errBadOTP
	}
	if banned {
		return Tokens{}, errBannedLogin
	}
	if on, err := s.totpEnabled(ctx, s.db, id); err != nil {
		return Tokens{}, err
	} else if on {
		return Tokens{}, s.twoFactorRequired(id)
	}
	var t Tokens
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		// Receiving the code by email proves the address.
		if channel == "email" {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET email_verified = 1 WHERE id = ?", id); err != nil {
				return fmt.Errorf("auth: mark verified: %w", err)
			}
		}
		var err error
		if t, err = s.openSession(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: id, Action: "auth.login", TargetKind: "user", TargetID: id, Result: audit.Success, Detail: "with a one-time code"})
	})
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.user(ctx, s.db, id)
	if err != nil {
		return Tokens{}, err
	}
	t.User = &u
	return t, nil
}
