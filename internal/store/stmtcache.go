package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the cache: domain stores use a few dozen fixed
// statements; SQL built with varying shapes beyond that is run unprepared.
const maxCachedStmts = 512

// stmtCache keeps statements prepared on SQLite's single writer
// connection. modernc.org/sqlite parses a statement on every call that is
// not prepared, which was a third of the CPU of a write-heavy benchmark
// (see docs/benchmarks.md, S6); transactions use these through
// Tx.StmtContext, which reuses the statement already prepared on the
// connection.
type stmtCache struct {
	db *sql.DB

	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[q]
}

// prepare adds the queries not cached yet. A query that fails to prepare
// (it ran, so it is valid; the database may be closing) is simply left
// out: it keeps running unprepared.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.mu.RLock()
		_, have := c.m[q]
		full := len(c.m) >= maxCachedStmts
		c.mu.RUnlock()
		if have || full {
			continue
		}
		st, err := c.db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, raced := c.m[q]; raced || len(c.m) >= maxCachedStmts {
			c.mu.Unlock()
			_ = st.Close()
			continue
		}
		c.m[q] = st
		c.mu.Unlock()
	}
}

// close releases every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}
