package store

import (
	"context"
	"path/filepath"
	"testing"
)

// A statement a transaction ran unprepared is prepared once the
// transaction ends, and later transactions use it, with the same results.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{SQLitePath: filepath.Join(t.TempDir(), "c.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const ins = `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v RETURNING v`
	for i := 1; i <= 3; i++ {
		var v int
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.QueryRowContext(ctx, ins, "a", 10).Scan(&v) }); err != nil {
			t.Fatal(err)
		}
		if v != 10*i {
			t.Fatalf("run %d: v = %d, want %d", i, v, 10*i)
		}
		if got := db.stmts.get(ins) != nil; !got {
			t.Fatalf("after run %d the statement is not cached", i)
		}
	}
	// A failing transaction rolls back its cached statement's work too.
	_ = db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, "b", 1); err != nil {
			return err
		}
		return context.Canceled
	})
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows after a rollback (%v), want 1", n, err)
	}
	if db.stmts.get(`INSERT INTO kv (k, v) VALUES (?, ?)`) == nil {
		t.Fatal("statement of a rolled-back transaction not cached")
	}
}
