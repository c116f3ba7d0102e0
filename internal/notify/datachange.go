package notify

import (
	"context"
	"sync"
	"time"
)

// DataChanges sends data_change events to a user's live sessions and
// re-sends each one on a schedule to every session that has not yet
// acknowledged it (contract §5 [EXT]). Pending entries live only in memory:
// a data change is a hint to refetch, and a client that reconnects refetches
// anyway.
type DataChanges struct {
	hub         *Hub
	interval    time.Duration
	maxAttempts int // re-sends after the first send; 0 disables retries

	mu      sync.Mutex
	pending map[pendingKey]*pendingChange
}

type pendingKey struct{ session, key string }

type pendingChange struct {
	session  *Session
	ev       Event
	attempts int // re-sends so far
}

// NewDataChanges returns a sender over hub; Run must be running for
// re-sends to happen.
func NewDataChanges(hub *Hub, interval time.Duration, maxAttempts int) *DataChanges {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &DataChanges{hub: hub, interval: interval, maxAttempts: max(maxAttempts, 0), pending: map[pendingKey]*pendingChange{}}
}

// Publish sends dc to every live session of (tenant, user) and returns how
// many took it. Sessions that could not take it now (full queue) are still
// retried.
func (d *DataChanges) Publish(tenantID, userID string, dc DataChange) int {
	ev := Event{Kind: EventDataChange, DataChange: dc}
	took := 0
	for _, s := range d.hub.sessionsOf(tenantID, userID) {
		if d.hub.offer(s, ev) {
			took++
		}
		if d.maxAttempts > 0 {
			d.mu.Lock()
			d.pending[pendingKey{s.ID, dc.IdempotencyKey}] = &pendingChange{session: s, ev: ev}
			d.mu.Unlock()
		}
	}
	return took
}

// Ack stops the re-sends of key to sessionID, but only when that session
// belongs to (tenant, user): a caller can never cancel another user's
// retries. Unknown pairs are not an error.
func (d *DataChanges) Ack(tenantID, userID, sessionID, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := pendingKey{sessionID, key}
	p := d.pending[k]
	if p != nil && p.session.TenantID == tenantID && p.session.UserID == userID {
		delete(d.pending, k)
	}
}

// Pending is the number of (session, key) pairs awaiting an ack.
func (d *DataChanges) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// Run re-sends unacknowledged changes every interval until ctx ends, which
// cancels every retry.
func (d *DataChanges) Run(ctx context.Context) error {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.mu.Lock()
			clear(d.pending)
			d.mu.Unlock()
			return nil
		case <-t.C:
			d.resend()
		}
	}
}

func (d *DataChanges) resend() {
	var due []*pendingChange
	d.mu.Lock()
	for k, p := range d.pending {
		select {
		case <-p.session.Done():
			delete(d.pending, k) // the session ended; nobody to re-send to
			continue
		default:
		}
		p.attempts++
		due = append(due, p)
		if p.attempts >= d.maxAttempts {
			delete(d.pending, k)
		}
	}
	d.mu.Unlock()
	for _, p := range due {
		d.hub.offer(p.session, p.ev)
	}
}
