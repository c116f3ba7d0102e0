package message

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// channelNotice announces a channel-level change (pins, bookmarks) on
// the channel's topic.
func channelNotice(ctx context.Context, tx *store.Tx, channelID, kind string, payload any) error {
	data, _ := json.Marshal(map[string]any{"type": "channel." + kind, "data": payload})
	return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "channel." + channelID + "." + kind, Data: data})
}

// SetPinned pins or unpins a message in its channel (any member).
func (s *Service) SetPinned(ctx context.Context, actor access.Actor, id string, pinned bool) error {
	m, c, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if !c.IsMember {
		return httpapi.Forbidden("join the channel to pin in it")
	}
	if m.Deleted && pinned {
		return httpapi.Conflict("this message was deleted")
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q, args := "DELETE FROM pins WHERE channel_id = ? AND message_id = ?", []any{m.ChannelID, id}
		kind := "unpinned"
		if pinned {
			q, args, kind = "INSERT INTO pins (channel_id, message_id, pinned_by, pinned_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
				[]any{m.ChannelID, id, actor.UserID, s.now().UnixMilli()}, "pinned"
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("message: pin: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return channelNotice(ctx, tx, m.ChannelID, kind, map[string]string{"messageId": id, "by": actor.UserID})
	})
}

// Pins lists a channel's pinned messages, newest pin first.
func (s *Service) Pins(ctx context.Context, actor access.Actor, channelID string) ([]Message, error) {
	if _, err := s.channels.Get(ctx, actor, channelID); err != nil {
		return nil, err
	}
	return s.list(ctx, "SELECT "+prefixed("m.")+" FROM pins p JOIN messages m ON m.id = p.message_id WHERE p.channel_id = ? AND m.deleted_ms = 0 ORDER BY p.pinned_ms DESC LIMIT 500", channelID)
}

func prefixed(p string) string {
	cols := strings.Split(columns, ", ")
	for i := range cols {
		cols[i] = p + cols[i]
	}
	return strings.Join(cols, ", ")
}

func (s *Service) list(ctx context.Context, q string, args ...any) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("message: list: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("message: list: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("message: list: %w", err)
	}
	return out, s.enrich(ctx, s.db, out)
}

// SetSaved saves a message for later, or forgets it (the actor's own list).
func (s *Service) SetSaved(ctx context.Context, actor access.Actor, id string, saved bool) error {
	if _, _, err := s.Get(ctx, actor, id); err != nil {
		return err
	}
	q, args := "DELETE FROM saved_items WHERE user_id = ? AND message_id = ?", []any{actor.UserID, id}
	if saved {
		q, args = "INSERT INTO saved_items (user_id, message_id, saved_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", []any{actor.UserID, id, s.now().UnixMilli()}
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("message: save: %w", err)
	}
	return nil
}

// Saved lists the actor's saved messages that they can still see
// (leaving a private channel takes its messages out of the list).
func (s *Service) Saved(ctx context.Context, actor access.Actor) ([]Message, error) {
	all, err := s.list(ctx, "SELECT "+prefixed("m.")+" FROM saved_items v JOIN messages m ON m.id = v.message_id WHERE v.user_id = ? ORDER BY v.saved_ms DESC LIMIT 500", actor.UserID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if _, err := s.channels.Get(ctx, actor, m.ChannelID); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// Bookmark is a link kept at the top of a channel.
type Bookmark struct {
	ID        string    `json:"id"`
	ChannelID string    `json:"channelId"`
	Title     string    `json:"title"`
	URL       string    `json:"url"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// AddBookmark adds a link to a channel (members).
func (s *Service) AddBookmark(ctx context.Context, actor access.Actor, channelID, title, link string) (Bookmark, error) {
	c, err := s.channels.Get(ctx, actor, channelID)
	if err != nil {
		return Bookmark{}, err
	}
	if !c.IsMember {
		return Bookmark{}, httpapi.Forbidden("join the channel to add bookmarks")
	}
	var p httpapi.Problems
	title = strings.TrimSpace(title)
	if title == "" || utf8.RuneCountInString(title) > 100 {
		p.Add("title", "must be 1 to 100 characters")
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(link) > 2048 {
		p.Add("url", "must be an http:// or https:// address of at most 2048 characters")
	}
	if err := p.Err(); err != nil {
		return Bookmark{}, err
	}
	b := Bookmark{ID: uuid.Must(uuid.NewV7()).String(), ChannelID: channelID, Title: title, URL: u.String(), CreatedBy: actor.UserID,
		CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM channel_bookmarks WHERE channel_id = ?", channelID).Scan(&n); err != nil {
			return fmt.Errorf("message: count bookmarks: %w", err)
		}
		if n >= 100 {
			return httpapi.Conflict("a channel holds at most 100 bookmarks")
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO channel_bookmarks (id, channel_id, title, url, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
			b.ID, channelID, b.Title, b.URL, b.CreatedBy, b.CreatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("message: add bookmark: %w", err)
		}
		return channelNotice(ctx, tx, channelID, "bookmark_added", b)
	})
	return b, err
}

// Bookmarks lists a channel's links.
func (s *Service) Bookmarks(ctx context.Context, actor access.Actor, channelID string) ([]Bookmark, error) {
	if _, err := s.channels.Get(ctx, actor, channelID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, title, url, created_by, created_ms FROM channel_bookmarks WHERE channel_id = ? ORDER BY created_ms, id", channelID)
	if err != nil {
		return nil, fmt.Errorf("message: bookmarks: %w", err)
	}
	defer rows.Close()
	out := []Bookmark{}
	for rows.Next() {
		b := Bookmark{ChannelID: channelID}
		var at int64
		if err := rows.Scan(&b.ID, &b.Title, &b.URL, &b.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("message: bookmarks: %w", err)
		}
		b.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// RemoveBookmark deletes a link (any member).
func (s *Service) RemoveBookmark(ctx context.Context, actor access.Actor, channelID, id string) error {
	c, err := s.channels.Get(ctx, actor, channelID)
	if err != nil {
		return err
	}
	if !c.IsMember {
		return httpapi.Forbidden("join the channel to change its bookmarks")
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM channel_bookmarks WHERE id = ? AND channel_id = ?", id, channelID)
		if err != nil {
			return fmt.Errorf("message: remove bookmark: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return httpapi.NotFound("bookmark")
		}
		return channelNotice(ctx, tx, channelID, "bookmark_removed", map[string]string{"id": id})
	})
}
