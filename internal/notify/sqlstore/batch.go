package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/quikapp/quikapp/internal/store"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 128

// batchTimeout bounds one shared transaction; callers' own contexts cannot
// be used for work done on behalf of several callers.
const batchTimeout = 30 * time.Second

// batcher is group commit: writes that arrive while a transaction is being
// committed wait and then share the next one, so the commit cost (an fsync
// on PostgreSQL, a WAL frame on SQLite) is paid once per batch instead of
// once per write. With a single writer there is no waiting at all: the
// first write leads and runs at once.
//
// There is no background goroutine: the caller that finds nobody leading
// runs the batch, then hands the lead to the oldest waiter.
type batcher struct {
	db *store.DB

	mu      sync.Mutex
	leading bool
	pending []*writeOp
}

// writeOp is one caller's write. run may be called more than once (a
// failed batch is retried op by op, and InTx retries busy errors), so it
// must reset whatever it reports through its closure.
type writeOp struct {
	ctx  context.Context
	run  func(ctx context.Context, tx *store.Tx) error
	done chan error    // the op's outcome, exactly once
	lead chan struct{} // this waiter now leads
}

// do runs fn in a transaction, possibly shared with other writers, and
// returns once that transaction committed or failed.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, tx *store.Tx) error) error {
	op := &writeOp{ctx: ctx, run: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, op)
	if !b.leading {
		b.leading = true
		b.mu.Unlock()
		return b.runLead(op)
	}
	b.mu.Unlock()
	select {
	case err := <-op.done:
		return err
	case <-op.lead:
		return b.runLead(op)
	}
}

// runLead commits the oldest pending writes (op among them: it is the
// oldest when it leads), then passes the lead on or gives it up.
func (b *batcher) runLead(op *writeOp) error {
	b.mu.Lock()
	n := min(len(b.pending), maxBatch)
	batch := make([]*writeOp, n)
	copy(batch, b.pending)
	b.pending = b.pending[n:]
	b.mu.Unlock()

	b.flush(batch)

	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].lead <- struct{}{}
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return <-op.done
}

// flush runs the batch in one transaction. If that fails, each op runs
// again in its own, so one bad write never fails its neighbours.
func (b *batcher) flush(batch []*writeOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.done <- err // cancelled while waiting: not written
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(live) == 1 {
		op := live[0]
		op.done <- b.db.InTx(ctx, func(tx *store.Tx) error { return op.run(ctx, tx) })
		return
	}
	err := b.db.InTx(ctx, func(tx *store.Tx) error {
		for _, op := range live {
			if err := op.run(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, op := range live {
			op.done <- nil
		}
		return
	}
	for _, op := range live {
		op.done <- b.db.InTx(ctx, func(tx *store.Tx) error { return op.run(ctx, tx) })
	}
}
