package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
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
	// Ledger, when set, records this domain's versions in a table of its
	// own instead of the shared quikapp_schema_migrations, and on
	// PostgreSQL serialises its runs on its own advisory lock. It exists to
	// adopt databases migrated by another program that kept such a ledger
	// (the upstream notify service); new domains leave it nil.
	Ledger *Ledger
}

// Ledger is a domain's own migration ledger: a table with the columns
// (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at NOT NULL
// DEFAULT now), created if it does not exist, and the PostgreSQL advisory
// lock taken (single bigint form, pg_advisory_lock(LockKey)) while the
// domain migrates. The lock is not scoped to the schema, exactly like the
// program whose ledger is adopted. SQLite ignores LockKey.
type Ledger struct {
	Table   string // a plain lower-case identifier, e.g. "notify_schema_migrations"
	LockKey int64
}

// sharedLedger is the table every domain without a Ledger of its own uses.
const sharedLedger = "quikapp_schema_migrations"

var ledgerTableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ledgerRef says where one domain's applied versions are recorded.
type ledgerRef struct {
	table  string
	domain string // the shared ledger's key; empty for a ledger of its own
}

func (m Migrations) ledger() ledgerRef {
	if m.Ledger != nil {
		return ledgerRef{table: m.Ledger.Table}
	}
	return ledgerRef{table: sharedLedger, domain: m.Domain}
}

// match returns the WHERE condition selecting this domain's ledger rows,
// and its arguments.
func (l ledgerRef) match() (string, []any) {
	if l.domain != "" {
		return "domain = ?", []any{l.domain}
	}
	return "1 = 1", nil
}

// ownLedgerDDL creates a domain's own ledger.
func ownLedgerDDL(dialect, table string) string {
	if dialect == Postgres {
		return "CREATE TABLE IF NOT EXISTS " + table + ` (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`
	}
	return "CREATE TABLE IF NOT EXISTS " + table + ` (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)`
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

const ledgerDDL = `CREATE TABLE IF NOT EXISTS ` + sharedLedger + ` (
	domain     TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (domain, version)
)`

// Migrate applies every pending migration of every domain, each in its own
// transaction together with its ledger row, so a crash leaves the schema at
// a clean version. It is idempotent, and on PostgreSQL safe to run from many
// processes at once: they queue on an advisory lock. Domains with a Ledger
// of their own use its table and lock instead (see Ledger).
func (db *DB) Migrate(ctx context.Context, domains ...Migrations) error {
	seen := map[string]bool{}
	plans := make([][]migration, len(domains))
	// The shared ledger and lock are used by default (and, as before, even
	// when no domain is given); own ledgers add their tables and locks.
	useShared := len(domains) == 0
	ownTables := map[string]string{} // table → domain
	var ownLocks []int64
	for i, d := range domains {
		if d.Domain == "" || seen[d.Domain] {
			return fmt.Errorf("store: migrations: domain %q empty or registered twice", d.Domain)
		}
		seen[d.Domain] = true
		if d.Ledger == nil {
			useShared = true
		} else {
			t := d.Ledger.Table
			if !ledgerTableName.MatchString(t) || t == sharedLedger {
				return fmt.Errorf("store: migrations: domain %s: invalid ledger table %q", d.Domain, t)
			}
			if other, dup := ownTables[t]; dup {
				return fmt.Errorf("store: migrations: domains %s and %s share the ledger table %s", other, d.Domain, t)
			}
			ownTables[t] = d.Domain
			if !slices.Contains(ownLocks, d.Ledger.LockKey) {
				ownLocks = append(ownLocks, d.Ledger.LockKey)
			}
		}
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
		// Locks are always taken in the same order (shared, then own keys
		// ascending), so two processes migrating overlapping sets of
		// domains cannot deadlock.
		if useShared {
			if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext(current_schema()))", migrationLockClass); err != nil {
				return fmt.Errorf("store: migrations: lock: %w", err)
			}
			defer func() {
				// Unlock on a fresh context: the caller's may be cancelled, and a
				// lock left behind would block every later start.
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", migrationLockClass)
			}()
		}
		slices.Sort(ownLocks)
		for _, key := range ownLocks {
			if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
				return fmt.Errorf("store: migrations: lock %d: %w", key, err)
			}
			defer func() {
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
			}()
		}
	}
	if useShared {
		if _, err := conn.ExecContext(ctx, ledgerDDL); err != nil {
			return fmt.Errorf("store: migrations: create ledger: %w", err)
		}
	}
	for i, d := range domains {
		if d.Ledger != nil {
			if _, err := conn.ExecContext(ctx, ownLedgerDDL(db.dialect.Name(), d.Ledger.Table)); err != nil {
				return fmt.Errorf("store: migrations: create ledger %s for %s: %w", d.Ledger.Table, d.Domain, err)
			}
		}
		applied, err := appliedVersions(ctx, conn, db.dialect, d.Domain, d.ledger())
		if err != nil {
			return err
		}
		for _, mg := range plans[i] {
			if applied[mg.version] {
				continue
			}
			if err := applyMigration(ctx, conn, db.dialect, d.Domain, d.ledger(), mg); err != nil {
				return err
			}
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn, d Dialect, domain string, l ledgerRef) (map[int]bool, error) {
	where, args := l.match()
	rows, err := conn.QueryContext(ctx, d.Rebind("SELECT version FROM "+l.table+" WHERE "+where), args...)
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

func applyMigration(ctx context.Context, conn *sql.Conn, d Dialect, domain string, l ledgerRef, mg migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migration %s/%04d: begin: %w", domain, mg.version, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Check again inside the transaction: on SQLite, another process may have
	// applied it between our ledger read and BEGIN IMMEDIATE.
	var done int
	where, args := l.match()
	if err := tx.QueryRowContext(ctx, d.Rebind("SELECT COUNT(*) FROM "+l.table+" WHERE "+where+" AND version = ?"),
		append(args, mg.version)...).Scan(&done); err != nil {
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
	record, recordArgs := "INSERT INTO "+l.table+" (version, name) VALUES (?, ?)", []any{mg.version, mg.name}
	if l.domain != "" {
		record, recordArgs = "INSERT INTO "+l.table+" (domain, version, name) VALUES (?, ?, ?)", []any{l.domain, mg.version, mg.name}
	}
	if _, err := tx.ExecContext(ctx, d.Rebind(record), recordArgs...); err != nil {
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
