package workspace

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// InvitationTTL is how long an invitation link works.
const InvitationTTL = 7 * 24 * time.Hour

// Invitation is an open invitation. Token is shown once, to the inviter,
// so they can share the link themselves.
type Invitation struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
	InvitedBy   string    `json:"invitedBy"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Token       string    `json:"token,omitempty"`
	Link        string    `json:"link,omitempty"`
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// Invite invites an email address with a role (member when empty). The
// link is single-use, expires after seven days, and only the account with
// that address can accept it.
func (s *Service) Invite(ctx context.Context, actor access.Actor, wsID, email, roleName string) (Invitation, error) {
	if err := s.can(ctx, actor, access.InviteCreate, wsID); err != nil {
		return Invitation{}, err
	}
	var p httpapi.Problems
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" || len(addr.Address) > 254 || addr.Address != strings.TrimSpace(email) {
		p.Add("email", "must be an email address like ann@example.com")
	}
	role := access.Member
	if roleName != "" {
		var ok bool
		if role, ok = access.ParseRole(roleName); !ok || role == access.Owner {
			p.Add("role", "must be one of admin, moderator, member, guest")
		}
	}
	if err := p.Err(); err != nil {
		return Invitation{}, err
	}
	mine := access.Owner
	if !actor.SystemAdmin {
		if mine, err = s.RoleIn(ctx, wsID, actor.UserID); err != nil {
			return Invitation{}, err
		}
	}
	if role > mine {
		return Invitation{}, httpapi.Forbidden("you may not invite someone with a role above your own (" + mine.String() + ")")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := "qin_" + base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	inv := Invitation{ID: uuid.Must(uuid.NewV7()).String(), WorkspaceID: wsID, Email: strings.ToLower(addr.Address), Role: role.String(),
		InvitedBy: actor.UserID, CreatedAt: now.UTC().Truncate(time.Millisecond), ExpiresAt: now.Add(InvitationTTL).UTC().Truncate(time.Millisecond),
		Token: tok, Link: s.link(tok)}
	var wsName string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		ws, err := s.load(ctx, tx, wsID)
		if err != nil {
			return err
		}
		wsName = ws.Name
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO invitations (id, workspace_id, email, role, token_hash, invited_by, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			inv.ID, wsID, inv.Email, int(role), hashToken(tok), actor.UserID, now.UnixMilli(), now.Add(InvitationTTL).UnixMilli()); err != nil {
			return fmt.Errorf("workspace: insert invitation: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: wsID, ActorID: actor.UserID, Action: "workspace.invited",
			TargetKind: "invitation", TargetID: inv.ID, Result: audit.Success, Detail: role.String()})
	})
	if err != nil {
		return Invitation{}, err
	}
	if s.cfg.Mailer != nil {
		names, _ := s.cfg.People.DisplayNames(ctx, []string{actor.UserID})
		if err := s.cfg.Mailer.SendInvitation(ctx, inv.Email, wsName, names[actor.UserID], inv.Link); err != nil {
			s.cfg.Log.WarnContext(ctx, "invitation_mail_failed", "invitation", inv.ID, "error", err)
		}
	}
	return inv, nil
}

func (s *Service) link(tok string) string {
	base := s.cfg.PublicURL
	if base == "" {
		base = "http://localhost:3000"
	}
	return base + "/invite?token=" + url.QueryEscape(tok)
}

// Invitations lists a workspace's open invitations (admins).
func (s *Service) Invitations(ctx context.Context, actor access.Actor, wsID string) ([]Invitation, error) {
	if err := s.can(ctx, actor, access.InviteList, wsID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, email, role, invited_by, created_ms, expires_ms FROM invitations
		 WHERE workspace_id = ? AND accepted_ms = 0 AND expires_ms > ? ORDER BY created_ms DESC LIMIT 500`, wsID, s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("workspace: invitations: %w", err)
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		inv := Invitation{WorkspaceID: wsID}
		var role int
		var c, e int64
		if err := rows.Scan(&inv.ID, &inv.Email, &role, &inv.InvitedBy, &c, &e); err != nil {
			return nil, fmt.Errorf("workspace: invitations: %w", err)
		}
		inv.Role, inv.CreatedAt, inv.ExpiresAt = access.Role(role).String(), time.UnixMilli(c).UTC(), time.UnixMilli(e).UTC()
		out = append(out, inv)
	}
	return out, rows.Err()
}

var errBadInvitation = httpapi.NotFound("invitation") // same answer for unknown, used and someone else's

// Accept spends an invitation token and makes the actor a member.
func (s *Service) Accept(ctx context.Context, actor access.Actor, tok string) (Workspace, error) {
	if actor.Banned {
		return Workspace{}, access.ErrBanned
	}
	if tok == "" || len(tok) > 200 {
		return Workspace{}, httpapi.InvalidField("token", "is required")
	}
	email, err := s.cfg.People.Email(ctx, actor.UserID)
	if err != nil {
		return Workspace{}, err
	}
	now := s.now()
	var ws Workspace
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var id, wsID, invEmail string
		var role int
		var expires, accepted int64
		err := tx.QueryRowContext(ctx, "SELECT id, workspace_id, email, role, expires_ms, accepted_ms FROM invitations WHERE token_hash = ?",
			hashToken(tok)).Scan(&id, &wsID, &invEmail, &role, &expires, &accepted)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (accepted != 0 || !strings.EqualFold(invEmail, email))) {
			return errBadInvitation
		}
		if err != nil {
			return fmt.Errorf("workspace: load invitation: %w", err)
		}
		if expires <= now.UnixMilli() {
			return httpapi.InvalidField("token", "this invitation has expired; ask for a new one")
		}
		res, err := tx.ExecContext(ctx, "UPDATE invitations SET accepted_ms = ?, accepted_by = ? WHERE id = ? AND accepted_ms = 0",
			now.UnixMilli(), actor.UserID, id)
		if err != nil {
			return fmt.Errorf("workspace: accept: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errBadInvitation
		}
		cur, err := memberRole(ctx, tx, wsID, actor.UserID)
		if err != nil && !isNotFound(err) {
			return err
		}
		if cur == access.None {
			if _, err := tx.ExecContext(ctx, "INSERT INTO workspace_members (workspace_id, user_id, role, joined_ms) VALUES (?, ?, ?, ?)",
				wsID, actor.UserID, role, now.UnixMilli()); err != nil {
				return fmt.Errorf("workspace: join: %w", err)
			}
			cur = access.Role(role)
			for _, h := range s.onJoin {
				if err := h(ctx, tx, wsID, actor.UserID); err != nil {
					return err
				}
			}
			if err := event(ctx, tx, wsID, "member_joined", map[string]string{"userId": actor.UserID, "role": cur.String()}); err != nil {
				return err
			}
		}
		if ws, err = s.load(ctx, tx, wsID); err != nil {
			return err
		}
		ws.Role = cur.String()
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: wsID, ActorID: actor.UserID, Action: "workspace.joined",
			TargetKind: "invitation", TargetID: id, Result: audit.Success})
	})
	return ws, err
}

func isNotFound(err error) bool {
	e, ok := httpapi.As(err)
	return ok && e.Code == httpapi.CodeNotFound
}
