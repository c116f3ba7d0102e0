// Package audit is the append-only log of security and admin actions: who
// did what to which target, from where, and whether it worked. Entries are
// written in the same transaction as the change they describe, so the log
// and the data never disagree.
package audit

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the log.
var Migrations = store.Migrations{Domain: "audit", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Results.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// Entry is one record.
type Entry struct {
	ID          string    `json:"id"`
	At          time.Time `json:"at"`
	WorkspaceID string    `json:"workspaceId,omitempty"`
	ActorID     string    `json:"actorId,omitempty"`
	Action      string    `json:"action"`
	TargetKind  string    `json:"targetKind,omitempty"`
	TargetID    string    `json:"targetId,omitempty"`
	Result      string    `json:"result"`
	IP          string    `json:"ip,omitempty"`
	UserAgent   string    `json:"userAgent,omitempty"`
	RequestID   string    `json:"requestId,omitempty"`
	Detail      string    `json:"detail,omitempty"`
}

// Record appends e using q (pass the transaction that makes the change).
// The client fields are taken from ctx when e leaves them empty. Detail
// must never hold a secret.
func Record(ctx context.Context, q store.Querier, e Entry) error {
	if e.Action == "" || e.Result == "" {
		return errors.New("audit: entry needs an action and a result")
	}
	if e.ID == "" {
		e.ID = uuid.Must(uuid.NewV7()).String()
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	c := httpapi.ClientFrom(ctx)
	if e.IP == "" {
		e.IP = c.IP
	}
	if e.UserAgent == "" {
		e.UserAgent = c.UserAgent
	}
	if e.RequestID == "" {
		e.RequestID = c.RequestID
	}
	_, err := q.ExecContext(ctx,
		`INSERT INTO audit_log (id, at_ms, workspace_id, actor_id, action, target_kind, target_id, result, ip, user_agent, request_id, detail)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.At.UnixMilli(), e.WorkspaceID, e.ActorID, e.Action, e.TargetKind, e.TargetID, e.Result,
		e.IP, e.UserAgent, e.RequestID, e.Detail)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// Filter selects entries; zero fields select everything.
type Filter struct {
	WorkspaceID string
	// AllWorkspaces must be set to query across workspaces (system admins);
	// otherwise an empty WorkspaceID selects only entries of no workspace.
	AllWorkspaces bool
	ActorID       string
	Action        string // exact, or a prefix ending in "." ("auth.")
	TargetID      string
	Result        string
	Since, Until  time.Time
	Cursor        string
	Limit         int
}

// Query returns entries newest first, and the cursor of the next page.
func Query(ctx context.Context, q store.Querier, f Filter) ([]Entry, string, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !f.AllWorkspaces || f.WorkspaceID != "" {
		add("workspace_id = ?", f.WorkspaceID)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		if p, ok := strings.CutSuffix(f.Action, "."); ok {
			add("substr(action, 1, ?) = ?", len(p)+1)
			args = append(args, p+".")
		} else {
			add("action = ?", f.Action)
		}
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.Result != "" {
		add("result = ?", f.Result)
	}
	if !f.Since.IsZero() {
		add("at_ms >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("at_ms < ?", f.Until.UnixMilli())
	}
	if f.Cursor != "" {
		at, id, err := httpapi.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(at_ms < ? OR (at_ms = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	sqlText := "SELECT id, at_ms, workspace_id, actor_id, action, target_kind, target_id, result, ip, user_agent, request_id, detail FROM audit_log"
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY at_ms DESC, id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, "", fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.WorkspaceID, &e.ActorID, &e.Action, &e.TargetKind, &e.TargetID,
			&e.Result, &e.IP, &e.UserAgent, &e.RequestID, &e.Detail); err != nil {
			return nil, "", fmt.Errorf("audit: query: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("audit: query: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = httpapi.EncodeCursor(last.At.UnixMilli(), last.ID)
	}
	return out, next, nil
}
