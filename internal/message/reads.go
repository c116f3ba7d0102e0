package message

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// markRead moves the user's read position forward to seq (never back).
func markRead(ctx context.Context, tx *store.Tx, channelID, userID string, seq int64, now time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO channel_reads (channel_id, user_id, last_read_seq, updated_ms) VALUES (?, ?, ?, ?)
		 ON CONFLICT (channel_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, updated_ms = excluded.updated_ms
		 WHERE channel_reads.last_read_seq < excluded.last_read_seq`, channelID, userID, seq, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("message: mark read: %w", err)
	}
	return nil
}

// ReadState is one channel's counts for a user.
type ReadState struct {
	ChannelID    string `json:"channelId"`
	LastReadSeq  int64  `json:"lastReadSeq"`
	UnreadCount  int    `json:"unreadCount"`
	MentionCount int    `json:"mentionCount"`
}

// MarkRead records that the actor read the channel up to messageID
// (unread true: up to just before it, "mark unread from here").
func (s *Service) MarkRead(ctx context.Context, actor access.Actor, channelID, messageID string, unread bool) (ReadState, error) {
	c, err := s.channels.Get(ctx, actor, channelID)
	if err != nil {
		return ReadState{}, err
	}
	if !c.IsMember {
		return ReadState{}, httpapi.Forbidden("join the channel first")
	}
	var seq int64
	err = s.db.QueryRowContext(ctx, "SELECT seq FROM messages WHERE id = ? AND channel_id = ?", messageID, channelID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return ReadState{}, httpapi.InvalidField("messageId", "must be a message of this channel")
	}
	if err != nil {
		return ReadState{}, fmt.Errorf("message: read position: %w", err)
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if unread {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO channel_reads (channel_id, user_id, last_read_seq, updated_ms) VALUES (?, ?, ?, ?)
				 ON CONFLICT (channel_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, updated_ms = excluded.updated_ms`,
				channelID, actor.UserID, seq-1, now.UnixMilli()); err != nil {
				return fmt.Errorf("message: mark unread: %w", err)
			}
		} else if err := markRead(ctx, tx, channelID, actor.UserID, seq, now); err != nil {
			return err
		}
		// Every device of the user updates its badges.
		data, _ := json.Marshal(map[string]any{"type": "read_state.changed", "data": map[string]any{"channelId": channelID}})
		if err := outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "user." + actor.UserID + ".read_state", Data: data}); err != nil {
			return err
		}
		// In a direct conversation the others see it, if the reader shares
		// read receipts.
		if (c.Type == "dm" || c.Type == "group") && !unread && s.receipts != nil && s.receipts(ctx, actor.UserID) {
			data, _ := json.Marshal(map[string]any{"type": "read_receipt", "data": Receipt{UserID: actor.UserID, LastReadSeq: seq}})
			return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "channel." + channelID + ".read_receipt", Data: data})
		}
		return nil
	})
	if err != nil {
		return ReadState{}, err
	}
	states, err := s.readStates(ctx, actor.UserID, []string{channelID})
	if err != nil {
		return ReadState{}, err
	}
	return states[0], nil
}

// countCap bounds one channel's unread count ("999+" in a client): the
// count reads only the unread range, through the (channel_id, seq)
// index, never the whole history.
const countCap = 1000

// readStates counts unread messages and mentions per channel for a user:
// top-level messages of others after their read position, mentions of
// them (by name, or @channel/@here) after it.
func (s *Service) readStates(ctx context.Context, userID string, channelIDs []string) ([]ReadState, error) {
	out := make([]ReadState, 0, len(channelIDs))
	for _, id := range channelIDs {
		st := ReadState{ChannelID: id}
		err := s.db.QueryRowContext(ctx, "SELECT COALESCE((SELECT last_read_seq FROM channel_reads WHERE channel_id = ? AND user_id = ?), 0)", id, userID).Scan(&st.LastReadSeq)
		if err != nil {
			return nil, fmt.Errorf("message: read position: %w", err)
		}
		err = s.db.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE channel_id = ? AND seq > ? AND thread_id = '' AND author_id <> ? AND deleted_ms = 0 LIMIT ?) AS unread`,
			id, st.LastReadSeq, userID, countCap).Scan(&st.UnreadCount)
		if err != nil {
			return nil, fmt.Errorf("message: unread count: %w", err)
		}
		err = s.db.QueryRowContext(ctx,
			`SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM message_mentions WHERE user_id = ? AND channel_id = ? AND seq > ? LIMIT ?) AS named)
			      + (SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE channel_id = ? AND seq > ? AND broadcast = 1 AND author_id <> ? AND deleted_ms = 0 LIMIT ?) AS everyone)`,
			userID, id, st.LastReadSeq, countCap, id, st.LastReadSeq, userID, countCap).Scan(&st.MentionCount)
		if err != nil {
			return nil, fmt.Errorf("message: mention count: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}

// SidebarChannel is a channel with the caller's counts.
type SidebarChannel struct {
	ChannelID    string `json:"channelId"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	UnreadCount  int    `json:"unreadCount"`
	MentionCount int    `json:"mentionCount"`
	Muted        bool   `json:"muted"`
	Starred      bool   `json:"starred"`
	Section      string `json:"section,omitempty"`
}

// Sidebar lists the channels the actor is in, in a workspace, with their
// unread and mention counts and the workspace totals.
func (s *Service) Sidebar(ctx context.Context, actor access.Actor, workspaceID string) ([]SidebarChannel, ReadState, error) {
	chans, err := s.channels.List(ctx, actor, workspaceID)
	if err != nil {
		return nil, ReadState{}, err
	}
	dms, err := s.channels.Conversations(ctx, actor, workspaceID)
	if err != nil {
		return nil, ReadState{}, err
	}
	chans = append(chans, dms...)
	var ids []string
	var mine []SidebarChannel
	for _, c := range chans {
		if c.IsMember {
			ids = append(ids, c.ID)
			p, err := s.channels.Preferences(ctx, s.db, c.ID, actor.UserID)
			if err != nil {
				return nil, ReadState{}, err
			}
			mine = append(mine, SidebarChannel{ChannelID: c.ID, Name: c.Name, Type: c.Type, Muted: p.Muted, Starred: p.Starred, Section: p.Section})
		}
	}
	states, err := s.readStates(ctx, actor.UserID, ids)
	if err != nil {
		return nil, ReadState{}, err
	}
	var total ReadState
	for i := range mine {
		mine[i].UnreadCount, mine[i].MentionCount = states[i].UnreadCount, states[i].MentionCount
		if !mine[i].Muted { // a muted channel does not light up the workspace
			total.UnreadCount += states[i].UnreadCount
		}
		total.MentionCount += states[i].MentionCount
	}
	if mine == nil {
		mine = []SidebarChannel{}
	}
	return mine, total, nil
}

// ReceiptPolicy says whether a user shares read receipts (their privacy
// setting).
type ReceiptPolicy func(ctx context.Context, userID string) bool

// SetReceiptPolicy installs the policy; without one nobody shares.
func (s *Service) SetReceiptPolicy(p ReceiptPolicy) { s.receipts = p }

// Receipt is how far one member of a direct conversation has read.
type Receipt struct {
	UserID      string `json:"userId"`
	LastReadSeq int64  `json:"lastReadSeq"`
}

// Receipts lists the read positions of the other members of a DM or
// group DM who share them.
func (s *Service) Receipts(ctx context.Context, actor access.Actor, channelID string) ([]Receipt, error) {
	c, err := s.channels.Get(ctx, actor, channelID)
	if err != nil {
		return nil, err
	}
	if c.Type != "dm" && c.Type != "group" {
		return nil, httpapi.InvalidField("id", "read receipts exist in direct conversations only")
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT cm.user_id, COALESCE(r.last_read_seq, 0) FROM channel_members cm
		 LEFT JOIN channel_reads r ON r.channel_id = cm.channel_id AND r.user_id = cm.user_id
		 WHERE cm.channel_id = ? AND cm.user_id <> ? ORDER BY cm.user_id`, channelID, actor.UserID)
	if err != nil {
		return nil, fmt.Errorf("message: receipts: %w", err)
	}
	defer rows.Close()
	var all []Receipt
	for rows.Next() {
		var r Receipt
		if err := rows.Scan(&r.UserID, &r.LastReadSeq); err != nil {
			return nil, fmt.Errorf("message: receipts: %w", err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("message: receipts: %w", err)
	}
	out := []Receipt{}
	for _, r := range all {
		if s.receipts != nil && s.receipts(ctx, r.UserID) {
			out = append(out, r)
		}
	}
	return out, nil
}
