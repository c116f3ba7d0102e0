// Package channel is channels: public and private ones with names unique
// in their workspace, #general that every member of a workspace is in,
// and channel membership. (Direct messages, sidebar sections, mute and
// notification levels come with the messaging work.)
package channel

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
	"github.com/quikapp/quikapp/internal/workspace"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the channel tables.
var Migrations = store.Migrations{Domain: "channel", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Kinds of channel.
const (
	Public  = "public"
	Private = "private"
)

// GeneralName is the channel every workspace starts with.
const GeneralName = "general"

// Channel is a channel as the API shows it.
type Channel struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	Topic       string    `json:"topic"`
	Purpose     string    `json:"purpose"`
	IsGeneral   bool      `json:"isGeneral"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	Archived    bool      `json:"archived"`
	IsMember    bool      `json:"isMember"`
	MemberCount int       `json:"memberCount"`
}

// Service implements channels.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	access *access.Checker
	now    func() time.Time
	blocks Blocks
	// workspaces answers which workspaces people share.
	workspaces *workspace.Service
}

// New returns a Service and hooks it into workspace creation and joining.
func New(db *store.DB, log *slog.Logger, checker *access.Checker, ws *workspace.Service, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{db: db, log: log, access: checker, now: now, workspaces: ws}
	ws.OnCreate(s.createGeneral)
	ws.OnJoin(s.joinGeneral)
	ws.OnDelete(s.deleteWorkspace)
	ws.OnLeave(s.leaveWorkspace)
	return s
}

// deleteWorkspace removes a deleted workspace's channels.
func (s *Service) deleteWorkspace(ctx context.Context, tx *store.Tx, wsID string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM channel_members WHERE channel_id IN (SELECT id FROM channels WHERE workspace_id = ?)", wsID); err != nil {
		return fmt.Errorf("channel: delete members of %s: %w", wsID, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM channels WHERE workspace_id = ?", wsID); err != nil {
		return fmt.Errorf("channel: delete channels of %s: %w", wsID, err)
	}
	return nil
}

// leaveWorkspace takes someone who left a workspace out of its channels.
func (s *Service) leaveWorkspace(ctx context.Context, tx *store.Tx, wsID, userID string) error {
	_, err := tx.ExecContext(ctx, "DELETE FROM channel_members WHERE user_id = ? AND channel_id IN (SELECT id FROM channels WHERE workspace_id = ?)", userID, wsID)
	if err != nil {
		return fmt.Errorf("channel: remove %s from channels of %s: %w", userID, wsID, err)
	}
	return nil
}

// names: lower-case letters, digits, dashes and underscores, up to 80.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,79}$`)

func checkName(p *httpapi.Problems, name string) string {
	// As Slack does: "#Project X" is typed, "project x" is not a name;
	// case is folded, spaces are not guessed at.
	name = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))
	if !nameRE.MatchString(name) {
		p.Add("name", "must be 1 to 80 lower-case letters, digits, dashes or underscores, such as project-x")
	}
	return name
}

func checkText(p *httpapi.Problems, field, s string, max int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) {
		p.Add(field, fmt.Sprintf("must be at most %d characters without control characters", max))
	}
	return s
}

func (s *Service) insert(ctx context.Context, tx *store.Tx, c Channel) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO channels (id, workspace_id, kind, name, topic, purpose, is_general, created_by, created_ms, updated_ms)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.WorkspaceID, c.Type, c.Name, c.Topic, c.Purpose, store.Flag(c.IsGeneral), c.CreatedBy, c.CreatedAt.UnixMilli(), c.CreatedAt.UnixMilli())
	if tx.Dialect().IsUniqueViolation(err) {
		return httpapi.Conflict("a channel named #" + c.Name + " already exists in this workspace")
	}
	if err != nil {
		return fmt.Errorf("channel: insert: %w", err)
	}
	return nil
}

func addMember(ctx context.Context, tx *store.Tx, channelID, userID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO channel_members (channel_id, user_id, joined_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		channelID, userID, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("channel: add member: %w", err)
	}
	return nil
}

// createGeneral is the workspace creation hook: #general, with the owner.
func (s *Service) createGeneral(ctx context.Context, tx *store.Tx, ws workspace.Workspace, ownerID string) error {
	now := s.now()
	c := Channel{ID: uuid.Must(uuid.NewV7()).String(), WorkspaceID: ws.ID, Type: Public, Name: GeneralName, IsGeneral: true,
		Purpose: "Announcements and work for the whole team", CreatedBy: ownerID, CreatedAt: now}
	if err := s.insert(ctx, tx, c); err != nil {
		return err
	}
	return addMember(ctx, tx, c.ID, ownerID, now)
}

// joinGeneral is the workspace join hook: everyone is in #general.
func (s *Service) joinGeneral(ctx context.Context, tx *store.Tx, wsID, userID string) error {
	var id string
	err := tx.QueryRowContext(ctx, "SELECT id FROM channels WHERE workspace_id = ? AND is_general = 1", wsID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("channel: find #general: %w", err)
	}
	return addMember(ctx, tx, id, userID, s.now())
}

// Create makes a channel; its creator is its first member.
func (s *Service) Create(ctx context.Context, actor access.Actor, wsID, name, kind, topic string) (Channel, error) {
	if err := s.access.Can(ctx, actor, access.ChannelCreate, access.Resource{Kind: "workspace", ID: wsID, WorkspaceID: wsID}); err != nil {
		return Channel{}, err
	}
	var p httpapi.Problems
	name = checkName(&p, name)
	if kind == "" {
		kind = Public
	}
	if kind != Public && kind != Private {
		p.Add("type", "must be public or private")
	}
	topic = checkText(&p, "topic", topic, 250)
	if err := p.Err(); err != nil {
		return Channel{}, err
	}
	now := s.now()
	c := Channel{ID: uuid.Must(uuid.NewV7()).String(), WorkspaceID: wsID, Type: kind, Name: name, Topic: topic,
		CreatedBy: actor.UserID, CreatedAt: now.UTC().Truncate(time.Millisecond), IsMember: true, MemberCount: 1}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.insert(ctx, tx, c); err != nil {
			return err
		}
		if err := addMember(ctx, tx, c.ID, actor.UserID, now); err != nil {
			return err
		}
		// Public channels are announced to the workspace; a private one
		// only to its members (here: its creator).
		subject := "workspace." + wsID + ".channel_created"
		if kind == Private {
			subject = "user." + actor.UserID + ".channel_created"
		}
		data, _ := json.Marshal(map[string]any{"type": "channel.created", "data": c})
		if err := outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: subject, Data: data}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: wsID, ActorID: actor.UserID, Action: "channel.created",
			TargetKind: "channel", TargetID: c.ID, Result: audit.Success, Detail: kind})
	})
	return c, err
}

const channelColumns = `c.id, c.workspace_id, c.kind, c.name, c.topic, c.purpose, c.is_general, c.created_by, c.created_ms, c.archived_ms,
	EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = ?),
	(SELECT COUNT(*) FROM channel_members m WHERE m.channel_id = c.id)`

func scan(row interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	var created, archived int64
	var name sql.NullString
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.Type, &name, &c.Topic, &c.Purpose, &c.IsGeneral, &c.CreatedBy, &created, &archived, &c.IsMember, &c.MemberCount)
	c.Name, c.CreatedAt, c.Archived = name.String, time.UnixMilli(created).UTC(), archived != 0
	return c, err
}

// List returns the workspace's channels the actor can see: every public
// one and the private ones they are in. The privacy filter is part of
// the query, so a page never holds what the caller may not see.
func (s *Service) List(ctx context.Context, actor access.Actor, wsID string) ([]Channel, error) {
	if err := s.access.Can(ctx, actor, access.WorkspaceRead, access.Resource{Kind: "workspace", ID: wsID, WorkspaceID: wsID}); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		"SELECT "+channelColumns+` FROM channels c
		 WHERE c.workspace_id = ? AND (c.kind = 'public' OR EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = ?))
		   AND c.kind IN ('public', 'private')
		 ORDER BY c.name LIMIT 2000`, actor.UserID, wsID, actor.UserID)
	if err != nil {
		return nil, fmt.Errorf("channel: list: %w", err)
	}
	defer rows.Close()
	out := []Channel{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("channel: list: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Get returns a channel the actor may see (a private one only to its
// members; anything else is not found).
func (s *Service) Get(ctx context.Context, actor access.Actor, id string) (Channel, error) {
	c, err := scan(s.db.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE c.id = ?", actor.UserID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, httpapi.NotFound("channel")
	}
	if err != nil {
		return Channel{}, fmt.Errorf("channel: get %s: %w", id, err)
	}
	if err := s.access.Can(ctx, actor, access.WorkspaceRead, access.Resource{Kind: "channel", ID: id, WorkspaceID: c.WorkspaceID}); err != nil {
		return Channel{}, err
	}
	if c.Type != Public && !c.IsMember && !actor.SystemAdmin {
		return Channel{}, httpapi.NotFound("channel")
	}
	return c, nil
}
