package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/sqlstore"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// upstreamDDL is the schema of a database the upstream notify service
// migrated, as contract §10 describes it (written independently of our
// migration files, so the comparison below means something).
var upstreamDDL = []string{
	`CREATE TABLE notify_schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
	`CREATE TABLE notify_notifications (
		id uuid PRIMARY KEY,
		tenant_id text NOT NULL, user_id text NOT NULL, notification_id text NOT NULL,
		subject_ref text NOT NULL DEFAULT '', subject_type text NOT NULL DEFAULT '',
		title text NOT NULL DEFAULT '', body text NOT NULL DEFAULT '', channel text NOT NULL DEFAULT '',
		status text NOT NULL,
		created_at_ms bigint NOT NULL,
		delivered_at_ms bigint NOT NULL DEFAULT 0, ack_at_ms bigint NOT NULL DEFAULT 0, read_at_ms bigint NOT NULL DEFAULT 0,
		CONSTRAINT notify_notifications_tenant_user_nid_uq UNIQUE (tenant_id, user_id, notification_id))`,
	`CREATE INDEX notify_notifications_user_created ON notify_notifications (tenant_id, user_id, created_at_ms DESC, id DESC)`,
	`CREATE INDEX notify_notifications_user_unread ON notify_notifications (tenant_id, user_id) WHERE status <> 'read'`,
	`CREATE TABLE notify_devices (
		id uuid PRIMARY KEY,
		tenant_id text NOT NULL, user_id text NOT NULL, device_type text NOT NULL,
		token text NOT NULL DEFAULT '',
		created_at_ms bigint NOT NULL DEFAULT 0, last_active_ms bigint NOT NULL DEFAULT 0,
		CONSTRAINT notify_devices_tenant_user_type_uq UNIQUE (tenant_id, user_id, device_type))`,
	`CREATE INDEX notify_devices_user ON notify_devices (tenant_id, user_id, device_type)`,
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func rawPG(t *testing.T, url string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctxT(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func openMigrated(t *testing.T, url string) (*store.DB, *sqlstore.Store) {
	t.Helper()
	db, err := store.Open(ctxT(t), store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctxT(t), sqlstore.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db, sqlstore.New(db)
}

type ledgerEntry struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

func readLedger(t *testing.T, raw *sql.DB) []ledgerEntry {
	t.Helper()
	rows, err := raw.QueryContext(ctxT(t), "SELECT version, name, applied_at FROM notify_schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledgerEntry
	for rows.Next() {
		var e ledgerEntry
		if err := rows.Scan(&e.Version, &e.Name, &e.AppliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// A database migrated by upstream (its schema, ledger row 1 "init" and
// data) is adopted in place: only version 2 runs and the old rows serve.
func TestAdoptUpstreamDatabase(t *testing.T) {
	url := storetest.NewPostgresSchema(t)
	raw := rawPG(t, url)
	execAll(t, raw, upstreamDDL...)
	upstreamApplied := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := raw.ExecContext(ctxT(t), "INSERT INTO notify_schema_migrations (version, name, applied_at) VALUES (1, 'init', $1)", upstreamApplied); err != nil {
		t.Fatal(err)
	}
	rowID, devID := uuid.NewString(), uuid.NewString()
	if _, err := raw.ExecContext(ctxT(t), `INSERT INTO notify_notifications
		(id, tenant_id, user_id, notification_id, subject_ref, subject_type, title, body, channel, status, created_at_ms, delivered_at_ms)
		VALUES ($1, 'acme', 'u1', 'upstream-1', 'order/1', 'order', 'Hi', 'From upstream', 'in_app', 'delivered', 1700000000000, 1700000000500)`, rowID); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctxT(t), `INSERT INTO notify_devices (id, tenant_id, user_id, device_type, token, last_active_ms)
		VALUES ($1, 'acme', 'u1', 'android', 'fcm-token', 42)`, devID); err != nil {
		t.Fatal(err)
	}

	db, s := openMigrated(t, url)
	ctx := ctxT(t)

	ledger := readLedger(t, raw)
	if len(ledger) != 2 || ledger[0].Version != 1 || ledger[0].Name != "init" || !ledger[0].AppliedAt.Equal(upstreamApplied) ||
		ledger[1].Version != 2 || ledger[1].Name != "deliveries" {
		t.Fatalf("ledger = %+v, want upstream's row 1 untouched and our row 2", ledger)
	}
	got, err := s.GetNotification(ctx, "acme", "u1", rowID)
	if err != nil {
		t.Fatalf("get the upstream row: %v", err)
	}
	want := notify.Notification{ID: rowID, TenantID: "acme", UserID: "u1", NotificationID: "upstream-1", SubjectRef: "order/1",
		SubjectType: "order", Title: "Hi", Body: "From upstream", Channel: "in_app", Status: "delivered",
		CreatedAtMs: 1700000000000, DeliveredAtMs: 1700000000500}
	if got != want {
		t.Fatalf("upstream row = %+v\nwant %+v", got, want)
	}
	// Upstream's unique constraint keeps idempotency across the switch.
	id, created, err := s.CreateNotification(ctx, notify.Notification{TenantID: "acme", UserID: "u1", NotificationID: "upstream-1",
		Status: notify.StatusPending, CreatedAtMs: 1})
	if err != nil || created || id != rowID {
		t.Fatalf("re-create upstream's key: id=%q created=%v err=%v", id, created, err)
	}
	p, err := s.ListNotifications(ctx, notify.Query{TenantID: "acme", UserID: "u1", Limit: 20})
	if err != nil || len(p.Items) != 1 || p.Unread != 1 {
		t.Fatalf("list = %+v, %v", p, err)
	}
	d, err := s.UpsertDevice(ctx, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: "android", Token: "new", LastActiveMs: 99})
	if err != nil || d.ID != devID || d.CreatedAtMs != 0 || d.Token != "new" {
		t.Fatalf("upsert over upstream's device: %+v, %v", d, err)
	}
	if err := s.RecordDelivery(ctx, notify.Delivery{NotificationID: rowID, TenantID: "acme", UserID: "u1", Channel: "in_app", Status: "delivered", AtMs: 5}); err != nil {
		t.Fatalf("delivery log (migration 2): %v", err)
	}
	// Migrating again changes nothing.
	if err := db.Migrate(ctx, sqlstore.Migrations); err != nil {
		t.Fatal(err)
	}
	if l := readLedger(t, raw); len(l) != 2 {
		t.Fatalf("ledger after re-migrate = %+v", l)
	}
}

// Version 1 recorded in the ledger is never re-run: an index missing from
// the hand-made schema stays missing.
func TestAdoptDoesNotRerunVersion1(t *testing.T) {
	url := storetest.NewPostgresSchema(t)
	raw := rawPG(t, url)
	var ddl []string
	for _, s := range upstreamDDL {
		if !strings.Contains(s, "INDEX notify_devices_user") {
			ddl = append(ddl, s)
		}
	}
	execAll(t, raw, ddl...)
	execAll(t, raw, "INSERT INTO notify_schema_migrations (version, name) VALUES (1, 'init')")
	openMigrated(t, url)
	var n int
	if err := raw.QueryRowContext(ctxT(t), "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'notify_devices_user'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("migration 1 ran although the ledger records it")
	}
	if l := readLedger(t, raw); len(l) != 2 || l[1].Version != 2 {
		t.Fatalf("ledger = %+v", l)
	}
}

// Upstream creates the tables before recording version 1; a database left
// in between (tables, no ledger row) migrates without error.
func TestAdoptTablesWithoutLedgerRow(t *testing.T) {
	url := storetest.NewPostgresSchema(t)
	raw := rawPG(t, url)
	execAll(t, raw, upstreamDDL...)
	rowID := uuid.NewString()
	execAll(t, raw, fmt.Sprintf(`INSERT INTO notify_notifications (id, tenant_id, user_id, notification_id, status, created_at_ms)
		VALUES ('%s', 'acme', 'u1', 'n1', 'pending', 7)`, rowID))
	_, s := openMigrated(t, url)
	if l := readLedger(t, raw); len(l) != 2 || l[0].Name != "init" || l[1].Name != "deliveries" {
		t.Fatalf("ledger = %+v", l)
	}
	if _, err := s.GetNotification(ctxT(t), "acme", "u1", rowID); err != nil {
		t.Fatal(err)
	}
}

// Our migrated schema is upstream's, catalog entry for catalog entry.
func TestSchemaMatchesUpstream(t *testing.T) {
	upstreamURL := storetest.NewPostgresSchema(t)
	upstream := rawPG(t, upstreamURL)
	execAll(t, upstream, upstreamDDL...)
	oursURL := storetest.NewPostgresSchema(t)
	openMigrated(t, oursURL)
	ours := rawPG(t, oursURL)

	tables := "('notify_notifications', 'notify_devices', 'notify_schema_migrations')"
	queries := map[string]string{
		"columns": `SELECT table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable || ' default=' || COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name IN ` + tables,
		"indexes": `SELECT indexname || ': ' || replace(indexdef, current_schema() || '.', '')
			FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ` + tables,
		"constraints": `SELECT c.conname || ' ' || c.contype::text || ' ' || pg_get_constraintdef(c.oid)
			FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
			WHERE c.connamespace = current_schema()::regnamespace AND r.relname IN ` + tables,
	}
	dump := func(db *sql.DB, q string) []string {
		rows, err := db.QueryContext(ctxT(t), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return out
	}
	for what, q := range queries {
		want, got := dump(upstream, q), dump(ours, q)
		if len(want) == 0 {
			t.Fatalf("%s: upstream dump empty", what)
		}
		t.Logf("%s: %d entries match:\n%s", what, len(want), strings.Join(want, "\n"))
		if !slices.Equal(got, want) {
			t.Errorf("%s differ:\n ours     %s\n upstream %s", what, strings.Join(got, "\n          "), strings.Join(want, "\n          "))
		}
	}
}

// On SQLite the same tables and index names exist (SQLite names unique
// constraints' indexes itself; the constraints are exercised by the suite).
func TestSQLiteSchema(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	if err := db.Migrate(ctxT(t), sqlstore.Migrations); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctxT(t), "SELECT type || ' ' || name FROM sqlite_master WHERE name LIKE 'notify_%' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{
		"index notify_deliveries_row", "index notify_devices_user",
		"index notify_notifications_user_created", "index notify_notifications_user_unread",
		"table notify_deliveries", "table notify_devices", "table notify_notifications", "table notify_schema_migrations",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("schema objects = %v\nwant %v", got, want)
	}
}

// A migration waits for upstream's advisory lock, so upstream and notifyd
// starting together never migrate one database at once.
func TestMigrationTakesUpstreamLock(t *testing.T) {
	if sqlstore.LockKey != 31084793213384960 || sqlstore.Migrations.Ledger.LockKey != sqlstore.LockKey ||
		sqlstore.Migrations.Ledger.Table != "notify_schema_migrations" {
		t.Fatalf("ledger = %+v", *sqlstore.Migrations.Ledger)
	}
	url := storetest.NewPostgresSchema(t)
	raw := rawPG(t, url)
	conn, err := raw.Conn(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctxT(t), "SELECT pg_advisory_lock(31084793213384960)"); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctxT(t), store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan error, 1)
	go func() { done <- db.Migrate(ctxT(t), sqlstore.Migrations) }()
	select {
	case err := <-done:
		t.Fatalf("migrated (%v) while upstream's lock was held", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := conn.ExecContext(ctxT(t), "SELECT pg_advisory_unlock(31084793213384960)"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Lower-case canonical UUID text sorts byte-wise exactly as PostgreSQL
// sorts uuid values, so id tie-breaks agree on both drivers.
func TestUUIDTextOrderMatchesPostgres(t *testing.T) {
	ids := []string{
		"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
		"99999999-9999-9999-9999-999999999999", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
	}
	// Pairs that differ only where a digit meets a letter, at every position.
	for pos := range 32 {
		for _, c := range []byte("09af") {
			b := []byte(strings.Repeat("5", 32))
			b[pos] = c
			raw, err := hex.DecodeString(string(b))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, uuid.UUID(raw).String())
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		ids = append(ids, uuid.UUID(b).String())
	}
	want := slices.Clone(ids)
	slices.Sort(want) // Go: byte-wise, as SQLite's BINARY collation

	raw := rawPG(t, storetest.NewPostgresSchema(t))
	execAll(t, raw, "CREATE TABLE u (id uuid PRIMARY KEY)")
	var b strings.Builder
	b.WriteString("INSERT INTO u (id) VALUES ")
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "('%s')", id)
	}
	execAll(t, raw, b.String())
	rows, err := raw.QueryContext(ctxT(t), "SELECT id FROM u ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Fatal("PostgreSQL uuid order differs from byte-wise order of the canonical text")
	}

	// And SQLite's TEXT order is the byte-wise one.
	sq := storetest.Open(t, store.SQLite)
	if _, err := sq.ExecContext(ctxT(t), "CREATE TABLE u (id TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := sq.ExecContext(ctxT(t), b.String()); err != nil {
		t.Fatal(err)
	}
	rows2, err := sq.QueryContext(ctxT(t), "SELECT id FROM u ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	got = got[:0]
	for rows2.Next() {
		var s string
		if err := rows2.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Fatal("SQLite TEXT order differs from byte-wise order")
	}
}

// Errors carry context; ErrNotFound stays matchable; a broken database is
// never reported as NotFound.
func TestErrors(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			db := storetest.Open(t, driver)
			if err := db.Migrate(ctxT(t), sqlstore.Migrations); err != nil {
				t.Fatal(err)
			}
			s := sqlstore.New(db)
			ctx := ctxT(t)
			_, err := s.GetNotification(ctx, "acme", "u1", "nope")
			if !errors.Is(err, notify.ErrNotFound) || !strings.HasPrefix(err.Error(), "notify store: get: ") {
				t.Errorf("get malformed: %v", err)
			}
			err = s.UpdateStatus(ctx, "acme", "u1", uuid.NewString(), notify.StatusRead, 1)
			if !errors.Is(err, notify.ErrNotFound) || !strings.HasPrefix(err.Error(), "notify store: update status: ") {
				t.Errorf("update unknown: %v", err)
			}
			_ = db.Close()
			checks := map[string]error{}
			_, _, checks["notify store: create: "] = s.CreateNotification(ctx, notify.Notification{Status: notify.StatusPending})
			_, checks["notify store: get: "] = s.GetNotification(ctx, "a", "u", uuid.NewString())
			checks["notify store: update status: "] = s.UpdateStatus(ctx, "a", "u", uuid.NewString(), notify.StatusRead, 1)
			_, checks["notify store: list: "] = s.ListNotifications(ctx, notify.Query{TenantID: "a", UserID: "u", Limit: 1})
			_, checks["notify store: upsert device: "] = s.UpsertDevice(ctx, notify.Device{TenantID: "a", UserID: "u", DeviceType: "ios"})
			_, checks["notify store: list devices: "] = s.ListDevices(ctx, "a", "u")
			checks["notify store: record delivery: "] = s.RecordDelivery(ctx, notify.Delivery{Status: "x"})
			_, checks["notify store: list deliveries: "] = s.ListDeliveries(ctx, "a", "u", "n")
			checks["notify store: ping: "] = s.Ping(ctx)
			for prefix, err := range checks {
				if err == nil || !strings.HasPrefix(err.Error(), prefix) || errors.Is(err, notify.ErrNotFound) {
					t.Errorf("%s on a closed database: %v", strings.TrimSuffix(prefix, ": "), err)
				}
			}
		})
	}
}
