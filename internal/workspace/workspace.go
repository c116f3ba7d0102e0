// Package workspace is workspaces, their members and roles, and
// invitations. It answers access.Memberships, so the access checker reads
// roles from here.
package workspace

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the workspace tables.
var Migrations = store.Migrations{Domain: "workspace", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Workspace is one team's space.
type Workspace struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Role is the caller's role in it.
	Role string `json:"role,omitempty"`
}

// People is what the package needs to know about accounts.
type People interface {
	DisplayNames(ctx context.Context, ids []string) (map[string]string, error)
	Email(ctx context.Context, userID string) (string, error)
}

// Mailer sends invitation emails.
type Mailer interface {
	SendInvitation(ctx context.Context, to, workspaceName, inviterName, link string) error
}

// CreateHook runs inside the transaction that creates a workspace (the
// channel module creates #general this way).
type CreateHook func(ctx context.Context, tx *store.Tx, ws Workspace, ownerID string) error

// JoinHook runs inside the transaction that adds a member (the channel
// module adds them to #general this way).
type JoinHook func(ctx context.Context, tx *store.Tx, workspaceID, userID string) error

// DeleteHook runs inside the transaction that deletes a workspace, to
// remove what other modules keep for it.
type DeleteHook func(ctx context.Context, tx *store.Tx, workspaceID string) error

// Config builds a Service.
type Config struct {
	DB        *store.DB
	Log       *slog.Logger
	People    People
	Mailer    Mailer // nil: invitations are not emailed (the inviter shares the link)
	Now       func() time.Time
	PublicURL string
}

// Service implements workspaces.
type Service struct {
	cfg      Config
	db       *store.DB
	now      func() time.Time
	onCreate []CreateHook
	onJoin   []JoinHook
	onDelete []DeleteHook
	onLeave  []JoinHook
	// access is set by SetChecker once the checker (built from this
	// service) exists.
	access *access.Checker
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, db: cfg.DB, now: cfg.Now}
}

// SetChecker gives the service its access checker.
func (s *Service) SetChecker(c *access.Checker) { s.access = c }

// OnCreate adds a hook run when a workspace is created.
func (s *Service) OnCreate(h CreateHook) { s.onCreate = append(s.onCreate, h) }

// OnJoin adds a hook run when someone joins a workspace.
func (s *Service) OnJoin(h JoinHook) { s.onJoin = append(s.onJoin, h) }

// OnDelete adds a hook run when a workspace is deleted.
func (s *Service) OnDelete(h DeleteHook) { s.onDelete = append(s.onDelete, h) }

// OnLeave adds a hook run when someone leaves or is removed.
func (s *Service) OnLeave(h JoinHook) { s.onLeave = append(s.onLeave, h) }

// RoleIn implements access.Memberships.
func (s *Service) RoleIn(ctx context.Context, workspaceID, userID string) (access.Role, error) {
	if workspaceID == "" || userID == "" {
		return access.None, nil
	}
	var r int
	err := s.db.QueryRowContext(ctx, "SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?", workspaceID, userID).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return access.None, nil
	}
	if err != nil {
		return access.None, fmt.Errorf("workspace: role of %s in %s: %w", userID, workspaceID, err)
	}
	return access.Role(r), nil
}

// ShareWorkspace implements access.Memberships.
func (s *Service) ShareWorkspace(ctx context.Context, a, b string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx,
		`SELECT 1 FROM workspace_members x JOIN workspace_members y ON y.workspace_id = x.workspace_id
		 WHERE x.user_id = ? AND y.user_id = ? LIMIT 1`, a, b).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("workspace: do %s and %s share a workspace: %w", a, b, err)
	}
	return true, nil
}

// CommonWorkspaces returns up to limit workspaces every one of users is
// a member of.
func (s *Service) CommonWorkspaces(ctx context.Context, users []string, limit int) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(users)+2)
	for _, u := range users {
		args = append(args, u)
	}
	args = append(args, len(users), limit)
	rows, err := s.db.QueryContext(ctx, `SELECT workspace_id FROM workspace_members WHERE user_id IN (?`+strings.Repeat(",?", len(users)-1)+`)
		GROUP BY workspace_id HAVING COUNT(*) = ? ORDER BY workspace_id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("workspace: common workspaces: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("workspace: common workspaces: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$`)

func checkName(p *httpapi.Problems, name string) string {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		p.Add("name", "is required")
	case n > 80:
		p.Add("name", "must be at most 80 characters")
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		p.Add("name", "must not contain control characters")
	}
	return name
}

func checkSlug(p *httpapi.Problems, slug string) string {
	if !slugRE.MatchString(slug) {
		p.Add("slug", "must be 1 to 50 lower-case letters, digits and dashes, not starting or ending with a dash")
	}
	return slug
}

var errSlugTaken = httpapi.Conflict("this slug is taken; choose another")

// Create makes a workspace with the actor as its owner.
func (s *Service) Create(ctx context.Context, actor access.Actor, name, slug string) (Workspace, error) {
	var p httpapi.Problems
	name = checkName(&p, name)
	slug = checkSlug(&p, slug)
	if err := p.Err(); err != nil {
		return Workspace{}, err
	}
	now := s.now()
	ws := Workspace{ID: uuid.Must(uuid.NewV7()).String(), Slug: slug, Name: name, CreatedBy: actor.UserID,
		CreatedAt: now.UTC().Truncate(time.Millisecond), UpdatedAt: now.UTC().Truncate(time.Millisecond), Role: access.Owner.String()}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO workspaces (id, slug, name, created_by, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
			ws.ID, slug, name, actor.UserID, now.UnixMilli(), now.UnixMilli())
		if tx.Dialect().IsUniqueViolation(err) {
			return errSlugTaken
		}
		if err != nil {
			return fmt.Errorf("workspace: insert: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO workspace_members (workspace_id, user_id, role, joined_ms) VALUES (?, ?, ?, ?)",
			ws.ID, actor.UserID, int(access.Owner), now.UnixMilli()); err != nil {
			return fmt.Errorf("workspace: add owner: %w", err)
		}
		for _, h := range s.onCreate {
			if err := h(ctx, tx, ws, actor.UserID); err != nil {
				return err
			}
		}
		if err := event(ctx, tx, ws.ID, "created", ws); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: ws.ID, ActorID: actor.UserID, Action: "workspace.created",
			TargetKind: "workspace", TargetID: ws.ID, Result: audit.Success})
	})
	if err != nil {
		return Workspace{}, err
	}
	return ws, nil
}

// event adds workspace.<id>.<kind> to the outbox.
func event(ctx context.Context, tx *store.Tx, wsID, kind string, payload any) error {
	data, err := json.Marshal(map[string]any{"type": "workspace." + kind, "workspaceId": wsID, "data": payload})
	if err != nil {
		return fmt.Errorf("workspace: encode event: %w", err)
	}
	return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "workspace." + wsID + "." + kind, Data: data})
}

func (s *Service) can(ctx context.Context, actor access.Actor, a access.Action, wsID string) error {
	return s.access.Can(ctx, actor, a, access.Resource{Kind: "workspace", ID: wsID, WorkspaceID: wsID})
}

// Get returns a workspace the actor belongs to.
func (s *Service) Get(ctx context.Context, actor access.Actor, id string) (Workspace, error) {
	if err := s.can(ctx, actor, access.WorkspaceRead, id); err != nil {
		return Workspace{}, err
	}
	ws, err := s.load(ctx, s.db, id)
	if err != nil {
		return Workspace{}, err
	}
	role, err := s.RoleIn(ctx, id, actor.UserID)
	if err != nil {
		return Workspace{}, err
	}
	if role != access.None {
		ws.Role = role.String()
	}
	return ws, nil
}

func (s *Service) load(ctx context.Context, q store.Querier, id string) (Workspace, error) {
	var ws Workspace
	var c, u int64
	err := q.QueryRowContext(ctx, "SELECT id, slug, name, created_by, created_ms, updated_ms FROM workspaces WHERE id = ?", id).
		Scan(&ws.ID, &ws.Slug, &ws.Name, &ws.CreatedBy, &c, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return Workspace{}, httpapi.NotFound("workspace")
	}
	if err != nil {
		return Workspace{}, fmt.Errorf("workspace: load %s: %w", id, err)
	}
	ws.CreatedAt, ws.UpdatedAt = time.UnixMilli(c).UTC(), time.UnixMilli(u).UTC()
	return ws, nil
}

// List returns the actor's workspaces, by name.
func (s *Service) List(ctx context.Context, actor access.Actor) ([]Workspace, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT w.id, w.slug, w.name, w.created_by, w.created_ms, w.updated_ms, m.role
		 FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
		 WHERE m.user_id = ? ORDER BY w.name, w.id LIMIT 500`, actor.UserID)
	if err != nil {
		return nil, fmt.Errorf("workspace: list: %w", err)
	}
	defer rows.Close()
	out := []Workspace{}
	for rows.Next() {
		var ws Workspace
		var c, u int64
		var role int
		if err := rows.Scan(&ws.ID, &ws.Slug, &ws.Name, &ws.CreatedBy, &c, &u, &role); err != nil {
			return nil, fmt.Errorf("workspace: list: %w", err)
		}
		ws.CreatedAt, ws.UpdatedAt, ws.Role = time.UnixMilli(c).UTC(), time.UnixMilli(u).UTC(), access.Role(role).String()
		out = append(out, ws)
	}
	return out, rows.Err()
}

// Patch is a partial update.
type Patch struct {
	Name *string `json:"name"`
	Slug *string `json:"slug"`
}

// Update renames a workspace or changes its slug.
func (s *Service) Update(ctx context.Context, actor access.Actor, id string, p Patch) (Workspace, error) {
	if err := s.can(ctx, actor, access.WorkspaceUpdate, id); err != nil {
		return Workspace{}, err
	}
	var probs httpapi.Problems
	var sets []string
	var args []any
	if p.Name != nil {
		sets, args = append(sets, "name = ?"), append(args, checkName(&probs, *p.Name))
	}
	if p.Slug != nil {
		sets, args = append(sets, "slug = ?"), append(args, checkSlug(&probs, *p.Slug))
	}
	if err := probs.Err(); err != nil {
		return Workspace{}, err
	}
	if len(sets) == 0 {
		return Workspace{}, httpapi.Invalid("nothing to change: send name or slug")
	}
	var ws Workspace
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE workspaces SET "+strings.Join(sets, ", ")+", updated_ms = ? WHERE id = ?",
			append(args, s.now().UnixMilli(), id)...)
		if tx.Dialect().IsUniqueViolation(err) {
			return errSlugTaken
		}
		if err != nil {
			return fmt.Errorf("workspace: update: %w", err)
		}
		if ws, err = s.load(ctx, tx, id); err != nil {
			return err
		}
		if err := event(ctx, tx, id, "updated", ws); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: id, ActorID: actor.UserID, Action: "workspace.updated",
			TargetKind: "workspace", TargetID: id, Result: audit.Success})
	})
	return ws, err
}

// Delete removes a workspace and everything in it (owner only).
func (s *Service) Delete(ctx context.Context, actor access.Actor, id string) error {
	if err := s.can(ctx, actor, access.WorkspaceDelete, id); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, h := range s.onDelete {
			if err := h(ctx, tx, id); err != nil {
				return err
			}
		}
		for _, q := range []string{
			"DELETE FROM invitations WHERE workspace_id = ?",
			"DELETE FROM workspace_members WHERE workspace_id = ?",
			"DELETE FROM workspaces WHERE id = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("workspace: delete %s: %w", id, err)
			}
		}
		if err := event(ctx, tx, id, "deleted", map[string]string{"id": id}); err != nil {
			return err
		}
		// The audit entry keeps the workspace id so system admins can see it.
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: id, ActorID: actor.UserID, Action: "workspace.deleted",
			TargetKind: "workspace", TargetID: id, Result: audit.Success})
	})
}
