// Package outbox makes "change the data and announce it" atomic.
//
// A domain service adds its events with Add inside the transaction that
// changes its tables. After commit, the Relay publishes them to the bus in
// the order they were added and deletes each one once the bus accepted it.
// Nothing is published for a rolled-back transaction, and a crash between
// commit and publish loses nothing: the rows wait for the next relay. A crash
// between publish and delete publishes an event again, so delivery is
// at-least-once and consumers dedupe on the event id.
//
// Order: events are published in the order their rows were inserted. For
// two transactions on the same key (a channel, a user) that order is the
// commit order as long as the writers serialise on that key before adding
// to the outbox (for example by updating the key's counter row first), which
// every domain that promises per-key order does.
package outbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the outbox table.
var Migrations = store.Migrations{Domain: "outbox", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Add records m to be published after tx commits.
func Add(ctx context.Context, tx *store.Tx, m bus.Message) error {
	if m.ID == "" || m.Subject == "" {
		return fmt.Errorf("outbox: add: event needs an id and a subject")
	}
	header := ""
	if len(m.Header) > 0 {
		b, err := json.Marshal(m.Header)
		if err != nil {
			return fmt.Errorf("outbox: add %s: encode header: %w", m.ID, err)
		}
		header = string(b)
	}
	data := m.Data
	if data == nil {
		data = []byte{} // NOT NULL column; an empty payload is legal
	}
	_, err := tx.ExecContext(ctx,
		"INSERT INTO outbox (event_id, subject, header, data, created_ms) VALUES (?, ?, ?, ?, ?)",
		m.ID, m.Subject, header, data, time.Now().UnixMilli())
	if err != nil {
		if tx.Dialect().IsUniqueViolation(err) {
			return fmt.Errorf("outbox: add %s: %w", m.ID, store.ErrConflict)
		}
		return fmt.Errorf("outbox: add %s: %w", m.ID, err)
	}
	tx.MarkOutboxWrite()
	return nil
}

// pending is one unpublished row.
type pending struct {
	seq int64
	msg bus.Message
}

// next reads up to limit unpublished rows in insertion order.
func next(ctx context.Context, q store.Querier, limit int) ([]pending, error) {
	rows, err := q.QueryContext(ctx,
		"SELECT seq, event_id, subject, header, data FROM outbox ORDER BY seq LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: read pending: %w", err)
	}
	defer rows.Close()
	var out []pending
	for rows.Next() {
		var p pending
		var header string
		if err := rows.Scan(&p.seq, &p.msg.ID, &p.msg.Subject, &header, &p.msg.Data); err != nil {
			return nil, fmt.Errorf("outbox: read pending: %w", err)
		}
		if header != "" {
			if err := json.Unmarshal([]byte(header), &p.msg.Header); err != nil {
				return nil, fmt.Errorf("outbox: event %s: decode header: %w", p.msg.ID, err)
			}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// remove deletes published rows.
func remove(ctx context.Context, q store.Querier, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	// A short IN list per batch: portable and the batch is bounded.
	query := "DELETE FROM outbox WHERE seq IN (?" + strings.Repeat(",?", len(seqs)-1) + ")"
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("outbox: delete %d published: %w", len(seqs), err)
	}
	return nil
}

// ErrStopped is returned by Flush after the relay's context ends.
var ErrStopped = errors.New("outbox: relay stopped")
