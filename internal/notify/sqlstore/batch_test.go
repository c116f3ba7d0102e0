package sqlstore

import (
	"context"
	"sync"
	"testing"

	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// Many concurrent writes share transactions; a write that fails fails
// alone (its batch is retried op by op), and a write whose caller gave up
// before its turn is not made.
func TestBatcherIsolatesFailures(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	b := &batcher{db: db}
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Go(func() {
			errs[i] = b.do(ctx, func(ctx context.Context, tx *store.Tx) error {
				if i%50 == 7 {
					_, err := tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (?)`, i)
				return err
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i%50 == 7) != (err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 196 {
		t.Fatalf("%d rows (%v), want 196", n, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := b.do(cancelled, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES (-1)`)
		return err
	})
	if err == nil {
		t.Fatal("a cancelled write reported success")
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE k = -1`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("cancelled write made: %d %v", n, err)
	}
	if b.leading || len(b.pending) != 0 {
		t.Fatalf("batcher left leading=%v with %d pending", b.leading, len(b.pending))
	}
}
