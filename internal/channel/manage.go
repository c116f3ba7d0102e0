package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// Patch changes a channel; nil fields stay.
type Patch struct {
	Name    *string `json:"name"`
	Topic   *string `json:"topic"`
	Purpose *string `json:"purpose"`
}

func channelEvent(ctx context.Context, tx *store.Tx, c Channel, kind string) error {
	subject := "channel." + c.ID + "." + kind
	if c.Type == Public {
		subject = "workspace." + c.WorkspaceID + ".channel_" + kind // everyone sees public channels change
	}
	data, _ := json.Marshal(map[string]any{"type": "channel." + kind, "data": c})
	return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: subject, Data: data})
}

// canManage: the channel's creator or a workspace admin.
func (s *Service) canManage(ctx context.Context, actor access.Actor, c Channel) error {
	if c.CreatedBy == actor.UserID && c.IsMember {
		return nil
	}
	return s.access.Can(ctx, actor, access.ChannelManage, access.Resource{Kind: "channel", ID: c.ID, WorkspaceID: c.WorkspaceID})
}

// Update renames a channel (its creator or an admin) or sets its topic
// and purpose (any member).
func (s *Service) Update(ctx context.Context, actor access.Actor, id string, p Patch) (Channel, error) {
	c, err := s.Get(ctx, actor, id)
	if err != nil {
		return Channel{}, err
	}
	if !c.IsMember && !actor.SystemAdmin {
		return Channel{}, httpapi.Forbidden("join the channel to change it")
	}
	if c.Archived {
		return Channel{}, httpapi.Conflict("this channel is archived; unarchive it first")
	}
	var probs httpapi.Problems
	var sets []string
	var args []any
	if p.Name != nil {
		if c.Type != Public && c.Type != Private {
			probs.Add("name", "direct conversations have no name")
		} else if c.IsGeneral {
			probs.Add("name", "#general keeps its name")
		} else if err := s.canManage(ctx, actor, c); err != nil {
			return Channel{}, err
		}
		sets, args = append(sets, "name = ?"), append(args, checkName(&probs, *p.Name))
	}
	if p.Topic != nil {
		sets, args = append(sets, "topic = ?"), append(args, checkText(&probs, "topic", *p.Topic, 250))
	}
	if p.Purpose != nil {
		sets, args = append(sets, "purpose = ?"), append(args, checkText(&probs, "purpose", *p.Purpose, 250))
	}
	if err := probs.Err(); err != nil {
		return Channel{}, err
	}
	if len(sets) == 0 {
		return Channel{}, httpapi.Invalid("nothing to change: send name, topic or purpose")
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE channels SET "+strings.Join(sets, ", ")+", updated_ms = ? WHERE id = ?", append(args, s.now().UnixMilli(), id)...)
		if tx.Dialect().IsUniqueViolation(err) {
			return httpapi.Conflict("a channel with this name already exists in this workspace")
		}
		if err != nil {
			return fmt.Errorf("channel: update: %w", err)
		}
		if c, err = scan(tx.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM channels c WHERE c.id = ?", actor.UserID, id)); err != nil {
			return fmt.Errorf("channel: reload: %w", err)
		}
		return channelEvent(ctx, tx, c, "updated")
	})
	return c, err
}

// SetArchived archives or unarchives a channel (its creator or an admin;
// never #general or a DM). Archived channels are read-only.
func (s *Service) SetArchived(ctx context.Context, actor access.Actor, id string, archived bool) (Channel, error) {
	c, err := s.Get(ctx, actor, id)
	if err != nil {
		return Channel{}, err
	}
	if c.IsGeneral || (c.Type != Public && c.Type != Private) {
		return Channel{}, httpapi.Forbidden("#general and direct conversations cannot be archived")
	}
	if err := s.canManage(ctx, actor, c); err != nil {
		return Channel{}, err
	}
	at := int64(0)
	if archived {
		at = s.now().UnixMilli()
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE channels SET archived_ms = ?, updated_ms = ? WHERE id = ?", at, s.now().UnixMilli(), id); err != nil {
			return fmt.Errorf("channel: archive: %w", err)
		}
		c.Archived = archived
		action := "channel.archived"
		if !archived {
			action = "channel.unarchived"
		}
		if err := channelEvent(ctx, tx, c, strings.TrimPrefix(action, "channel.")); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{WorkspaceID: c.WorkspaceID, ActorID: actor.UserID, Action: action,
			TargetKind: "channel", TargetID: id, Result: audit.Success})
	})
	return c, err
}

// Preferences are one member's settings for a channel.
type Preferences struct {
	Muted             bool   `json:"muted"`
	NotificationLevel string `json:"notificationLevel"` // all, mentions, none
	Starred           bool   `json:"starred"`
	Section           string `json:"section"` // a sidebar section of the user's own
}

// PreferencesPatch changes some of them.
type PreferencesPatch struct {
	Muted             *bool   `json:"muted"`
	NotificationLevel *string `json:"notificationLevel"`
	Starred           *bool   `json:"starred"`
	Section           *string `json:"section"`
}

// Preferences returns the actor's settings for a channel they are in.
func (s *Service) Preferences(ctx context.Context, q store.Querier, channelID, userID string) (Preferences, error) {
	var p Preferences
	err := q.QueryRowContext(ctx, "SELECT muted, notify_level, starred, section FROM channel_members WHERE channel_id = ? AND user_id = ?",
		channelID, userID).Scan(&p.Muted, &p.NotificationLevel, &p.Starred, &p.Section)
	if err != nil {
		return Preferences{}, httpapi.NotFound("channel membership")
	}
	return p, nil
}

// SetPreferences changes the actor's settings for a channel.
func (s *Service) SetPreferences(ctx context.Context, actor access.Actor, id string, p PreferencesPatch) (Preferences, error) {
	c, err := s.Get(ctx, actor, id)
	if err != nil {
		return Preferences{}, err
	}
	if !c.IsMember {
		return Preferences{}, httpapi.Forbidden("join the channel first")
	}
	var probs httpapi.Problems
	var sets []string
	var args []any
	if p.Muted != nil {
		sets, args = append(sets, "muted = ?"), append(args, store.Flag(*p.Muted))
	}
	if p.NotificationLevel != nil {
		if l := *p.NotificationLevel; l != "all" && l != "mentions" && l != "none" {
			probs.Add("notificationLevel", "must be all, mentions or none")
		}
		sets, args = append(sets, "notify_level = ?"), append(args, *p.NotificationLevel)
	}
	if p.Starred != nil {
		sets, args = append(sets, "starred = ?"), append(args, store.Flag(*p.Starred))
	}
	if p.Section != nil {
		sets, args = append(sets, "section = ?"), append(args, checkText(&probs, "section", *p.Section, 40))
	}
	if err := probs.Err(); err != nil {
		return Preferences{}, err
	}
	if len(sets) == 0 {
		return Preferences{}, httpapi.Invalid("nothing to change: send muted, notificationLevel, starred or section")
	}
	var out Preferences
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE channel_members SET "+strings.Join(sets, ", ")+" WHERE channel_id = ? AND user_id = ?",
			append(args, id, actor.UserID)...); err != nil {
			return fmt.Errorf("channel: preferences: %w", err)
		}
		var err error
		if out, err = s.Preferences(ctx, tx, id, actor.UserID); err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"type": "channel.preferences_changed", "data": map[string]any{"channelId": id, "preferences": out}})
		return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "user." + actor.UserID + ".channel_preferences", Data: data})
	})
	return out, err
}

// Members lists a channel's member ids (to those who can see it).
func (s *Service) Members(ctx context.Context, actor access.Actor, id string) ([]string, error) {
	if _, err := s.Get(ctx, actor, id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT user_id FROM channel_members WHERE channel_id = ? ORDER BY joined_ms, user_id LIMIT 10000", id)
	if err != nil {
		return nil, fmt.Errorf("channel: members: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("channel: members: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
