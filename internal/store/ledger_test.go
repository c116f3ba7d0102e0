package store_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// testLedgerKey is the advisory lock of the own-ledger test domain; it is
// not scoped to a schema, so it differs from every real domain's key.
const testLedgerKey int64 = 0x716b_7465_7374_0001

var gadgets = store.Migrations{
	Domain: "gadgets",
	FS:     os.DirFS("testdata/migrations/own"),
	Ledger: &store.Ledger{Table: "gadgets_schema_migrations", LockKey: testLedgerKey},
}

func tableExists(t *testing.T, db *store.DB, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if db.Driver() == store.Postgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
	}
	var n int
	if err := db.QueryRowContext(ctxT(t), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

type ledgerRow struct {
	version int
	name    string
}

func ownLedgerRows(t *testing.T, db *store.DB, table string) []ledgerRow {
	t.Helper()
	rows, err := db.QueryContext(ctxT(t), "SELECT version, name FROM "+table+" WHERE applied_at IS NOT NULL ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledgerRow
	for rows.Next() {
		var r ledgerRow
		if err := rows.Scan(&r.version, &r.name); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOwnLedger(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			t.Run("RecordsInItsOwnTable", func(t *testing.T) {
				db := storetest.Open(t, driver)
				ctx := ctxT(t)
				for range 3 {
					if err := db.Migrate(ctx, gadgets); err != nil {
						t.Fatalf("migrate: %v", err)
					}
				}
				got := ownLedgerRows(t, db, "gadgets_schema_migrations")
				want := []ledgerRow{{1, "init"}, {2, "gadget_notes"}}
				if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("ledger = %v, want %v", got, want)
				}
				if tableExists(t, db, "quikapp_schema_migrations") {
					t.Fatal("a domain with its own ledger must not create the shared ledger")
				}
				if !tableExists(t, db, "gadgets") || !tableExists(t, db, "gadget_notes") {
					t.Fatal("migrations not applied")
				}
			})
			t.Run("AdoptsExistingLedger", func(t *testing.T) {
				db := storetest.Open(t, driver)
				ctx := ctxT(t)
				// Another program created the ledger and recorded version 1
				// (its table is deliberately absent: version 1 must not run).
				ddl := "CREATE TABLE gadgets_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
				if driver == store.Postgres {
					ddl = "CREATE TABLE gadgets_schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
				}
				if _, err := db.ExecContext(ctx, ddl); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, "INSERT INTO gadgets_schema_migrations (version, name) VALUES (1, 'init')"); err != nil {
					t.Fatal(err)
				}
				if err := db.Migrate(ctx, gadgets); err != nil {
					t.Fatalf("migrate: %v", err)
				}
				if tableExists(t, db, "gadgets") {
					t.Fatal("version 1 was re-run although the ledger records it")
				}
				if !tableExists(t, db, "gadget_notes") {
					t.Fatal("version 2 was not applied")
				}
				if got := ownLedgerRows(t, db, "gadgets_schema_migrations"); len(got) != 2 || got[1] != (ledgerRow{2, "gadget_notes"}) {
					t.Fatalf("ledger = %v", got)
				}
			})
			t.Run("MixedWithSharedLedger", func(t *testing.T) {
				db := storetest.Open(t, driver)
				ctx := ctxT(t)
				for range 2 {
					if err := db.Migrate(ctx, widgets, gadgets); err != nil {
						t.Fatalf("migrate: %v", err)
					}
				}
				var shared int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM quikapp_schema_migrations").Scan(&shared); err != nil {
					t.Fatal(err)
				}
				if shared != 2 {
					t.Fatalf("shared ledger rows = %d, want 2 (widgets only)", shared)
				}
				if got := ownLedgerRows(t, db, "gadgets_schema_migrations"); len(got) != 2 {
					t.Fatalf("own ledger = %v", got)
				}
			})
			t.Run("RejectsBadLedgers", func(t *testing.T) {
				db := storetest.Open(t, driver)
				ctx := ctxT(t)
				for _, table := range []string{"", "Bad", "x; DROP TABLE y", "quikapp_schema_migrations", "1abc"} {
					m := gadgets
					m.Ledger = &store.Ledger{Table: table}
					if err := db.Migrate(ctx, m); err == nil || !strings.Contains(err.Error(), "invalid ledger table") {
						t.Errorf("table %q: err = %v", table, err)
					}
				}
				twin := store.Migrations{Domain: "twin", FS: gadgets.FS, Ledger: gadgets.Ledger}
				if err := db.Migrate(ctx, gadgets, twin); err == nil || !strings.Contains(err.Error(), "share the ledger table") {
					t.Errorf("two domains on one ledger: err = %v", err)
				}
			})
		})
	}
}

// On PostgreSQL the own ledger is created with upstream's column types and
// migrations wait on pg_advisory_lock(LockKey), not on the shared lock.
func TestOwnLedgerPostgresLock(t *testing.T) {
	url := storetest.NewPostgresSchema(t)
	ctx := ctxT(t)
	db, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	holder, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()

	// The shared lock does not block a domain with its own ledger.
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext(current_schema()))", 0x716b6170); err != nil {
		t.Fatal(err)
	}
	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = db.Migrate(quick, gadgets)
	cancel()
	if err != nil {
		t.Fatalf("own-ledger migrate blocked by the shared lock: %v", err)
	}
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", 0x716b6170); err != nil {
		t.Fatal(err)
	}

	// Its own lock does.
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock($1)", testLedgerKey); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- db.Migrate(ctx, gadgets) }()
	select {
	case err := <-done:
		t.Fatalf("migrate finished (%v) while another session held pg_advisory_lock(%d)", err, testLedgerKey)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", testLedgerKey); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("migrate after unlock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("migrate still blocked after the lock was released")
	}
	// And releases it afterwards.
	var got bool
	if err := holder.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", testLedgerKey).Scan(&got); err != nil || !got {
		t.Fatalf("lock still held after migrate: got=%v err=%v", got, err)
	}
	_, _ = holder.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", testLedgerKey)

	cols := map[string]string{}
	rows, err := raw.QueryContext(ctx, `SELECT column_name, data_type || ':' || is_nullable || ':' || COALESCE(column_default, '')
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'gadgets_schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, desc string
		if err := rows.Scan(&name, &desc); err != nil {
			t.Fatal(err)
		}
		cols[name] = desc
	}
	want := map[string]string{
		"version":    "integer:NO:",
		"name":       "text:NO:",
		"applied_at": "timestamp with time zone:NO:now()",
	}
	for c, w := range want {
		if cols[c] != w {
			t.Errorf("column %s = %q, want %q", c, cols[c], w)
		}
	}
	if len(cols) != len(want) {
		t.Errorf("columns = %v", cols)
	}
}
