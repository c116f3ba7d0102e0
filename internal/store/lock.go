package store

import (
	"context"
	"fmt"
	"sync"
)

// lockClass is the first key of advisory locks taken through TryLock; the
// second is the hash of the schema and the lock's name. Advisory locks are
// database-wide, so without the schema two installations sharing a
// database in different schemas (and tests, which do exactly that) would
// take each other's locks.
const lockClass = 0x716b6c6b // "qklk"

// TryLock takes the named cluster-wide lock without waiting. On PostgreSQL
// it is a session advisory lock held on a pinned connection, so exactly one
// process in the cluster holds it and a crashed holder releases it. On
// SQLite it is a process-local mutex. When ok is false the lock is held
// elsewhere; when ok is true the caller must call unlock.
func (db *DB) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if db.dialect.Name() != Postgres {
		mu, _ := db.localLocks.LoadOrStore(name, &sync.Mutex{})
		m := mu.(*sync.Mutex)
		if !m.TryLock() {
			return nil, false, nil
		}
		return m.Unlock, true, nil
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %s: connect: %w", name, err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || ':' || $2))", lockClass, name).Scan(&got); err != nil {
		_ = conn.Close()
		return nil, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if !got {
		_ = conn.Close()
		return nil, false, nil
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, hashtext(current_schema() || ':' || $2))", lockClass, name)
		_ = conn.Close()
	}, true, nil
}
