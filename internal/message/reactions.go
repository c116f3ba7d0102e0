package message

import (
	"context"
	"fmt"
	"strings"

	"github.com/quikapp/quikapp/internal/access"
	emojis "github.com/quikapp/quikapp/internal/emoji"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// Reaction is one emoji on a message: how many and who.
type Reaction struct {
	Emoji string   `json:"emoji"`
	Count int      `json:"count"`
	Users []string `json:"users"`
}

// React adds (add true) or removes the actor's emoji on a message. Both
// are idempotent; the message's reactions come back.
func (s *Service) React(ctx context.Context, actor access.Actor, id, emoji string, add bool) (Message, error) {
	m, c, err := s.Get(ctx, actor, id)
	if err != nil {
		return Message{}, err
	}
	if !emojis.Valid(emoji) {
		return Message{}, httpapi.InvalidField("emoji", `must be an emoji such as "👍" or a shortcode such as ":tada:"`)
	}
	if !c.IsMember {
		return Message{}, httpapi.Forbidden("join the channel to react in it")
	}
	if m.Deleted {
		return Message{}, httpapi.Conflict("this message was deleted")
	}
	if err := s.access.Can(ctx, actor, access.MessagePost, access.Resource{Kind: "channel", ID: c.ID, WorkspaceID: c.WorkspaceID}); err != nil {
		return Message{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var q string
		args := []any{id, emoji, actor.UserID}
		if add {
			q = "INSERT INTO reactions (message_id, emoji, user_id, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
			args = append(args, s.now().UnixMilli())
		} else {
			q = "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?"
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("message: react: %w", err)
		}
		if err = s.decorate(ctx, tx, &m); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // nothing changed: no event
		}
		kind := "reaction_added"
		if !add {
			kind = "reaction_removed"
		}
		return event(ctx, tx, m.ChannelID, kind, m)
	})
	return m, err
}

// decorate loads one message's reactions, previews and files.
func (s *Service) decorate(ctx context.Context, q store.Querier, m *Message) error {
	ms := []Message{*m}
	if err := s.enrich(ctx, q, ms); err != nil {
		return err
	}
	*m = ms[0]
	return nil
}

// attachReactions loads the reactions of a page of messages in one query.
func attachReactions(ctx context.Context, q store.Querier, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ms))
	args := make([]any, len(ms))
	for i, m := range ms {
		idx[m.ID] = i
		args[i] = m.ID
		ms[i].Reactions = []Reaction{}
	}
	rows, err := q.QueryContext(ctx, "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN (?"+
		strings.Repeat(",?", len(ms)-1)+") ORDER BY message_id, created_ms, emoji, user_id", args...)
	if err != nil {
		return fmt.Errorf("message: load reactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, emoji, user string
		if err := rows.Scan(&mid, &emoji, &user); err != nil {
			return fmt.Errorf("message: load reactions: %w", err)
		}
		m := &ms[idx[mid]]
		j := -1
		for k := range m.Reactions {
			if m.Reactions[k].Emoji == emoji {
				j = k
			}
		}
		if j < 0 {
			m.Reactions = append(m.Reactions, Reaction{Emoji: emoji})
			j = len(m.Reactions) - 1
		}
		m.Reactions[j].Count++
		m.Reactions[j].Users = append(m.Reactions[j].Users, user)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return attachPreviews(ctx, q, ms)
}

// enrich loads what a page of messages carries: reactions, previews and
// files.
func (s *Service) enrich(ctx context.Context, q store.Querier, ms []Message) error {
	if err := attachReactions(ctx, q, ms); err != nil {
		return err
	}
	if s.files == nil || len(ms) == 0 {
		return nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	files, err := s.files.OfMessages(ctx, q, ids)
	if err != nil {
		return err
	}
	for i := range ms {
		if f := files[ms[i].ID]; f != nil && !ms[i].Deleted {
			ms[i].Files = f
		}
	}
	return nil
}
