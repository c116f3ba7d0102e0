package channel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// Kinds of direct conversation.
const (
	DM    = "dm"    // two people (or one, talking to themselves)
	Group = "group" // 3 to 8 people
)

// MaxGroup is the largest group DM.
const MaxGroup = 8

// Blocks says whether two users blocked each other (auth implements it).
type Blocks interface {
	Blocked(ctx context.Context, a, b string) (bool, error)
}

// SetBlocks gives the service the block list to honour for DMs.
func (s *Service) SetBlocks(b Blocks) { s.blocks = b }

// OpenDM finds or creates the direct conversation between the actor and
// userIDs in a workspace; the same people always get the same one.
// workspaceID may be empty when they share exactly one workspace.
func (s *Service) OpenDM(ctx context.Context, actor access.Actor, workspaceID string, userIDs []string) (Channel, error) {
	members := []string{actor.UserID}
	for _, u := range userIDs {
		if u != "" && !slices.Contains(members, u) {
			members = append(members, u)
		}
	}
	if len(userIDs) == 0 || len(members) > MaxGroup {
		return Channel{}, httpapi.InvalidField("userIds", fmt.Sprintf("must name 1 to %d other people", MaxGroup-1))
	}
	slices.Sort(members)
	if workspaceID == "" {
		ws, err := s.sharedWorkspace(ctx, members)
		if err != nil {
			return Channel{}, err
		}
		workspaceID = ws
	}
	if err := s.access.Can(ctx, actor, access.MessagePost, access.Resource{Kind: "workspace", ID: workspaceID, WorkspaceID: workspaceID}); err != nil {
		return Channel{}, err
	}
	for _, u := range members {
		role, err := s.access.RoleIn(ctx, workspaceID, u)
		if err != nil {
			return Channel{}, err
		}
		if role == access.None {
			return Channel{}, httpapi.InvalidField("userIds", "everyone must be a member of the workspace")
		}
		if u != actor.UserID && s.blocks != nil {
			if blocked, err := s.blocks.Blocked(ctx, actor.UserID, u); err != nil {
				return Channel{}, err
			} else if blocked {
				return Channel{}, httpapi.Forbidden("you cannot message this person")
			}
		}
	}
	kind := DM
	if len(members) > 2 {
		kind = Group
	}
	key := strings.Join(members, ",")
	if c, err := s.byDMKey(ctx, actor, workspaceID, key); err == nil {
		return c, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Channel{}, err
	}
	now := s.now()
	c := Channel{ID: uuid.Must(uuid.NewV7()).String(), WorkspaceID: workspaceID, Type: kind, CreatedBy: actor.UserID,
		CreatedAt: now.UTC().Truncate(time.Millisecond), IsMember: true, MemberCount: len(members)}
	raced := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO channels (id, workspace_id, kind, dm_key, created_by, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, workspaceID, kind, key, actor.UserID, now.UnixMilli(), now.UnixMilli())
		if tx.Dialect().IsUniqueViolation(err) {
			raced = true
			return errRace
		}
		if err != nil {
			return fmt.Errorf("channel: create dm: %w", err)
		}
		for _, u := range members {
			if err := addMember(ctx, tx, c.ID, u, now); err != nil {
				return err
			}
			if err := memberEvent(ctx, tx, c, u, "member_joined"); err != nil {
				return err
			}
		}
		return nil
	})
	if raced {
		return s.byDMKey(ctx, actor, workspaceID, key)
	}
	return c, err
}

var errRace = errors.New("channel: lost a creation race")

func (s *Service) byDMKey(ctx context.Context, actor access.Actor, workspaceID, key string) (Channel, error) {
	return scan(s.db.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE c.workspace_id = ? AND c.dm_key = ?",
		actor.UserID, workspaceID, key))
}

// sharedWorkspace is the one workspace all users are in.
func (s *Service) sharedWorkspace(ctx context.Context, users []string) (string, error) {
	found, err := s.workspaces.CommonWorkspaces(ctx, users, 2)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", httpapi.InvalidField("userIds", "these people share no workspace with you")
	case 1:
		return found[0], nil
	}
	return "", httpapi.InvalidField("workspaceId", "you share several workspaces; say which")
}

// Conversations lists the actor's DMs and group DMs in a workspace.
func (s *Service) Conversations(ctx context.Context, actor access.Actor, wsID string) ([]Channel, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+channelColumns+` FROM channels c JOIN channel_members me ON me.channel_id = c.id AND me.user_id = ?
		WHERE c.workspace_id = ? AND c.kind IN ('dm', 'group') ORDER BY c.updated_ms DESC LIMIT 500`, actor.UserID, actor.UserID, wsID)
	if err != nil {
		return nil, fmt.Errorf("channel: conversations: %w", err)
	}
	defer rows.Close()
	out := []Channel{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("channel: conversations: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
