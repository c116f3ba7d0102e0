package ratelimit

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the shared counters table.
var Migrations = store.Migrations{Domain: "ratelimit", FS: store.MigrationsFS(migrationFiles, "migrations")}

// SQL is a Limiter whose counters live in the database, so every node
// shares them. One statement per request: an upsert that returns the new
// count, atomic on both SQLite and PostgreSQL.
type SQL struct {
	db    *store.DB
	now   func() time.Time
	takes atomic.Int64
}

// NewSQL returns a SQL limiter (now is time.Now when nil).
func NewSQL(db *store.DB, now func() time.Time) *SQL {
	if now == nil {
		now = time.Now
	}
	return &SQL{db: db, now: now}
}

// sweepEvery is how many takes pass between deletions of old rows.
const sweepEvery = 1000

// Take implements Limiter.
func (s *SQL) Take(ctx context.Context, rule Rule, key string) (Result, error) {
	now := s.now()
	start := window(rule, now)
	// Hashed: keys are client-controlled (IPs, emails) of any length and
	// byte content; the bucket is a fixed 64 hex characters.
	sum := sha256.Sum256([]byte(rule.Name + "\x00" + key + "\x00" + strconv.FormatInt(start.UnixMilli(), 36)))
	bucket := hex.EncodeToString(sum[:])
	var hits int
	// InTx, because DB.QueryRowContext runs on the read pool.
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.QueryRowContext(ctx,
			`INSERT INTO rate_limits (bucket, hits, expires_ms) VALUES (?, 1, ?)
			 ON CONFLICT (bucket) DO UPDATE SET hits = rate_limits.hits + 1
			 RETURNING hits`,
			bucket, start.Add(rule.Window).UnixMilli()).Scan(&hits)
	})
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: take %s: %w", rule.Name, err)
	}
	if s.takes.Add(1)%sweepEvery == 0 {
		s.sweep(ctx, now)
	}
	return result(rule, hits, start), nil
}

func (s *SQL) sweep(ctx context.Context, now time.Time) {
	_, _ = s.db.ExecContext(ctx, "DELETE FROM rate_limits WHERE expires_ms < ?", now.UnixMilli())
}
