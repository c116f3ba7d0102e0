// Package inbox is the in-app notification inbox: what concerns a person
// (a mention, a direct message, a reply in a thread they follow, a
// reminder), recorded in the same transaction as the message that caused
// it, listed, counted and marked read, and announced live on the
// person's user:<id> topic.
package inbox

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the inbox.
var Migrations = store.Migrations{Domain: "inbox", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Kinds of notification.
const (
	Mention     = "mention"
	Broadcast   = "broadcast" // @channel, @here
	DirectMsg   = "dm"
	ThreadReply = "thread_reply"
	Keyword     = "keyword"
)

// Notification is one inbox entry.
type Notification struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	WorkspaceID string    `json:"workspaceId"`
	ChannelID   string    `json:"channelId"`
	MessageID   string    `json:"messageId"`
	ThreadID    string    `json:"threadId,omitempty"`
	ActorID     string    `json:"actorId"`
	Snippet     string    `json:"snippet"`
	CreatedAt   time.Time `json:"createdAt"`
	Read        bool      `json:"read"`
}

// snippet is the start of a message, for the inbox and push texts.
func snippet(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= 140 {
		return text
	}
	return string([]rune(text)[:139]) + "…"
}

// Add records notifications for the given users in tx: one per user per
// message (the first reason wins), never for the message's author.
func Add(ctx context.Context, tx *store.Tx, n Notification, users []string) error {
	n.Snippet = snippet(n.Snippet)
	for _, u := range users {
		if u == n.ActorID || u == "" {
			continue
		}
		id := uuid.Must(uuid.NewV7()).String()
		res, err := tx.ExecContext(ctx,
			`INSERT INTO notifications (id, user_id, workspace_id, kind, channel_id, message_id, thread_id, actor_id, snippet, created_ms)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, message_id) DO NOTHING`,
			id, u, n.WorkspaceID, n.Kind, n.ChannelID, n.MessageID, n.ThreadID, n.ActorID, n.Snippet, n.CreatedAt.UnixMilli())
		if err != nil {
			return fmt.Errorf("inbox: add: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			continue
		}
		out := n
		out.ID = id
		data, _ := json.Marshal(map[string]any{"type": "notification.created", "data": out})
		if err := outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "user." + u + ".notification", Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// Service reads and updates a person's inbox.
type Service struct {
	DB  *store.DB
	Log *slog.Logger
	Now func() time.Time
	// Visible reports whether the user may still see a channel, so an
	// entry from a channel they left shows no more.
	Visible func(ctx context.Context, userID, channelID string) bool
}

// List returns a page of the user's notifications, newest first.
func (s *Service) List(ctx context.Context, userID string, unreadOnly bool, cursor string, limit int) ([]Notification, string, error) {
	q := "SELECT id, kind, workspace_id, channel_id, message_id, thread_id, actor_id, snippet, created_ms, read_ms FROM notifications WHERE user_id = ?"
	args := []any{userID}
	if unreadOnly {
		q += " AND read_ms = 0"
	}
	if cursor != "" {
		n, id, err := httpapi.DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		q += " AND (created_ms < ? OR (created_ms = ? AND id < ?))"
		args = append(args, n, n, id)
	}
	q += " ORDER BY created_ms DESC, id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("inbox: list: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		var c, r int64
		if err := rows.Scan(&n.ID, &n.Kind, &n.WorkspaceID, &n.ChannelID, &n.MessageID, &n.ThreadID, &n.ActorID, &n.Snippet, &c, &r); err != nil {
			return nil, "", fmt.Errorf("inbox: list: %w", err)
		}
		n.CreatedAt, n.Read = time.UnixMilli(c).UTC(), r != 0
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("inbox: list: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = httpapi.EncodeCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	if s.Visible != nil {
		kept := out[:0]
		for _, n := range out {
			if s.Visible(ctx, userID, n.ChannelID) {
				kept = append(kept, n)
			}
		}
		out = kept
	}
	return out, next, nil
}

// UnreadCount counts unread notifications (up to 1000).
func (s *Service) UnreadCount(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE user_id = ? AND read_ms = 0 LIMIT 1000) AS unread", userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inbox: count: %w", err)
	}
	return n, nil
}

// MarkRead marks one notification (id) or all of them (id "") read.
func (s *Service) MarkRead(ctx context.Context, userID, id string) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	q, args := "UPDATE notifications SET read_ms = ? WHERE user_id = ? AND read_ms = 0", []any{now().UnixMilli(), userID}
	if id != "" {
		q, args = q+" AND id = ?", append(args, id)
	}
	return s.DB.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("inbox: mark read: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 && id != "" {
			var exists int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM notifications WHERE id = ? AND user_id = ?", id, userID).Scan(&exists); err != nil {
				return fmt.Errorf("inbox: mark read: %w", err)
			}
			if exists == 0 {
				return httpapi.NotFound("notification")
			}
			return nil
		}
		data, _ := json.Marshal(map[string]any{"type": "notification.read", "data": map[string]string{"id": id}})
		return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "user." + userID + ".notification_read", Data: data})
	})
}

// Mount registers the inbox routes.
func (s *Service) Mount(rt *gateway.Router) {
	r := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Authed(pattern, httpapi.Handle(s.Log, fn), append(opts, gateway.Summary(summary))...)
	}
	r("GET /api/v1/notifications", "The inbox, newest first (?unread=true, cursor, limit)", s.list, gateway.Response(200, httpapi.List[Notification]{}))
	r("GET /api/v1/notifications/unread-count", "Unread notifications", s.count, gateway.Response(200, UnreadCountResponse{}))
	r("POST /api/v1/notifications/{id}/read", "Mark a notification read", s.read, gateway.Response(204, nil))
	r("POST /api/v1/notifications/read-all", "Mark every notification read", s.readAll, gateway.Response(204, nil))
}

// UnreadCountResponse is the inbox badge.
type UnreadCountResponse struct {
	Count int `json:"count"`
}

func me(r *http.Request) string {
	a, _ := access.ActorFrom(r.Context())
	return a.UserID
}

func (s *Service) list(r *http.Request) (int, any, error) {
	limit, err := httpapi.Limit(r, 50, 200)
	if err != nil {
		return 0, nil, err
	}
	unread := r.URL.Query().Get("unread")
	if unread != "" && unread != "true" && unread != "false" {
		return 0, nil, httpapi.InvalidField("unread", "must be true or false")
	}
	items, next, err := s.List(r.Context(), me(r), unread == "true", r.URL.Query().Get("cursor"), limit)
	return http.StatusOK, httpapi.List[Notification]{Items: items, NextCursor: next}, err
}

func (s *Service) count(r *http.Request) (int, any, error) {
	n, err := s.UnreadCount(r.Context(), me(r))
	return http.StatusOK, UnreadCountResponse{Count: n}, err
}

func (s *Service) read(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, s.MarkRead(r.Context(), me(r), r.PathValue("id"))
}

func (s *Service) readAll(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, s.MarkRead(r.Context(), me(r), "")
}
