// Package storetest gives every store test a fresh database on each driver:
// a new SQLite file in t.TempDir() and a new PostgreSQL schema on the
// server every development and CI machine runs (127.0.0.1:5432, database
// test, trust auth). PostgreSQL is never silently skipped: if it cannot be
// reached the test fails and says how to start it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/quikapp/quikapp/internal/store"
)

// DefaultPostgresURL is the test server every machine runs. Override it with
// QUIKAPP_TEST_POSTGRES_URL.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Drivers lists the drivers every store test runs on.
var Drivers = []string{store.SQLite, store.Postgres}

// PostgresURL returns the server URL tests use.
func PostgresURL() string {
	if u := os.Getenv("QUIKAPP_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Each runs fn as a subtest once per driver, each with its own fresh
// database that has the given migrations applied.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB), migrations ...store.Migrations) {
	t.Helper()
	for _, driver := range Drivers {
		t.Run(driver, func(t *testing.T) {
			db := Open(t, driver)
			if len(migrations) > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := db.Migrate(ctx, migrations...); err != nil {
					t.Fatalf("migrate: %v", err)
				}
			}
			fn(t, db)
		})
	}
}

// Open returns a fresh, empty database for driver, closed and dropped when
// the test ends.
func Open(t testing.TB, driver string) *store.DB {
	t.Helper()
	cfg := Config(t, driver)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Config returns a store.Config for a fresh database on driver (a new
// SQLite file, or a new PostgreSQL schema dropped at cleanup). Tests that
// start whole processes pass its URL on.
func Config(t testing.TB, driver string) store.Config {
	t.Helper()
	switch driver {
	case store.SQLite:
		return store.Config{SQLitePath: filepath.Join(t.TempDir(), "test.db")}
	case store.Postgres:
		return store.Config{URL: NewPostgresSchema(t)}
	default:
		t.Fatalf("storetest: unknown driver %q", driver)
		return store.Config{}
	}
}

// NewPostgresSchema creates a uniquely named schema and returns a URL whose
// connections use it as their search_path. The schema is dropped when the
// test ends.
func NewPostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: open PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("storetest: PostgreSQL at %s is not reachable (%v); it runs on every development and CI machine — start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", redact(base), err)
	}
	schema := "t_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
