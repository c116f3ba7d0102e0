package auth

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// ProfilePatch is a partial profile update; nil fields stay as they are.
type ProfilePatch struct {
	DisplayName *string `json:"displayName"`
	Title       *string `json:"title"`
	TimeZone    *string `json:"timeZone"`
	Locale      *string `json:"locale"`
	// Phone is an E.164 number (+4915112345678) for sign-in codes by SMS.
	Phone *string `json:"phone"`
}

var phoneRE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// locale is a BCP 47 tag of the common shapes: en, en-GB, zh-Hant-TW.
var localeRE = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?$`)

// Profile returns the user as actor may see them (email only to the user
// themself and to system administrators).
func (s *Service) Profile(ctx context.Context, checker *access.Checker, actor access.Actor, id string) (User, error) {
	if err := checker.Can(ctx, actor, access.UserRead, access.Resource{Kind: "user", ID: id, OwnerID: id}); err != nil {
		return User{}, err
	}
	u, err := s.user(ctx, s.db, id)
	if err != nil {
		return User{}, err
	}
	return visible(u, actor), nil
}

func visible(u User, actor access.Actor) User {
	if u.ID != actor.UserID && !actor.SystemAdmin {
		u.Email = ""
		u.Phone = ""
		u.Banned = false
	}
	return u
}

// UpdateProfile applies p to the user's profile.
func (s *Service) UpdateProfile(ctx context.Context, checker *access.Checker, actor access.Actor, id string, p ProfilePatch) (User, error) {
	if err := checker.Can(ctx, actor, access.UserUpdate, access.Resource{Kind: "user", ID: id, OwnerID: id}); err != nil {
		return User{}, err
	}
	var probs httpapi.Problems
	var sets []string
	var args []any
	if p.DisplayName != nil {
		sets, args = append(sets, "display_name = ?"), append(args, cleanName(&probs, "displayName", *p.DisplayName))
	}
	if p.Title != nil {
		t := strings.TrimSpace(*p.Title)
		if len([]rune(t)) > 100 || strings.ContainsAny(t, "\x00\r\n") {
			probs.Add("title", "must be one line of at most 100 characters")
		}
		sets, args = append(sets, "title = ?"), append(args, t)
	}
	if p.TimeZone != nil {
		if tz := *p.TimeZone; tz != "" {
			if _, err := time.LoadLocation(tz); err != nil || len(tz) > 64 || strings.EqualFold(tz, "local") {
				probs.Add("timeZone", "must be an IANA time zone such as Europe/Paris")
			}
		}
		sets, args = append(sets, "time_zone = ?"), append(args, *p.TimeZone)
	}
	if p.Locale != nil {
		if l := *p.Locale; l != "" && !localeRE.MatchString(l) {
			probs.Add("locale", "must be a language tag such as en or pt-BR")
		}
		sets, args = append(sets, "locale = ?"), append(args, *p.Locale)
	}
	if p.Phone != nil {
		if ph := *p.Phone; ph != "" && !phoneRE.MatchString(ph) {
			probs.Add("phone", "must be an international number such as +4915112345678")
		}
		sets, args = append(sets, "phone = ?"), append(args, *p.Phone)
	}
	if err := probs.Err(); err != nil {
		return User{}, err
	}
	if len(sets) == 0 {
		return User{}, httpapi.Invalid("nothing to change: send at least one of displayName, title, timeZone, locale, phone")
	}
	var u User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		args := append(append(args, ms(s.now())), id)
		if _, err := tx.ExecContext(ctx, "UPDATE users SET "+strings.Join(sets, ", ")+", updated_ms = ? WHERE id = ?", args...); err != nil {
			return fmt.Errorf("auth: update profile: %w", err)
		}
		var err error
		if u, err = s.user(ctx, tx, id); err != nil {
			return err
		}
		if actor.UserID != id {
			return audit.Record(ctx, tx, audit.Entry{ActorID: actor.UserID, Action: "admin.profile_changed", TargetKind: "user", TargetID: id, Result: audit.Success})
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return visible(u, actor), nil
}

// DisplayNames returns the display names of the given users (unknown ids
// are left out), for packages that show people.
func (s *Service) DisplayNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q := "SELECT id, display_name FROM users WHERE id IN (?" + strings.Repeat(",?", len(ids)-1) + ")"
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("auth: display names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("auth: display names: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}

// UserIDByEmail finds an account by address ("" when there is none).
func (s *Service) UserIDByEmail(ctx context.Context, email string) (string, error) {
	addr, ok := normalizeEmail(email)
	if !ok {
		return "", nil
	}
	var id string
	err := s.db.QueryRowContext(ctx, "SELECT id FROM users WHERE email = ?", addr).Scan(&id)
	if err != nil && !isNoRows(err) {
		return "", fmt.Errorf("auth: find by email: %w", err)
	}
	return id, nil
}

// Email returns a user's address (for invitations and notifications).
func (s *Service) Email(ctx context.Context, userID string) (string, error) {
	u, err := s.user(ctx, s.db, userID)
	return u.Email, err
}

// ActorFor is the actor a background job acts as for userID (its bans
// and system role as they are now).
func (s *Service) ActorFor(ctx context.Context, userID string) (access.Actor, error) {
	u, err := s.user(ctx, s.db, userID)
	if err != nil {
		return access.Actor{}, err
	}
	return access.Actor{UserID: u.ID, SystemAdmin: u.SystemAdmin, Banned: u.Banned}, nil
}

// LastActive is when the user last used QuikApp: their most recently
// used session (zero when they have none).
func (s *Service) LastActive(ctx context.Context, userID string) (time.Time, error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(last_used_ms) FROM sessions WHERE user_id = ? AND revoked_ms = 0", userID).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("auth: last active: %w", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(last.Int64), nil
}

// TimeZone is the user's IANA time zone ("" when unset).
func (s *Service) TimeZone(ctx context.Context, userID string) (string, error) {
	u, err := s.user(ctx, s.db, userID)
	return u.TimeZone, err
}
