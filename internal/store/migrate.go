package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Migrations are one domain's ordered schema changes, embedded in its
// package. Files are named NNNN_name.sql (portable) or, where the databases
// need different SQL, NNNN_name.sqlite.sql and NNNN_name.postgres.sql.
// Versions start at 1, have no gaps and never change once released.
type Migrations struct {
	Domain string // ledger key, e.g. "message"; unique across the program
	FS     fs.FS  // holds the .sql files at its root
}

type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$`)

// load returns the domain's migrations for one dialect, in order.
func (m Migrations) load(dialect string) ([]migration, error) {
	entries, err := fs.ReadDir(m.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations of %s: %w", m.Domain, err)
	}
	byVersion := map[int]migration{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		parts := migrationName.FindStringSubmatch(e.Name())
		if parts == nil {
			return nil, fmt.Errorf("store: migration %s/%s: name must be NNNN_name[.sqlite|.postgres].sql", m.Domain, e.Name())
		}
		if parts[3] != "" && parts[3] != dialect {
			continue
		}
		v, _ := strconv.Atoi(parts[1])
		body, err := fs.ReadFile(m.FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s/%s: %w", m.Domain, e.Name(), err)
		}
		if prev, dup := byVersion[v]; dup && prev.name == parts[2] {
			return nil, fmt.Errorf("store: migration %s/%04d has both a portable and a %s file", m.Domain, v, dialect)
		} else if dup {
			return nil, fmt.Errorf("store: migration %s/%04d defined twice (%s, %s)", m.Domain, v, prev.name, parts[2])
		}
		byVersion[v] = migration{version: v, name: parts[2], sql: string(body)}
	}
	out := make([]migration, 0, len(byVersion))
	for _, mg := range byVersion {
		out = append(out, mg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, mg := range out {
		if mg.version != i+1 {
			return nil, fmt.Errorf("store: migrations of %s: expected version %04d, found %04d", m.Domain, i+1, mg.version)
		}
	}
	return out, nil
}

// migrationLockClass is the first key of the PostgreSQL advisory lock that
// serialises migrations across processes starting at once; the second key is
// the schema's hash, so separate schemas (tests, tenants) migrate in parallel.
const migrationLockClass = 0x716b6170 // "qkap"

const ledgerDDL = `CREATE TABLE IF NOT EXISTS quikapp_schema_migrations (
	domain     TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (domain, version)
)`

// Migrate applies every pending migration of every domain, each in its own
// transaction together with its ledger row, so a crash leaves the schema at
// a clean version. It is idempotent, and on PostgreSQL safe to run from many
// processes at once: they queue on an advisory lock.
func (db *DB) Migrate(ctx context.Context, domains ...Migrations) error {
	seen := map[string]bool{}
	plans := make([][]migration, len(domains))
	for i, d := range domains {
		if d.Domain == "" || seen[d.Domain] {
			return fmt.Errorf("store: migrations: domain %q empty or registered twice", d.Domain)
		}
		seen[d.Domain] = true
		ms, err := d.load(db.dialect.Name())
		if err != nil {
			return err
		}
		plans[i] = ms
	}

	// One pinned connection holds the lock and runs every migration.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrations: connect: %w", err)
	}
	defer conn.Close()
	if db.dialect.Name() == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext(current_schema()))", migrationLockClass); err != nil {
			return fmt.Errorf("store: migrations: lock: %w", err)
		}
		defer func() {
			// Unlock on a fresh context: the caller's may be cancelled, and a
			// lock left behind would block every later start.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", migrationLockClass)
		}()
	}
	if _, err := conn.ExecContext(ctx, ledgerDDL); err != nil {
		return fmt.Errorf("store: migrations: create ledger: %w", err)
	}
	for i, d := range domains {
		applied, err := appliedVersions(ctx, conn, db.dialect, d.Domain)
		if err != nil {
			return err
		}
		for _, mg := range plans[i] {
			if applied[mg.version] {
				continue
			}
			if err := applyMigration(ctx, conn, db.dialect, d.Domain, mg); err != nil {
				return err
			}
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn, d Dialect, domain string) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, d.Rebind("SELECT version FROM quikapp_schema_migrations WHERE domain = ?"), domain)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: read ledger for %s: %w", domain, err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: migrations: read ledger for %s: %w", domain, err)
		}
		out[v] = true
	}
	return out, rows.Err()
}

func applyMigration(ctx context.Context, conn *sql.Conn, d Dialect, domain string, mg migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %s/%04d: begin: %w", domain, mg.version, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Check again inside the transaction: on SQLite, another process may have
	// applied it between our ledger read and BEGIN IMMEDIATE.
	var done int
	if err := tx.QueryRowContext(ctx, d.Rebind("SELECT COUNT(*) FROM quikapp_schema_migrations WHERE domain = ? AND version = ?"),
		domain, mg.version).Scan(&done); err != nil {
		return fmt.Errorf("store: migration %s/%04d: check ledger: %w", domain, mg.version, err)
	}
	if done > 0 {
		return nil
	}
	for i, stmt := range splitStatements(mg.sql) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("store: migration %s/%04d_%s statement %d: %w", domain, mg.version, mg.name, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.Rebind("INSERT INTO quikapp_schema_migrations (domain, version, name) VALUES (?, ?, ?)"),
		domain, mg.version, mg.name); err != nil {
		return fmt.Errorf("store: migration %s/%04d: record: %w", domain, mg.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migration %s/%04d: commit: %w", domain, mg.version, err)
	}
	return nil
}

// splitStatements splits a migration on semicolons that end a line, so each
// statement runs on its own (the pgx driver runs multi-statement strings
// without parameters fine, but SQLite drivers differ; one at a time is
// portable and gives precise error positions). A statement whose body needs
// inner `;` at line ends (a trigger or function) is kept whole when wrapped
// in `-- +statement` … `-- -statement` marker lines.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	whole := false
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" && !onlyComments(s) {
			out = append(out, s)
		}
		cur.Reset()
	}
	for line := range strings.Lines(src) {
		trimmed := strings.TrimSpace(line)
		switch trimmed {
		case "-- +statement":
			flush()
			whole = true
			continue
		case "-- -statement":
			flush()
			whole = false
			continue
		}
		cur.WriteString(line)
		if !whole && strings.HasSuffix(trimmed, ";") {
			flush()
		}
	}
	flush()
	return out
}

func onlyComments(s string) bool {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			return false
		}
	}
	return true
}

// MigrationsFS is a helper for domains embedding their files under a
// directory: it returns the sub-filesystem or panics at start-up if the
// embed is wrong (a programming error, caught by any test).
func MigrationsFS(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, path.Clean(dir))
	if err != nil {
		panic(fmt.Sprintf("store: migrations dir %s: %v", dir, err))
	}
	return sub
}
