package channel

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// memberEvent announces a membership change on the channel's topic and
// on the user's own topic (so their sidebar updates on every device).
func memberEvent(ctx context.Context, tx *store.Tx, c Channel, userID, kind string) error {
	payload := map[string]any{"channelId": c.ID, "userId": userID}
	for _, subject := range []string{"channel." + c.ID + "." + kind, "user." + userID + "." + kind} {
		data, _ := json.Marshal(map[string]any{"type": "channel." + kind, "data": payload})
		if err := outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: subject, Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// Join adds the actor to a public channel.
func (s *Service) Join(ctx context.Context, actor access.Actor, id string) (Channel, error) {
	c, err := s.Get(ctx, actor, id)
	if err != nil {
		return Channel{}, err
	}
	if c.Type != Public {
		return Channel{}, httpapi.Forbidden("a private channel is joined by invitation of a member")
	}
	if c.Archived {
		return Channel{}, httpapi.Conflict("this channel is archived")
	}
	if err := s.access.Can(ctx, actor, access.ChannelJoin, access.Resource{Kind: "channel", ID: id, WorkspaceID: c.WorkspaceID}); err != nil {
		return Channel{}, err
	}
	if c.IsMember {
		return c, nil
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := addMember(ctx, tx, id, actor.UserID, s.now()); err != nil {
			return err
		}
		return memberEvent(ctx, tx, c, actor.UserID, "member_joined")
	})
	c.IsMember, c.MemberCount = true, c.MemberCount+1
	return c, err
}

// AddMembers adds workspace members to a channel; the actor must be in
// it (or an admin). Guests may be added; they cannot add others.
func (s *Service) AddMembers(ctx context.Context, actor access.Actor, id string, userIDs []string) error {
	c, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if len(userIDs) == 0 || len(userIDs) > 100 {
		return httpapi.InvalidField("userIds", "must list 1 to 100 users")
	}
	if c.Archived {
		return httpapi.Conflict("this channel is archived")
	}
	res := access.Resource{Kind: "channel", ID: id, WorkspaceID: c.WorkspaceID}
	if !c.IsMember {
		if err := s.access.Can(ctx, actor, access.ChannelManage, res); err != nil {
			return err
		}
	} else if err := s.access.Can(ctx, actor, access.ChannelJoin, res); err != nil {
		return err // guests cannot add people
	}
	for _, u := range userIDs {
		role, err := s.access.RoleIn(ctx, c.WorkspaceID, u)
		if err != nil {
			return err
		}
		if role == access.None {
			return httpapi.InvalidField("userIds", "every user must be a member of the workspace")
		}
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, u := range userIDs {
			res, err := tx.ExecContext(ctx, "INSERT INTO channel_members (channel_id, user_id, joined_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
				id, u, s.now().UnixMilli())
			if err != nil {
				return fmt.Errorf("channel: add member: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if err := memberEvent(ctx, tx, c, u, "member_joined"); err != nil {
					return err
				}
			}
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: c.WorkspaceID, ActorID: actor.UserID, Action: "channel.members_added",
			TargetKind: "channel", TargetID: id, Result: audit.Success, Detail: fmt.Sprintf("%d users", len(userIDs))})
	})
}

// RemoveMember takes someone out of a channel: themselves (leaving), or
// anyone when the actor is a workspace admin. Nobody leaves #general.
func (s *Service) RemoveMember(ctx context.Context, actor access.Actor, id, userID string) error {
	c, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if c.IsGeneral {
		return httpapi.Forbidden("everyone in the workspace is in #general")
	}
	if userID != actor.UserID {
		if err := s.access.Can(ctx, actor, access.ChannelManage, access.Resource{Kind: "channel", ID: id, WorkspaceID: c.WorkspaceID}); err != nil {
			return err
		}
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM channel_members WHERE channel_id = ? AND user_id = ?", id, userID)
		if err != nil {
			return fmt.Errorf("channel: remove member: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return httpapi.NotFound("member")
		}
		return memberEvent(ctx, tx, c, userID, "member_left")
	})
}

// IsMember reports whether the user is in the channel.
func (s *Service) IsMember(ctx context.Context, q store.Querier, channelID, userID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM channel_members WHERE channel_id = ? AND user_id = ?", channelID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("channel: membership: %w", err)
	}
	return n > 0, nil
}

// CanFollow implements the realtime rule for topic channel:<id>: a
// channel the user can see (public ones to workspace members, private
// ones to their members).
func (s *Service) CanFollow(ctx context.Context, userID, channelID string) error {
	_, err := s.Get(ctx, access.Actor{UserID: userID}, channelID)
	return err
}
