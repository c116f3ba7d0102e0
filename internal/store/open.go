package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// sqlitePragmas apply to every SQLite connection. WAL lets readers work
// beside the writer; busy_timeout covers other processes holding the lock;
// synchronous=NORMAL is durable across process crashes in WAL mode (a power
// loss can lose the last transactions, never corrupt the file).
var sqlitePragmas = []string{
	"journal_mode(WAL)",
	"busy_timeout(10000)",
	"foreign_keys(ON)",
	"synchronous(NORMAL)",
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// that reads then writes cannot fail half-way with SQLITE_BUSY.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(ctx context.Context, path string, maxReaders int) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("store: sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: sqlite: create directory %s: %w", dir, err)
		}
	}
	write, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL before
	// any reader opens it read-only.
	if err := write.PingContext(ctx); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("store: sqlite: open readers %s: %w", path, err)
	}
	if maxReaders <= 0 {
		maxReaders = max(4, runtime.GOMAXPROCS(0)*2)
	}
	read.SetMaxOpenConns(maxReaders)
	read.SetMaxIdleConns(maxReaders)
	return &DB{dialect: sqliteDialect{}, write: write, read: read, stmts: newStmtCache(write)}, nil
}

func openPostgres(ctx context.Context, dsn string, maxConns int) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: open: %w", err)
	}
	if maxConns <= 0 {
		maxConns = 20
	}
	pool.SetMaxOpenConns(maxConns)
	pool.SetMaxIdleConns(maxConns)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("store: postgres: connect: %w", err)
	}
	return &DB{dialect: postgresDialect{}, write: pool, read: pool}, nil
}
