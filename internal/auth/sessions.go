package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/auth/token"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/store"
)

// openSession starts a session for userID and issues its first tokens.
func (s *Service) openSession(ctx context.Context, tx *store.Tx, userID string) (Tokens, error) {
	now := s.now()
	sid := newID()
	c := httpapi.ClientFrom(ctx)
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO sessions (id, user_id, created_ms, last_used_ms, expires_ms, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
		sid, userID, ms(now), ms(now), ms(now.Add(RefreshTTL)), c.IP, c.UserAgent); err != nil {
		return Tokens{}, fmt.Errorf("auth: insert session: %w", err)
	}
	return s.issue(ctx, tx, userID, sid, now)
}

// issue stores a new refresh token for the session and signs an access
// token.
func (s *Service) issue(ctx context.Context, tx *store.Tx, userID, sid string, now time.Time) (Tokens, error) {
	refresh, hash := newSecret("qrt_")
	if _, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens (token_hash, session_id, expires_ms) VALUES (?, ?, ?)",
		hash, sid, ms(now.Add(RefreshTTL))); err != nil {
		return Tokens{}, fmt.Errorf("auth: insert refresh token: %w", err)
	}
	access, err := s.accessToken(userID, sid, "", now, AccessTTL)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, ExpiresIn: int(AccessTTL.Seconds()), TokenType: "Bearer"}, nil
}

func (s *Service) accessToken(userID, sid, purpose string, now time.Time, ttl time.Duration) (string, error) {
	return token.Sign(s.cfg.Signing, token.Claims{Subject: userID, SessionID: sid, Purpose: purpose,
		Issuer: issuer, Audience: audience, IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(), ID: newID()})
}

var errBadRefresh = httpapi.Unauthenticated("the refresh token is not valid; sign in again")

// Refresh spends a refresh token and returns new tokens. A token spent
// before means someone else holds a copy: the session is revoked.
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	if len(refresh) == 0 || len(refresh) > 200 {
		return Tokens{}, httpapi.InvalidField("refreshToken", "is required and at most 200 characters")
	}
	now := s.now()
	var out Tokens
	var reused bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		reused = false
		var sid, userID string
		var spent, expires, revoked int64
		var banned bool
		err := tx.QueryRowContext(ctx,
			`SELECT r.session_id, r.spent_ms, r.expires_ms, s.revoked_ms, s.user_id, u.banned
			 FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
			 WHERE r.token_hash = ?`, hashSecret(refresh)).Scan(&sid, &spent, &expires, &revoked, &userID, &banned)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadRefresh
		}
		if err != nil {
			return fmt.Errorf("auth: load refresh token: %w", err)
		}
		if revoked != 0 {
			return errBadRefresh
		}
		if spent == 0 {
			res, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET spent_ms = ? WHERE token_hash = ? AND spent_ms = 0",
				ms(now), hashSecret(refresh))
			if err != nil {
				return fmt.Errorf("auth: spend refresh token: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if expires <= ms(now) {
					return &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeTokenExpired, Message: "the refresh token has expired; sign in again"}
				}
				if banned {
					return errBannedLogin
				}
				if _, err := tx.ExecContext(ctx, "UPDATE sessions SET last_used_ms = ?, expires_ms = ? WHERE id = ?",
					ms(now), ms(now.Add(RefreshTTL)), sid); err != nil {
					return fmt.Errorf("auth: touch session: %w", err)
				}
				out, err = s.issue(ctx, tx, userID, sid, now)
				return err
			}
		}
		// Spent before (or by a concurrent request this instant): revoke
		// the family and say so in the audit log.
		reused = true
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_ms = ? WHERE id = ? AND revoked_ms = 0", ms(now), sid); err != nil {
			return fmt.Errorf("auth: revoke session: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.refresh_reused", TargetKind: "session",
			TargetID: sid, Result: audit.Denied, Detail: "a spent refresh token was presented; the session was revoked"})
	})
	if err != nil {
		return Tokens{}, err
	}
	if reused {
		return Tokens{}, errBadRefresh
	}
	return out, nil
}

// Session is a signed-in device as the API lists it.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	Current    bool      `json:"current"`
}

// Sessions lists the user's open sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID, currentID string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, created_ms, last_used_ms, expires_ms, ip, user_agent FROM sessions
		 WHERE user_id = ? AND revoked_ms = 0 AND expires_ms > ? ORDER BY created_ms DESC, id DESC LIMIT 200`,
		userID, ms(s.now()))
	if err != nil {
		return nil, fmt.Errorf("auth: list sessions: %w", err)
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		var x Session
		var c, l, e int64
		if err := rows.Scan(&x.ID, &c, &l, &e, &x.IP, &x.UserAgent); err != nil {
			return nil, fmt.Errorf("auth: list sessions: %w", err)
		}
		x.CreatedAt, x.LastUsedAt, x.ExpiresAt = time.UnixMilli(c).UTC(), time.UnixMilli(l).UTC(), time.UnixMilli(e).UTC()
		x.Current = x.ID == currentID
		out = append(out, x)
	}
	return out, rows.Err()
}

// RevokeSession ends one of the user's sessions.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_ms = ? WHERE id = ? AND user_id = ? AND revoked_ms = 0",
			ms(s.now()), sessionID, userID)
		if err != nil {
			return fmt.Errorf("auth: revoke session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return httpapi.NotFound("session")
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.session_revoked", TargetKind: "session",
			TargetID: sessionID, Result: audit.Success})
	})
}

// revokeAll ends every session of the user but keep (which may be "").
func revokeAll(ctx context.Context, tx *store.Tx, userID, keep string, now time.Time) error {
	_, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_ms = ? WHERE user_id = ? AND id <> ? AND revoked_ms = 0",
		ms(now), userID, keep)
	if err != nil {
		return fmt.Errorf("auth: revoke sessions of %s: %w", userID, err)
	}
	return nil
}

// ChangePassword replaces the password after checking the current one and
// signs out every other session.
func (s *Service) ChangePassword(ctx context.Context, userID, sessionID, current, next string) error {
	var p httpapi.Problems
	if current == "" {
		p.Add("currentPassword", "is required")
	}
	checkPasswordRules(&p, "newPassword", next)
	if err := p.Err(); err != nil {
		return err
	}
	var hash string
	if err := s.db.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = ?", userID).Scan(&hash); err != nil {
		return fmt.Errorf("auth: load password: %w", err)
	}
	if ok, _, _ := s.check(ctx, current, hash); !ok {
		return &httpapi.Error{Status: http.StatusBadRequest, Code: httpapi.CodeInvalidCredentials, Message: "the current password is wrong",
			Details: []platform.FieldDetail{{Field: "currentPassword", Message: "is wrong"}}}
	}
	newHash, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_ms = ? WHERE id = ?", newHash, ms(now), userID); err != nil {
			return fmt.Errorf("auth: set password: %w", err)
		}
		if err := revokeAll(ctx, tx, userID, sessionID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.password_changed", TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
}
