package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// MemoryHistory keeps history in this process: the single-node default.
// Its epochs are unique to the process, so after a restart every client
// resyncs rather than trusting offsets that restarted at 1.
type MemoryHistory struct {
	cfg  HistoryConfig
	base string // this instance's epoch prefix

	mu        sync.Mutex
	topics    map[string]*topicLog
	created   uint64 // topics created so far; part of each epoch
	lastSweep time.Time
}

// topicLog is one topic's ring of recent events.
type topicLog struct {
	epoch  string
	head   uint64  // offset of the newest event
	events []Event // oldest first; events[i].Offset == head-len+1+i
	last   time.Time
}

// NewMemoryHistory returns an empty history.
func NewMemoryHistory(cfg HistoryConfig) *MemoryHistory {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &MemoryHistory{cfg: cfg.withDefaults(), base: hex.EncodeToString(b), topics: map[string]*topicLog{}}
}

var _ History = (*MemoryHistory)(nil)

// Append implements History.
func (h *MemoryHistory) Append(_ context.Context, topic string, ev Event) (Event, error) {
	if topic == "" {
		return Event{}, fmt.Errorf("realtime: append: empty topic")
	}
	now := h.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[topic]
	if t == nil {
		h.evictIdle(now) // before adding: the new topic is not idle
		h.created++
		t = &topicLog{epoch: h.base + "." + strconv.FormatUint(h.created, 36)}
		h.topics[topic] = t
	}
	t.head++
	ev.Topic, ev.Offset, ev.Epoch, ev.At = topic, t.head, t.epoch, now
	t.events = append(t.events, ev)
	t.last = now
	h.trim(t, now)
	return ev, nil
}

// trim drops events beyond MaxEvents or older than MaxAge.
func (h *MemoryHistory) trim(t *topicLog, now time.Time) {
	drop := 0
	if n := len(t.events) - h.cfg.MaxEvents; n > 0 {
		drop = n
	}
	for drop < len(t.events) && now.Sub(t.events[drop].At) > h.cfg.MaxAge {
		drop++
	}
	if drop > 0 {
		// Copy down rather than reslice, so the backing array does not
		// keep dropped events alive.
		t.events = append(t.events[:0], t.events[drop:]...)
	}
}

// evictIdle forgets topics with nothing newer than MaxAge: their history
// is empty anyway, and a topic that comes back gets a new epoch, so a
// client holding an old position resyncs instead of matching offsets that
// restarted. The sweep runs at most every tenth of MaxAge, so creating
// topics stays O(1) amortised.
func (h *MemoryHistory) evictIdle(now time.Time) {
	if now.Sub(h.lastSweep) < h.cfg.MaxAge/10 {
		return
	}
	h.lastSweep = now
	for name, t := range h.topics {
		if now.Sub(t.last) > h.cfg.MaxAge {
			delete(h.topics, name)
		}
	}
}

// Since implements History.
func (h *MemoryHistory) Since(_ context.Context, topic string, pos Position, limit int) ([]Event, error) {
	now := h.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[topic]
	if pos == (Position{}) {
		// A client that joined before the topic had any event has seen
		// nothing: everything since offset 1 is exactly what it missed.
		if t == nil {
			return nil, nil
		}
		pos.Epoch = t.epoch
	}
	if t == nil || pos.Epoch != t.epoch || pos.Offset > t.head {
		return nil, ErrResync
	}
	h.trim(t, now)
	if pos.Offset == t.head {
		return nil, nil
	}
	oldest := t.head - uint64(len(t.events)) + 1 // == head+1 when empty
	if pos.Offset+1 < oldest {
		return nil, ErrResync
	}
	from := int(pos.Offset + 1 - oldest)
	n := len(t.events) - from
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]Event, n)
	copy(out, t.events[from:from+n])
	return out, nil
}

// Head implements History.
func (h *MemoryHistory) Head(_ context.Context, topic string) (Position, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[topic]; t != nil {
		return Position{Epoch: t.epoch, Offset: t.head}, nil
	}
	return Position{}, nil
}
