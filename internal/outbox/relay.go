package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/store"
)

// Publisher is the part of the bus the relay needs.
type Publisher interface {
	Publish(ctx context.Context, m bus.Message) error
}

// RelayConfig tunes a Relay; zero fields take defaults.
type RelayConfig struct {
	// Interval is how often the relay looks for rows when nothing woke it:
	// rows committed by other processes are found this way (default 100ms).
	Interval time.Duration
	// Batch is the most rows published per pass (default 256).
	Batch int
	// RetryDelay is the pause after a failed publish (default 1s).
	RetryDelay time.Duration
}

// Relay publishes committed outbox rows to the bus. Run one per process;
// on PostgreSQL an advisory lock makes one relay in the cluster active at a
// time, which keeps the publish order equal to the insertion order.
type Relay struct {
	db   *store.DB
	pub  Publisher
	log  *slog.Logger
	cfg  RelayConfig
	kick chan struct{}
}

// NewRelay builds a relay and hooks it to db's commits so a transaction
// that added events wakes it at once.
func NewRelay(db *store.DB, pub Publisher, log *slog.Logger, cfg RelayConfig) *Relay {
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	r := &Relay{db: db, pub: pub, log: log, cfg: cfg, kick: make(chan struct{}, 1)}
	db.SetCommitHook(r.Kick)
	return r
}

// Kick wakes the relay without blocking.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends. Before returning it makes one last pass so
// events committed during shutdown are not left for the next start.
func (r *Relay) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_, _ = r.Flush(final)
			cancel()
			return nil
		case <-r.kick:
		case <-timer.C:
		}
		delay := r.cfg.Interval
		if _, err := r.Flush(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("outbox_publish_failed", "error", err)
			delay = r.cfg.RetryDelay
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(delay)
	}
}

// Flush publishes every committed row, batch by batch, and returns how many
// it published. It stops at the first publish error; what was not deleted
// is published again by a later pass.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	unlock, ok, err := r.db.TryLock(ctx, "outbox-relay")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil // another process is the active relay
	}
	defer unlock()
	total := 0
	for {
		if ctx.Err() != nil {
			return total, errors.Join(ErrStopped, ctx.Err())
		}
		batch, err := next(ctx, r.db, r.cfg.Batch)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		done := make([]int64, 0, len(batch))
		var pubErr error
		for _, p := range batch {
			if pubErr = r.pub.Publish(ctx, p.msg); pubErr != nil {
				break
			}
			done = append(done, p.seq)
		}
		if err := remove(ctx, r.db, done); err != nil {
			return total, err
		}
		total += len(done)
		if pubErr != nil {
			return total, pubErr
		}
		if len(batch) < r.cfg.Batch {
			return total, nil
		}
	}
}
