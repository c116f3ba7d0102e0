package workspace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// Member is one person in a workspace.
type Member struct {
	UserID      string    `json:"userId"`
	DisplayName string    `json:"displayName"`
	Role        string    `json:"role"`
	JoinedAt    time.Time `json:"joinedAt"`
}

// Members lists a workspace's members by join time, a page at a time.
func (s *Service) Members(ctx context.Context, actor access.Actor, wsID, cursor string, limit int) ([]Member, string, error) {
	if err := s.can(ctx, actor, access.MemberList, wsID); err != nil {
		return nil, "", err
	}
	q := "SELECT user_id, role, joined_ms FROM workspace_members WHERE workspace_id = ?"
	args := []any{wsID}
	if cursor != "" {
		at, uid, err := httpapi.DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q += " AND (joined_ms > ? OR (joined_ms = ? AND user_id > ?))"
		args = append(args, at, at, uid)
	}
	q += " ORDER BY joined_ms, user_id LIMIT ?"
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("workspace: members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	var ids []string
	for rows.Next() {
		var m Member
		var role int
		var at int64
		if err := rows.Scan(&m.UserID, &role, &at); err != nil {
			return nil, "", fmt.Errorf("workspace: members: %w", err)
		}
		m.Role, m.JoinedAt = access.Role(role).String(), time.UnixMilli(at).UTC()
		out = append(out, m)
		ids = append(ids, m.UserID)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("workspace: members: %w", err)
	}
	next := ""
	if len(out) > limit {
		out, ids = out[:limit], ids[:limit]
		last := out[limit-1]
		next = httpapi.EncodeCursor(last.JoinedAt.UnixMilli(), last.UserID)
	}
	names, err := s.cfg.People.DisplayNames(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].DisplayName = names[out[i].UserID]
	}
	return out, next, nil
}

func memberRole(ctx context.Context, q store.Querier, wsID, userID string) (access.Role, error) {
	var r int
	err := q.QueryRowContext(ctx, "SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?", wsID, userID).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return access.None, httpapi.NotFound("member")
	}
	if err != nil {
		return access.None, fmt.Errorf("workspace: role: %w", err)
	}
	return access.Role(r), nil
}

func owners(ctx context.Context, tx *store.Tx, wsID string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = ? AND role = ?", wsID, int(access.Owner)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("workspace: count owners: %w", err)
	}
	return n, nil
}

var errLastOwner = httpapi.Conflict("a workspace needs an owner: make someone else owner first")

// ChangeRole sets a member's role. Nobody may give a role above their own
// or change someone who outranks them; only owners make owners.
func (s *Service) ChangeRole(ctx context.Context, actor access.Actor, wsID, userID, roleName string) (Member, error) {
	if err := s.can(ctx, actor, access.MemberSetRole, wsID); err != nil {
		return Member{}, err
	}
	role, ok := access.ParseRole(roleName)
	if !ok {
		return Member{}, httpapi.InvalidField("role", "must be one of owner, admin, moderator, member, guest")
	}
	mine := access.Owner
	if !actor.SystemAdmin {
		var err error
		if mine, err = s.RoleIn(ctx, wsID, actor.UserID); err != nil {
			return Member{}, err
		}
	}
	var m Member
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := memberRole(ctx, tx, wsID, userID)
		if err != nil {
			return err
		}
		if role > mine || cur > mine {
			return httpapi.Forbidden("you may not give a role above your own (" + mine.String() + ") or change someone who outranks you")
		}
		if cur == access.Owner && role != access.Owner {
			if n, err := owners(ctx, tx, wsID); err != nil {
				return err
			} else if n <= 1 {
				return errLastOwner
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE workspace_members SET role = ? WHERE workspace_id = ? AND user_id = ?", int(role), wsID, userID); err != nil {
			return fmt.Errorf("workspace: set role: %w", err)
		}
		var at int64
		if err := tx.QueryRowContext(ctx, "SELECT joined_ms FROM workspace_members WHERE workspace_id = ? AND user_id = ?", wsID, userID).Scan(&at); err != nil {
			return fmt.Errorf("workspace: set role: %w", err)
		}
		m = Member{UserID: userID, Role: role.String(), JoinedAt: time.UnixMilli(at).UTC()}
		if err := event(ctx, tx, wsID, "member_role_changed", map[string]string{"userId": userID, "role": role.String()}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: wsID, ActorID: actor.UserID, Action: "workspace.role_changed",
			TargetKind: "user", TargetID: userID, Result: audit.Success, Detail: cur.String() + " → " + role.String()})
	})
	if err != nil {
		return Member{}, err
	}
	names, err := s.cfg.People.DisplayNames(ctx, []string{userID})
	m.DisplayName = names[userID]
	return m, err
}

// RemoveMember removes someone (admins) or lets a member leave.
func (s *Service) RemoveMember(ctx context.Context, actor access.Actor, wsID, userID string) error {
	if err := s.access.Can(ctx, actor, access.MemberRemove, access.Resource{Kind: "member", ID: userID, WorkspaceID: wsID, OwnerID: userID}); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := memberRole(ctx, tx, wsID, userID)
		if err != nil {
			return err
		}
		if userID != actor.UserID && !actor.SystemAdmin {
			mine, err := memberRole(ctx, tx, wsID, actor.UserID)
			if err != nil {
				return err
			}
			if cur > mine {
				return httpapi.Forbidden("you may not remove someone who outranks you")
			}
		}
		if cur == access.Owner {
			if n, err := owners(ctx, tx, wsID); err != nil {
				return err
			} else if n <= 1 {
				return errLastOwner
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?", wsID, userID); err != nil {
			return fmt.Errorf("workspace: remove member: %w", err)
		}
		for _, h := range s.onLeave {
			if err := h(ctx, tx, wsID, userID); err != nil {
				return err
			}
		}
		if err := event(ctx, tx, wsID, "member_removed", map[string]string{"userId": userID}); err != nil {
			return err
		}
		action := "workspace.member_removed"
		if userID == actor.UserID {
			action = "workspace.member_left"
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: wsID, ActorID: actor.UserID, Action: action,
			TargetKind: "user", TargetID: userID, Result: audit.Success})
	})
}
