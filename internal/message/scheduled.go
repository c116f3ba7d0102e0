package message

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// Kinds and states of scheduled items.
const (
	KindMessage  = "message"
	KindReminder = "reminder"

	statusPending   = "pending"
	statusDone      = "done"
	statusFailed    = "failed"
	statusCancelled = "cancelled"

	maxAhead   = 120 * 24 * time.Hour
	claimLease = 30 * time.Second
	maxTries   = 5
)

// Scheduled is a message to send later, or a reminder about a message.
type Scheduled struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	ChannelID string    `json:"channelId"`
	MessageID string    `json:"messageId,omitempty"` // the sent message, or the one to be reminded of
	ThreadID  string    `json:"threadId,omitempty"`
	Text      string    `json:"text,omitempty"`
	At        time.Time `json:"at"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
}

// Actors resolves who a worker acts as when it delivers (bans apply).
type Actors interface {
	ActorFor(ctx context.Context, userID string) (access.Actor, error)
}

// SetActors gives the worker its way to resolve users.
func (s *Service) SetActors(a Actors) { s.actors = a }

func (s *Service) checkWhen(at time.Time) error {
	now := s.now()
	if !at.After(now) || at.After(now.Add(maxAhead)) {
		return httpapi.InvalidField("at", "must be in the future and within 120 days")
	}
	return nil
}

// Schedule queues a message to be sent to a channel at a time.
func (s *Service) Schedule(ctx context.Context, actor access.Actor, channelID, text, threadID string, at time.Time) (Scheduled, error) {
	c, err := s.channels.Get(ctx, actor, channelID)
	if err != nil {
		return Scheduled{}, err
	}
	if !c.IsMember {
		return Scheduled{}, httpapi.Forbidden("join the channel to post in it")
	}
	if text, err = checkText(text); err != nil {
		return Scheduled{}, err
	}
	if err := s.checkWhen(at); err != nil {
		return Scheduled{}, err
	}
	return s.insertScheduled(ctx, Scheduled{Kind: KindMessage, ChannelID: channelID, Text: text, ThreadID: threadID, At: at}, actor.UserID)
}

// Remind queues a reminder about a message for the actor.
func (s *Service) Remind(ctx context.Context, actor access.Actor, messageID string, at time.Time) (Scheduled, error) {
	m, _, err := s.Get(ctx, actor, messageID)
	if err != nil {
		return Scheduled{}, err
	}
	if err := s.checkWhen(at); err != nil {
		return Scheduled{}, err
	}
	return s.insertScheduled(ctx, Scheduled{Kind: KindReminder, ChannelID: m.ChannelID, MessageID: m.ID, At: at}, actor.UserID)
}

func (s *Service) insertScheduled(ctx context.Context, it Scheduled, userID string) (Scheduled, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM scheduled_items WHERE user_id = ? AND status = 'pending'", userID).Scan(&n); err != nil {
		return Scheduled{}, fmt.Errorf("message: count scheduled: %w", err)
	}
	if n >= 500 {
		return Scheduled{}, httpapi.Conflict("at most 500 scheduled messages and reminders may wait at once")
	}
	it.ID, it.Status, it.At = uuid.Must(uuid.NewV7()).String(), statusPending, it.At.UTC().Truncate(time.Millisecond)
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO scheduled_items (id, kind, user_id, channel_id, message_id, thread_id, text, due_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		it.ID, it.Kind, userID, it.ChannelID, it.MessageID, it.ThreadID, it.Text, it.At.UnixMilli(), s.now().UnixMilli())
	if err != nil {
		return Scheduled{}, fmt.Errorf("message: schedule: %w", err)
	}
	return it, nil
}

// ListScheduled lists the actor's waiting items of a kind, soonest first.
func (s *Service) ListScheduled(ctx context.Context, actor access.Actor, kind string) ([]Scheduled, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, kind, channel_id, message_id, thread_id, text, due_ms, status, error FROM scheduled_items
		 WHERE user_id = ? AND kind = ? AND status IN ('pending', 'failed') ORDER BY due_ms, id LIMIT 500`, actor.UserID, kind)
	if err != nil {
		return nil, fmt.Errorf("message: list scheduled: %w", err)
	}
	defer rows.Close()
	out := []Scheduled{}
	for rows.Next() {
		var it Scheduled
		var due int64
		if err := rows.Scan(&it.ID, &it.Kind, &it.ChannelID, &it.MessageID, &it.ThreadID, &it.Text, &due, &it.Status, &it.Error); err != nil {
			return nil, fmt.Errorf("message: list scheduled: %w", err)
		}
		it.At = time.UnixMilli(due).UTC()
		out = append(out, it)
	}
	return out, rows.Err()
}

// CancelScheduled drops a waiting item of the actor's.
func (s *Service) CancelScheduled(ctx context.Context, actor access.Actor, id string) error {
	res, err := s.db.ExecContext(ctx, "UPDATE scheduled_items SET status = 'cancelled' WHERE id = ? AND user_id = ? AND status IN ('pending', 'failed')", id, actor.UserID)
	if err != nil {
		return fmt.Errorf("message: cancel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return httpapi.NotFound("scheduled item")
	}
	return nil
}

// RunDue does every due item once and returns how many it did. Several
// nodes may run it at the same time: each item is claimed with a lease
// by a conditional update that only one of them wins, and a scheduled
// message is sent with a client id derived from the item, so a node that
// dies after sending but before recording it cannot send it twice.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx,
		"SELECT id FROM scheduled_items WHERE status = 'pending' AND due_ms <= ? AND claimed_until_ms < ? ORDER BY due_ms LIMIT 50", now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("message: due items: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("message: due items: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	done := 0
	for _, id := range ids {
		res, err := s.db.ExecContext(ctx,
			"UPDATE scheduled_items SET claimed_until_ms = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending' AND claimed_until_ms < ?",
			now.Add(claimLease).UnixMilli(), id, now.UnixMilli())
		if err != nil {
			return done, fmt.Errorf("message: claim %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another node has it
		}
		if err := s.deliver(ctx, id); err != nil {
			s.log.WarnContext(ctx, "scheduled_item_failed", "item", id, "error", err)
			continue
		}
		done++
	}
	return done, nil
}

func (s *Service) deliver(ctx context.Context, id string) error {
	var it Scheduled
	var userID string
	var attempts int
	err := s.db.QueryRowContext(ctx, "SELECT kind, user_id, channel_id, message_id, thread_id, text, attempts FROM scheduled_items WHERE id = ?", id).
		Scan(&it.Kind, &userID, &it.ChannelID, &it.MessageID, &it.ThreadID, &it.Text, &attempts)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	actor := access.Actor{UserID: userID}
	if s.actors != nil {
		if actor, err = s.actors.ActorFor(ctx, userID); err != nil {
			return s.fail(ctx, id, userID, attempts, err)
		}
	}
	switch it.Kind {
	case KindMessage:
		m, _, err := s.Post(ctx, actor, it.ChannelID, it.Text, "scheduled-"+id, it.ThreadID, false)
		if err != nil {
			return s.fail(ctx, id, userID, attempts, err)
		}
		_, err = s.db.ExecContext(ctx, "UPDATE scheduled_items SET status = 'done', message_id = ?, done_ms = ? WHERE id = ?", m.ID, s.now().UnixMilli(), id)
		return err
	case KindReminder:
		m, _, err := s.Get(ctx, actor, it.MessageID)
		if err != nil {
			return s.fail(ctx, id, userID, maxTries, err) // the message is gone from their sight: no retry
		}
		return s.db.InTx(ctx, func(tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE scheduled_items SET status = 'done', done_ms = ? WHERE id = ? AND status = 'pending'", s.now().UnixMilli(), id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			return userNotice(ctx, tx, userID, "reminder", map[string]any{"reminderId": id, "message": m})
		})
	}
	return fmt.Errorf("unknown kind %q", it.Kind)
}

// fail records a failed try; a public refusal (no longer a member,
// banned) or the last try ends the item and tells its owner.
func (s *Service) fail(ctx context.Context, id, userID string, attempts int, cause error) error {
	_, public := httpapi.As(cause)
	if !public && attempts < maxTries {
		_, _ = s.db.ExecContext(ctx, "UPDATE scheduled_items SET claimed_until_ms = ?, error = ? WHERE id = ?",
			s.now().Add(time.Duration(attempts)*time.Minute).UnixMilli(), "will retry", id)
		return cause
	}
	msg := "could not be sent"
	if e, ok := httpapi.As(cause); ok {
		msg = e.Message
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE scheduled_items SET status = 'failed', error = ? WHERE id = ?", msg, id); err != nil {
			return err
		}
		return userNotice(ctx, tx, userID, "scheduled_failed", map[string]string{"id": id, "error": msg})
	})
}

// userNotice tells a user's devices something (user.<id>.<kind>).
func userNotice(ctx context.Context, tx *store.Tx, userID, kind string, payload any) error {
	data, err := json.Marshal(map[string]any{"type": kind, "data": payload})
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "user." + userID + "." + kind, Data: data})
}

// Run does due items and pending link previews every interval until
// ctx ends; previews run in a loop of their own, so a slow page never
// holds up a scheduled message.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.every(ctx, interval, "link_previews_failed", s.RunPreviews)
	}()
	s.every(ctx, interval, "scheduled_run_failed", s.RunDue)
	<-done
	return nil
}

func (s *Service) every(ctx context.Context, interval time.Duration, failure string, fn func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := fn(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, failure, "error", err)
			}
		}
	}
}
