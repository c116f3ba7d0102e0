// Package sqlstore is the SQL notify.Store: one implementation over
// *store.DB serving SQLite and PostgreSQL. Its tables are those of the
// upstream notify service (contract §10), so notifyd adopts a database that
// upstream migrated; our own additions start at migration version 2.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// LedgerTable and LockKey are upstream's migration ledger and advisory
// lock, so upstream and notifyd never migrate one database at once and
// notifyd continues upstream's ledger (version 1 = "init").
const (
	LedgerTable       = "notify_schema_migrations"
	LockKey     int64 = 31084793213384960
)

// Migrations are the notify tables' migrations, recorded in upstream's own
// ledger. cmd/notifyd and the QuikApp platform pass them to
// (*store.DB).Migrate.
var Migrations = store.Migrations{
	Domain: "notify",
	FS:     store.MigrationsFS(migrationFiles, "migrations"),
	Ledger: &store.Ledger{Table: LedgerTable, LockKey: LockKey},
}

// Store is the SQL notify.Store.
type Store struct {
	db *store.DB
	w  *batcher // SQLite: every write goes through it (group commit)
}

var _ notify.Store = (*Store)(nil)

// New returns a Store over db, which must have Migrations applied. The
// caller keeps ownership of db: Close does not close it (the platform
// shares it with other domains; notifyd closes it after Store.Close).
func New(db *store.DB) *Store {
	s := &Store{db: db}
	if db.Driver() == store.SQLite {
		s.w = &batcher{db: db}
	}
	return s
}

// writer runs statements: a transaction, or (PostgreSQL) the pool.
type writer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn, which may run more than once and must reset what it
// reports. SQLite has a single writer connection, so writes are grouped
// into shared transactions (group commit: see batcher). PostgreSQL runs
// each write on its own pooled connection in autocommit: measured, that
// beats serialising them behind one transaction (docs/benchmarks.md, S6).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, w writer) error) error {
	if s.w != nil {
		return s.w.do(ctx, func(ctx context.Context, tx *store.Tx) error { return fn(ctx, tx) })
	}
	return fn(ctx, s.db)
}

const notificationCols = `id, tenant_id, user_id, notification_id, subject_ref, subject_type,
	title, body, channel, status, created_at_ms, delivered_at_ms, ack_at_ms, read_at_ms`

const deviceCols = `id, tenant_id, user_id, device_type, token, created_at_ms, last_active_ms`

type scanner interface{ Scan(dest ...any) error }

func scanNotification(r scanner) (notify.Notification, error) {
	var n notify.Notification
	err := r.Scan(&n.ID, &n.TenantID, &n.UserID, &n.NotificationID, &n.SubjectRef, &n.SubjectType,
		&n.Title, &n.Body, &n.Channel, &n.Status, &n.CreatedAtMs, &n.DeliveredAtMs, &n.AckAtMs, &n.ReadAtMs)
	return n, err
}

func scanDevice(r scanner) (notify.Device, error) {
	var d notify.Device
	err := r.Scan(&d.ID, &d.TenantID, &d.UserID, &d.DeviceType, &d.Token, &d.CreatedAtMs, &d.LastActiveMs)
	return d, err
}

// CreateNotification inserts n unless its (tenant, user, notification id)
// exists, in which case it returns the existing row's id.
func (s *Store) CreateNotification(ctx context.Context, n notify.Notification) (string, bool, error) {
	if !notify.KnownStatus(n.Status) {
		return "", false, fmt.Errorf("notify store: create: unknown status %q", n.Status)
	}
	newID := uuid.NewString()
	var id string
	var created bool
	// Through write: INSERT … RETURNING must run on SQLite's writer.
	err := s.write(ctx, func(ctx context.Context, tx writer) error {
		id, created = "", false
		err := tx.QueryRowContext(ctx, `INSERT INTO notify_notifications (`+notificationCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, user_id, notification_id) DO NOTHING
			RETURNING id`,
			newID, n.TenantID, n.UserID, n.NotificationID, n.SubjectRef, n.SubjectType,
			n.Title, n.Body, n.Channel, n.Status, n.CreatedAtMs, n.DeliveredAtMs, n.AckAtMs, n.ReadAtMs,
		).Scan(&id)
		if err == nil {
			created = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The key exists. On PostgreSQL the conflicting insert has
		// committed by now (ON CONFLICT waits for it), and this statement
		// takes a fresh snapshot, so it sees the row.
		created = false
		return tx.QueryRowContext(ctx, `SELECT id FROM notify_notifications
			WHERE tenant_id = ? AND user_id = ? AND notification_id = ?`,
			n.TenantID, n.UserID, n.NotificationID).Scan(&id)
	})
	if err != nil {
		return "", false, fmt.Errorf("notify store: create: %w", err)
	}
	return id, created, nil
}

// GetNotification returns the caller's row or notify.ErrNotFound.
func (s *Store) GetNotification(ctx context.Context, tenantID, userID, id string) (notify.Notification, error) {
	id, ok := notify.CanonicalID(id)
	if !ok {
		return notify.Notification{}, fmt.Errorf("notify store: get: %w", notify.ErrNotFound)
	}
	n, err := scanNotification(s.db.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM notify_notifications
		WHERE id = ? AND tenant_id = ? AND user_id = ?`, id, tenantID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return notify.Notification{}, fmt.Errorf("notify store: get: %w", notify.ErrNotFound)
	}
	if err != nil {
		return notify.Notification{}, fmt.Errorf("notify store: get: %w", err)
	}
	return n, nil
}

// UpdateStatus sets the status and stamps the matching timestamp.
func (s *Store) UpdateStatus(ctx context.Context, tenantID, userID, id, status string, atMs int64) error {
	var set string
	args := []any{status}
	switch status {
	case notify.StatusDelivered:
		set, args = "status = ?, delivered_at_ms = ?", append(args, atMs)
	case notify.StatusAcked:
		set, args = "status = ?, ack_at_ms = ?", append(args, atMs)
	case notify.StatusRead:
		set, args = "status = ?, read_at_ms = ?", append(args, atMs)
	case notify.StatusPending, notify.StatusFailed:
		set = "status = ?"
	default:
		return fmt.Errorf("notify store: update status: unknown status %q", status)
	}
	id, ok := notify.CanonicalID(id)
	if !ok {
		return fmt.Errorf("notify store: update status: %w", notify.ErrNotFound)
	}
	var affected int64
	err := s.write(ctx, func(ctx context.Context, tx writer) error {
		res, err := tx.ExecContext(ctx, `UPDATE notify_notifications SET `+set+`
			WHERE id = ? AND tenant_id = ? AND user_id = ?`, append(args, id, tenantID, userID)...)
		if err != nil {
			return err
		}
		affected, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("notify store: update status: %w", err)
	}
	if affected == 0 {
		return fmt.Errorf("notify store: update status: %w", notify.ErrNotFound)
	}
	return nil
}

// ListNotifications returns one page of the user's inbox. The page query
// walks notify_notifications_user_created; the unread count matches the
// predicate of the partial index notify_notifications_user_unread.
func (s *Store) ListNotifications(ctx context.Context, q notify.Query) (notify.Page, error) {
	limit := notify.ClampLimit(q.Limit)
	query, args := pageQuery(q, limit+1)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return notify.Page{}, fmt.Errorf("notify store: list: %w", err)
	}
	defer rows.Close()
	page := notify.Page{Items: make([]notify.Notification, 0, min(limit+1, 32))}
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return notify.Page{}, fmt.Errorf("notify store: list: %w", err)
		}
		page.Items = append(page.Items, n)
	}
	if err := rows.Err(); err != nil {
		return notify.Page{}, fmt.Errorf("notify store: list: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextBefore = page.Items[limit-1].CreatedAtMs
	}
	if err := s.db.QueryRowContext(ctx, unreadQuery, q.TenantID, q.UserID).Scan(&page.Unread); err != nil {
		return notify.Page{}, fmt.Errorf("notify store: list: unread count: %w", err)
	}
	return page, nil
}

const unreadQuery = `SELECT COUNT(*) FROM notify_notifications
	WHERE tenant_id = ? AND user_id = ? AND status <> 'read'`

// pageQuery builds the page query, fetching fetch rows.
func pageQuery(q notify.Query, fetch int) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + notificationCols + ` FROM notify_notifications WHERE tenant_id = ? AND user_id = ?`)
	args := []any{q.TenantID, q.UserID}
	if q.Before != 0 {
		b.WriteString(` AND created_at_ms < ?`)
		args = append(args, q.Before)
	}
	if q.UnreadOnly {
		b.WriteString(` AND status <> 'read'`)
	}
	b.WriteString(` ORDER BY created_at_ms DESC, id DESC LIMIT ?`)
	return b.String(), append(args, fetch)
}

// UpsertDevice inserts d or replaces the token and last-active time of the
// existing (tenant, user, device type), and returns the stored device. A
// zero CreatedAtMs on insert takes LastActiveMs.
func (s *Store) UpsertDevice(ctx context.Context, d notify.Device) (notify.Device, error) {
	created := d.CreatedAtMs
	if created == 0 {
		created = d.LastActiveMs
	}
	var out notify.Device
	err := s.write(ctx, func(ctx context.Context, tx writer) error {
		var err error
		out, err = scanDevice(tx.QueryRowContext(ctx, `INSERT INTO notify_devices (`+deviceCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, user_id, device_type)
			DO UPDATE SET token = excluded.token, last_active_ms = excluded.last_active_ms
			RETURNING `+deviceCols,
			uuid.NewString(), d.TenantID, d.UserID, d.DeviceType, d.Token, created, d.LastActiveMs))
		return err
	})
	if err != nil {
		return notify.Device{}, fmt.Errorf("notify store: upsert device: %w", err)
	}
	return out, nil
}

// ListDevices returns the user's devices ordered by device type, compared
// byte-wise whatever the database collation.
func (s *Store) ListDevices(ctx context.Context, tenantID, userID string) ([]notify.Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceCols+` FROM notify_devices
		WHERE tenant_id = ? AND user_id = ? ORDER BY device_type`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("notify store: list devices: %w", err)
	}
	defer rows.Close()
	out := []notify.Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("notify store: list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify store: list devices: %w", err)
	}
	// PostgreSQL orders text by the database's collation (en_US puts
	// "android" before "Android"); sort by bytes like SQLite and memory.
	slices.SortStableFunc(out, func(a, b notify.Device) int { return strings.Compare(a.DeviceType, b.DeviceType) })
	return out, nil
}

// DeleteDevice removes the device of deviceType if it still holds token.
func (s *Store) DeleteDevice(ctx context.Context, tenantID, userID, deviceType, token string) error {
	err := s.write(ctx, func(ctx context.Context, w writer) error {
		_, err := w.ExecContext(ctx, `DELETE FROM notify_devices
			WHERE tenant_id = ? AND user_id = ? AND device_type = ? AND token = ?`, tenantID, userID, deviceType, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("notify store: delete device: %w", err)
	}
	return nil
}

// RecordDelivery appends one attempt to the delivery log.
func (s *Store) RecordDelivery(ctx context.Context, d notify.Delivery) error {
	err := s.write(ctx, func(ctx context.Context, tx writer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_deliveries
			(tenant_id, user_id, notification_id, channel, provider, destination, attempt, status, receipt_id, error, at_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.TenantID, d.UserID, d.NotificationID, d.Channel, d.Provider, d.Destination, d.Attempt,
			d.Status, d.ReceiptID, d.Error, d.AtMs)
		return err
	})
	if err != nil {
		return fmt.Errorf("notify store: record delivery: %w", err)
	}
	return nil
}

// ListDeliveries returns a row's delivery log, oldest first (by AtMs, then
// in the order recorded).
func (s *Store) ListDeliveries(ctx context.Context, tenantID, userID, notificationID string) ([]notify.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT notification_id, tenant_id, user_id, channel, provider,
		destination, attempt, status, receipt_id, error, at_ms
		FROM notify_deliveries WHERE tenant_id = ? AND user_id = ? AND notification_id = ?
		ORDER BY at_ms, seq`, tenantID, userID, notificationID)
	if err != nil {
		return nil, fmt.Errorf("notify store: list deliveries: %w", err)
	}
	defer rows.Close()
	out := []notify.Delivery{}
	for rows.Next() {
		var d notify.Delivery
		if err := rows.Scan(&d.NotificationID, &d.TenantID, &d.UserID, &d.Channel, &d.Provider,
			&d.Destination, &d.Attempt, &d.Status, &d.ReceiptID, &d.Error, &d.AtMs); err != nil {
			return nil, fmt.Errorf("notify store: list deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify store: list deliveries: %w", err)
	}
	return out, nil
}

// CheckSchema reports whether the tables this store uses exist, for a
// process that was told not to migrate.
func CheckSchema(ctx context.Context, db *store.DB) error {
	for _, table := range []string{"notify_notifications", "notify_devices", "notify_deliveries"} {
		rows, err := db.QueryContext(ctx, `SELECT 1 FROM `+table+` WHERE 1 = 0`)
		if err != nil {
			return fmt.Errorf("table %s: %w", table, err)
		}
		_ = rows.Close()
	}
	return nil
}

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.Ping(ctx); err != nil {
		return fmt.Errorf("notify store: ping: %w", err)
	}
	return nil
}

// Close does nothing: the database belongs to whoever opened it.
func (s *Store) Close() error { return nil }
