package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// BannedSubject is the bus subject announcing a ban; the realtime hub
// listens on "auth.user.*.banned" and closes the user's connections.
func BannedSubject(userID string) string { return "auth.user." + userID + ".banned" }

// SearchUsers lists accounts whose email or display name contains q
// (case-insensitive), by creation time (system admins).
func (s *Service) SearchUsers(ctx context.Context, q, cursor string, limit int) ([]User, string, error) {
	where, args := "1 = 1", []any{}
	if q = strings.TrimSpace(q); q != "" {
		if len(q) > 100 {
			return nil, "", httpapi.InvalidField("q", "must be at most 100 characters")
		}
		pat := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
		where += ` AND (email LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\')`
		args = append(args, pat, pat)
	}
	if cursor != "" {
		atMS, id, err := httpapi.DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (created_ms > ? OR (created_ms = ? AND id > ?))"
		args = append(args, atMS, atMS, id)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+where+" ORDER BY created_ms, id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("auth: search users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows, s.now())
		if err != nil {
			return nil, "", fmt.Errorf("auth: search users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("auth: search users: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = httpapi.EncodeCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	return out, next, nil
}

// SetBanned bans or unbans a user. A ban takes effect on the user's next
// request and is announced on the bus so realtime connections close too.
func (s *Service) SetBanned(ctx context.Context, actor access.Actor, userID string, banned bool) (User, error) {
	if userID == actor.UserID {
		return User{}, httpapi.Forbidden("you cannot ban or unban yourself")
	}
	now := s.now()
	var u User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET banned = ?, updated_ms = ? WHERE id = ?", store.Flag(banned), ms(now), userID)
		if err != nil {
			return fmt.Errorf("auth: set banned: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return httpapi.NotFound("user")
		}
		action, subject := "admin.user_unbanned", "auth.user."+userID+".unbanned"
		if banned {
			// Sessions stay, so every request of the user is answered
			// USER_BANNED (not a puzzling "signed out"); Authenticate
			// reads the flag on each request.
			action, subject = "admin.user_banned", BannedSubject(userID)
		}
		data, _ := json.Marshal(map[string]any{"type": strings.TrimPrefix(action, "admin."), "userId": userID, "at": now.UTC()})
		if err := outbox.Add(ctx, tx, bus.Message{ID: newID(), Subject: subject, Data: data}); err != nil {
			return err
		}
		if u, err = s.user(ctx, tx, userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: actor.UserID, Action: action, TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
	return u, err
}

// SetSystemAdmin grants or removes system administration; the last
// system administrator cannot be removed.
func (s *Service) SetSystemAdmin(ctx context.Context, actor access.Actor, userID string, admin bool) (User, error) {
	var u User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if !admin {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE system_admin = 1 AND id <> ?", userID).Scan(&n); err != nil {
				return fmt.Errorf("auth: count admins: %w", err)
			}
			if n == 0 {
				return httpapi.Conflict("QuikApp needs a system administrator: make someone else one first")
			}
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET system_admin = ?, updated_ms = ? WHERE id = ?", store.Flag(admin), ms(s.now()), userID)
		if err != nil {
			return fmt.Errorf("auth: set admin: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return httpapi.NotFound("user")
		}
		if u, err = s.user(ctx, tx, userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: actor.UserID, Action: "admin.system_admin_changed", TargetKind: "user",
			TargetID: userID, Result: audit.Success, Detail: fmt.Sprintf("systemAdmin=%t", admin)})
	})
	return u, err
}

// Stats are installation-wide figures for the admin dashboard.
type Stats struct {
	Users          int `json:"users"`
	VerifiedUsers  int `json:"verifiedUsers"`
	BannedUsers    int `json:"bannedUsers"`
	SystemAdmins   int `json:"systemAdmins"`
	ActiveSessions int `json:"activeSessions"`
	SignupsLast7d  int `json:"signupsLast7Days"`
}

// Stats counts.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	now := s.now()
	var st Stats
	err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*), COALESCE(SUM(email_verified), 0), COALESCE(SUM(banned), 0), COALESCE(SUM(system_admin), 0),
		        COALESCE(SUM(CASE WHEN created_ms >= ? THEN 1 ELSE 0 END), 0) FROM users`, ms(now.Add(-7*24*time.Hour))).
		Scan(&st.Users, &st.VerifiedUsers, &st.BannedUsers, &st.SystemAdmins, &st.SignupsLast7d)
	if err != nil {
		return Stats{}, fmt.Errorf("auth: stats: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions WHERE revoked_ms = 0 AND expires_ms > ?", ms(now)).Scan(&st.ActiveSessions); err != nil {
		return Stats{}, fmt.Errorf("auth: stats: %w", err)
	}
	return st, nil
}

// ConfigEntry is one configuration variable as admins see it.
type ConfigEntry struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

// AdminRoutes serves system administration.
type AdminRoutes struct {
	Svc    *Service
	Access *access.Checker
	Log    *slog.Logger
	// Config returns the runtime configuration, secrets already redacted.
	Config func() []ConfigEntry
}

// Mount registers the routes.
func (h *AdminRoutes) Mount(rt *gateway.Router) {
	r := func(pattern, summary string, action access.Action, fn func(*http.Request, access.Actor) (int, any, error), opts ...gateway.Option) {
		rt.Authed(pattern, httpapi.Handle(h.Log, func(req *http.Request) (int, any, error) {
			a, _ := access.ActorFrom(req.Context())
			if err := h.Access.Can(req.Context(), a, action, access.Resource{Kind: "admin route"}); err != nil {
				return 0, nil, err
			}
			return fn(req, a)
		}), append(opts, gateway.Summary(summary))...)
	}
	r("GET /api/v1/admin/users", "Search accounts (system admins)", access.AdminUsers, h.users, gateway.Response(200, httpapi.List[User]{}))
	r("PATCH /api/v1/admin/users/{id}", "Grant or remove system administration", access.AdminUsers, h.patchUser, gateway.Request(AdminUserPatch{}), gateway.Response(200, User{}))
	r("POST /api/v1/admin/users/{id}/ban", "Ban an account: sessions and connections end", access.AdminBan, h.ban(true), gateway.Response(200, User{}))
	r("POST /api/v1/admin/users/{id}/unban", "Lift a ban", access.AdminBan, h.ban(false), gateway.Response(200, User{}))
	r("POST /api/v1/admin/users/{id}/reset-2fa", "Turn someone's two-factor sign-in off (lost device and codes)", access.AdminUsers,
		h.reset2FA, gateway.Response(204, nil))
	r("GET /api/v1/admin/stats", "Installation statistics", access.AdminStats, h.stats, gateway.Response(200, Stats{}))
	r("GET /api/v1/admin/config", "Runtime configuration, secrets redacted", access.AdminConfig, h.config, gateway.Response(200, httpapi.List[ConfigEntry]{}))
}

func (h *AdminRoutes) users(r *http.Request, _ access.Actor) (int, any, error) {
	limit, err := httpapi.Limit(r, 50, 200)
	if err != nil {
		return 0, nil, err
	}
	items, next, err := h.Svc.SearchUsers(r.Context(), r.URL.Query().Get("q"), r.URL.Query().Get("cursor"), limit)
	return http.StatusOK, httpapi.List[User]{Items: items, NextCursor: next}, err
}

func (h *AdminRoutes) patchUser(r *http.Request, a access.Actor) (int, any, error) {
	var in AdminUserPatch
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	if in.SystemAdmin == nil {
		return 0, nil, httpapi.InvalidField("systemAdmin", "is required (true or false)")
	}
	u, err := h.Svc.SetSystemAdmin(r.Context(), a, r.PathValue("id"), *in.SystemAdmin)
	return http.StatusOK, u, err
}

func (h *AdminRoutes) ban(banned bool) func(*http.Request, access.Actor) (int, any, error) {
	return func(r *http.Request, a access.Actor) (int, any, error) {
		u, err := h.Svc.SetBanned(r.Context(), a, r.PathValue("id"), banned)
		return http.StatusOK, u, err
	}
}

func (h *AdminRoutes) stats(r *http.Request, _ access.Actor) (int, any, error) {
	st, err := h.Svc.Stats(r.Context())
	return http.StatusOK, st, err
}

func (h *AdminRoutes) config(*http.Request, access.Actor) (int, any, error) {
	return http.StatusOK, httpapi.List[ConfigEntry]{Items: h.Config()}, nil
}

// AdminUserPatch is the body of PATCH /api/v1/admin/users/{id}.
type AdminUserPatch struct {
	SystemAdmin *bool `json:"systemAdmin"`
}

func (h *AdminRoutes) reset2FA(r *http.Request, a access.Actor) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.ResetTwoFactor(r.Context(), a, r.PathValue("id"))
}
