// Package store is the shared database plumbing: it opens SQLite or
// PostgreSQL behind one handle, runs each domain's embedded migrations, and
// gives domain stores transactions and a small dialect for the few places
// where the two databases differ.
//
// Domain packages write one portable SQL implementation with `?`
// placeholders; the handle rewrites them to `$n` for PostgreSQL. They own
// their tables and migrations; this package owns none except the migration
// ledger and the outbox (see package outbox).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Sentinel errors shared by every domain store. Wrap them with context and
// test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Driver names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Querier is what a domain store needs to run SQL; both *DB and *Tx satisfy
// it, so one function body serves inside and outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Dialect() Dialect
}

// DB is an open database. For SQLite it holds two pools: one connection for
// writes (SQLite allows one writer; queueing in Go is cheaper and fairer than
// spinning on SQLITE_BUSY) and several read-only connections (WAL lets
// readers run beside the writer). PostgreSQL uses one pool for both.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	// afterCommit hooks run after every successful transaction that asked
	// for them (the outbox relay uses this to wake up at once).
	notify func()
	// localLocks stands in for advisory locks on SQLite, where one process
	// owns the database file: name → *sync.Mutex.
	localLocks sync.Map
	// stmts caches statements prepared on SQLite's writer connection (nil
	// on PostgreSQL, whose driver caches prepared statements itself).
	stmts *stmtCache
}

// Dialect returns the SQL dialect of this database.
func (db *DB) Dialect() Dialect { return db.dialect }

// Driver returns SQLite or Postgres.
func (db *DB) Driver() string { return db.dialect.Name() }

// ExecContext runs a statement on the write pool.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.write.ExecContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryContext runs a query on the read pool.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.dialect.Rebind(query), args...)
}

// QueryRowContext runs a single-row query on the read pool.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.dialect.Rebind(query), args...)
}

// Ping checks that both pools can reach the database.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping readers: %w", err)
		}
	}
	return nil
}

// Close closes every pool.
func (db *DB) Close() error {
	if db.stmts != nil {
		db.stmts.close()
	}
	var errs []error
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// SetCommitHook installs fn, called after each transaction that wrote to
// the outbox commits. Only one hook is kept; it must not block.
func (db *DB) SetCommitHook(fn func()) { db.notify = fn }

// Tx is a transaction. Its methods rebind placeholders like DB's.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
	stmts   *stmtCache
	misses  []string // statements to prepare once the transaction ends
	// wroteOutbox is set by outbox writers so the commit hook fires only
	// when there is something to relay.
	wroteOutbox bool
}

// Dialect returns the SQL dialect of the transaction's database.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	q := tx.dialect.Rebind(query)
	if st := tx.cached(q); st != nil {
		return tx.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, q, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q := tx.dialect.Rebind(query)
	if st := tx.cached(q); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs a single-row query in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	q := tx.dialect.Rebind(query)
	if st := tx.cached(q); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, q, args...)
}

// cached returns the prepared statement for q, or nil after noting q to be
// prepared when the transaction ends (preparing needs the writer
// connection, which the transaction holds).
func (tx *Tx) cached(q string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	if st := tx.stmts.get(q); st != nil {
		return st
	}
	tx.misses = append(tx.misses, q)
	return nil
}

// MarkOutboxWrite records that the transaction added outbox rows.
func (tx *Tx) MarkOutboxWrite() { tx.wroteOutbox = true }

// InTx runs fn in a transaction and commits if fn returns nil; otherwise it
// rolls back and returns fn's error. A panic in fn rolls back and re-panics.
// On PostgreSQL a serialization failure or deadlock is retried a few times,
// so fn must be safe to run again (it only touches the database).
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	const attempts = 3
	var err error
	for range attempts {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !db.dialect.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: sqlTx, dialect: db.dialect, stmts: db.stmts}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		// The writer is free again: prepare what this transaction ran
		// unprepared, so the next one does not parse it again.
		if db.stmts != nil && len(tx.misses) > 0 {
			db.stmts.prepare(ctx, tx.misses)
		}
	}()
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if tx.wroteOutbox && db.notify != nil {
		db.notify()
	}
	return nil
}

// Config says which database to open.
type Config struct {
	// URL is empty or "sqlite:" for the SQLite file at SQLitePath, or a
	// postgres:// (postgresql://) URL, or a libpq key=value DSN
	// ("host=db dbname=notify"), which only PostgreSQL has.
	URL string
	// SQLitePath is the database file used when URL selects SQLite.
	SQLitePath string
	// MaxConns caps the PostgreSQL pool and the SQLite reader pool (0 = default).
	MaxConns int
}

// Open opens the database described by cfg.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	switch {
	case cfg.URL == "" || strings.HasPrefix(cfg.URL, "sqlite:"):
		path := cfg.SQLitePath
		if p, ok := strings.CutPrefix(cfg.URL, "sqlite:"); ok && p != "" {
			path = strings.TrimPrefix(p, "//")
		}
		return openSQLite(ctx, path, cfg.MaxConns)
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"),
		!strings.Contains(cfg.URL, "://") && strings.Contains(cfg.URL, "="):
		return openPostgres(ctx, cfg.URL, cfg.MaxConns)
	default:
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres:// or sqlite:)")
	}
}

// Flag stores a bool in an INTEGER column (1 or 0), which both databases
// read back into a bool; PostgreSQL does not cast a bool parameter to
// INTEGER itself.
func Flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
