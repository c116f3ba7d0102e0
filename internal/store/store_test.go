package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

var widgets = store.Migrations{Domain: "widgets", FS: os.DirFS("testdata/migrations/good")}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The store conformance suite: every case runs on SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Run("MigrateIsIdempotent", func(t *testing.T) {
			ctx := ctxT(t)
			for range 3 {
				if err := db.Migrate(ctx, widgets); err != nil {
					t.Fatalf("migrate again: %v", err)
				}
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM quikapp_schema_migrations WHERE domain = ?", "widgets").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Fatalf("ledger rows = %d, want 2", n)
			}
		})
		t.Run("DialectSpecificFileUsed", func(t *testing.T) {
			ctx := ctxT(t)
			for range 2 {
				if _, err := db.ExecContext(ctx, "INSERT INTO widget_log (note) VALUES (?)", "x"); err != nil {
					t.Fatal(err)
				}
			}
			var maxSeq int64
			if err := db.QueryRowContext(ctx, "SELECT MAX(seq) FROM widget_log").Scan(&maxSeq); err != nil {
				t.Fatal(err)
			}
			if maxSeq != 2 {
				t.Fatalf("auto-increment seq = %d, want 2", maxSeq)
			}
		})
		t.Run("PlaceholdersAndQuotedQuestionMarks", func(t *testing.T) {
			ctx := ctxT(t)
			// A literal '?' inside a string must not become a parameter.
			if _, err := db.ExecContext(ctx, "INSERT INTO widgets (id, name, count) VALUES (?, 'what?', ?)", "q1", 7); err != nil {
				t.Fatal(err)
			}
			var name string
			var count int
			if err := db.QueryRowContext(ctx, "SELECT name, count FROM widgets WHERE id = ? AND name <> '??'", "q1").Scan(&name, &count); err != nil {
				t.Fatal(err)
			}
			if name != "what?" || count != 7 {
				t.Fatalf("got %q %d", name, count)
			}
		})
		t.Run("UniqueViolationIsDetected", func(t *testing.T) {
			ctx := ctxT(t)
			if _, err := db.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "u1", "unique-name"); err != nil {
				t.Fatal(err)
			}
			_, err := db.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "u2", "unique-name")
			if err == nil || !db.Dialect().IsUniqueViolation(err) {
				t.Fatalf("want unique violation, got %v", err)
			}
			_, err = db.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "u1", "other")
			if err == nil || !db.Dialect().IsUniqueViolation(err) {
				t.Fatalf("want primary-key violation, got %v", err)
			}
		})
		t.Run("TxCommitsAndRollsBack", func(t *testing.T) {
			ctx := ctxT(t)
			err := db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "t1", "committed")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			err = db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "t2", "rolled-back"); err != nil {
					return err
				}
				// Visible inside the transaction…
				var n int
				if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM widgets WHERE id = ?", "t2").Scan(&n); err != nil || n != 1 {
					return fmt.Errorf("inside tx: n=%d err=%v", n, err)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx error = %v, want boom", err)
			}
			// …gone after rollback.
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM widgets WHERE id IN (?, ?)", "t1", "t2").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("rows after commit+rollback = %d, want 1", n)
			}
		})
		t.Run("PanicRollsBack", func(t *testing.T) {
			ctx := ctxT(t)
			func() {
				defer func() { _ = recover() }()
				_ = db.InTx(ctx, func(tx *store.Tx) error {
					_, _ = tx.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "p1", "panicked")
					panic("in tx")
				})
			}()
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM widgets WHERE id = ?", "p1").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatal("row of a panicked transaction was committed")
			}
			// The writer must still work afterwards (no leaked connection).
			if _, err := db.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", "p2", "after-panic"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ConcurrentIncrementsLoseNothing", func(t *testing.T) {
			ctx := ctxT(t)
			if _, err := db.ExecContext(ctx, "INSERT INTO widgets (id, name, count) VALUES (?, ?, 0)", "c1", "counter"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for range 8 {
				wg.Go(func() {
					for range 25 {
						err := db.InTx(ctx, func(tx *store.Tx) error {
							var c int
							if err := tx.QueryRowContext(ctx, "SELECT count FROM widgets WHERE id = ? "+forUpdate(db), "c1").Scan(&c); err != nil {
								return err
							}
							_, err := tx.ExecContext(ctx, "UPDATE widgets SET count = ? WHERE id = ?", c+1, "c1")
							return err
						})
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var c int
			if err := db.QueryRowContext(ctx, "SELECT count FROM widgets WHERE id = ?", "c1").Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c != 200 {
				t.Fatalf("count = %d, want 200 (lost updates)", c)
			}
		})
		t.Run("TryLockIsExclusive", func(t *testing.T) {
			ctx := ctxT(t)
			unlock, ok, err := db.TryLock(ctx, "job")
			if err != nil || !ok {
				t.Fatalf("first TryLock: ok=%v err=%v", ok, err)
			}
			_, ok2, err := db.TryLock(ctx, "job")
			if err != nil || ok2 {
				t.Fatalf("second TryLock while held: ok=%v err=%v", ok2, err)
			}
			unlockOther, okOther, err := db.TryLock(ctx, "other-job")
			if err != nil || !okOther {
				t.Fatalf("a different lock must be free: ok=%v err=%v", okOther, err)
			}
			unlockOther()
			unlock()
			unlock3, ok3, err := db.TryLock(ctx, "job")
			if err != nil || !ok3 {
				t.Fatalf("TryLock after unlock: ok=%v err=%v", ok3, err)
			}
			unlock3()
		})
	}, widgets)
}

// forUpdate returns the row-lock clause where the database has one; SQLite
// serialises writers with BEGIN IMMEDIATE instead.
func forUpdate(db *store.DB) string {
	if db.Driver() == store.Postgres {
		return "FOR UPDATE"
	}
	return ""
}

func TestMigrationsRejectBadSets(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			db := storetest.Open(t, driver)
			ctx := ctxT(t)
			cases := map[string]string{
				"bad_gap":  "expected version 0002",
				"bad_name": "name must be NNNN_name",
			}
			for dir, want := range cases {
				err := db.Migrate(ctx, store.Migrations{Domain: dir, FS: os.DirFS("testdata/migrations/" + dir)})
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: err = %v, want it to contain %q", dir, err, want)
				}
			}
			if err := db.Migrate(ctx, widgets, widgets); err == nil {
				t.Error("the same domain twice must be refused")
			}
		})
	}
}

// Several processes starting at once must not apply a migration twice; on
// PostgreSQL they queue on the advisory lock. Separate pools stand in for
// separate processes.
func TestMigrateConcurrentStartsPostgres(t *testing.T) {
	url := storetest.NewPostgresSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			ctx := ctxT(t)
			db, err := store.Open(ctx, store.Config{URL: url, MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(ctx, widgets)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT COUNT(*) FROM quikapp_schema_migrations WHERE domain = 'widgets'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("ledger rows = %d, want 2", n)
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{URL: "mysql://x"})
	if err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("err = %v", err)
	}
}

func TestSQLiteReadersSeeCommittedWrites(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := ctxT(t)
	if err := db.Migrate(ctx, widgets); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		id := fmt.Sprint("r", i)
		if _, err := db.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (?, ?)", id, id); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM widgets WHERE id = ?", id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("reader did not see write %d: n=%d err=%v", i, n, err)
		}
	}
	// Readers are read-only: a write through the read pool fails.
	if _, err := db.QueryContext(ctx, "INSERT INTO widgets (id, name) VALUES ('ro', 'ro') RETURNING id"); err == nil {
		t.Fatal("write through the read pool succeeded; readers must be query_only")
	}
}

// A libpq key=value DSN opens PostgreSQL, as NOTIFY_POSTGRES_DSN allows.
func TestOpenKeyValueDSN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: "host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable"})
	if err != nil {
		t.Fatalf("key=value DSN: %v", err)
	}
	defer db.Close()
	if db.Driver() != store.Postgres {
		t.Fatalf("driver %s, want postgres", db.Driver())
	}
}

// Installations in different schemas of one PostgreSQL database do not
// share TryLock's locks (advisory locks are database-wide).
func TestTryLockIsPerSchema(t *testing.T) {
	a, b := storetest.Open(t, store.Postgres), storetest.Open(t, store.Postgres)
	ctx := ctxT(t)
	unlockA, ok, err := a.TryLock(ctx, "outbox-relay")
	if err != nil || !ok {
		t.Fatalf("schema A: ok=%v err=%v", ok, err)
	}
	defer unlockA()
	unlockB, ok, err := b.TryLock(ctx, "outbox-relay")
	if err != nil || !ok {
		t.Fatalf("schema B is blocked by schema A's lock: ok=%v err=%v", ok, err)
	}
	unlockB()
	if _, ok, _ := a.TryLock(ctx, "outbox-relay"); ok {
		t.Fatal("the lock is no longer exclusive within a schema")
	}
}
