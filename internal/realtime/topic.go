package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Relay carries events between the nodes that share one History. The hub
// appends to History first and announces after, so an announcement is a
// hint: a node that misses one, or gets them out of order, fills the gap
// from History when the next one arrives. NATSRelay is the implementation.
type Relay interface {
	// Announce tells the other nodes (not this one) about ev: an event
	// already in History, or a signal (Offset 0) that is never stored.
	Announce(ctx context.Context, ev Event) error
	// Follow calls deliver with the other nodes' announcements on topic
	// until stop is called. It returns once announcements made after it
	// are sure to arrive. deliver is called from one goroutine for all
	// topics and must not block for long.
	Follow(topic string, deliver func(Event)) (stop func(), err error)
}

// topicSubs is one topic's local subscribers. Its lock serialises the
// topic's deliveries and subscribes, so every subscriber sees the same
// order and a resuming one neither misses nor repeats an event published
// while it joins.
type topicSubs struct {
	topic string

	mu    sync.Mutex
	conns map[*Conn]struct{}
	// pos is the last event queued to conns. Every event after it comes
	// from History, in order, whether it arrives through a local publish
	// or a relay announcement.
	pos  Position
	init bool // pos has been read from History
	dead bool // removed from the hub: acquire a new one
	stop func()
}

// acquire returns topic's subscriber set, locked, with pos initialised.
// The relay follow starts before pos is read, so no announcement made
// after that read can be missed.
func (h *Hub) acquire(ctx context.Context, topic string) (*topicSubs, error) {
	for {
		h.mu.Lock()
		t := h.topics[topic]
		if t == nil {
			t = &topicSubs{topic: topic, conns: map[*Conn]struct{}{}}
			h.topics[topic] = t
		}
		h.mu.Unlock()
		t.mu.Lock()
		if t.dead {
			t.mu.Unlock()
			continue
		}
		if t.init {
			return t, nil
		}
		if err := h.start(ctx, t); err != nil {
			t.mu.Unlock()
			h.release(t)
			return nil, err
		}
		return t, nil
	}
}

// start follows the topic's announcements and reads where it stands; the
// caller holds t.mu.
func (h *Hub) start(ctx context.Context, t *topicSubs) error {
	if h.cfg.Relay != nil && t.stop == nil {
		stop, err := h.cfg.Relay.Follow(t.topic, func(ev Event) { h.announced(t.topic, ev) })
		if err != nil {
			return fmt.Errorf("follow %s: %w", t.topic, err)
		}
		t.stop = stop
	}
	head, err := h.cfg.History.Head(ctx, t.topic)
	if err != nil {
		return fmt.Errorf("head of %s: %w", t.topic, err)
	}
	t.pos, t.init = head, true
	return nil
}

// release drops a topic nobody here subscribes to any more (the caller
// does not hold t.mu), so topics do not accumulate and a node follows
// only the topics its clients use.
func (h *Hub) release(t *topicSubs) {
	t.mu.Lock()
	if len(t.conns) > 0 || t.dead {
		t.mu.Unlock()
		return
	}
	t.dead = true
	stop := t.stop
	t.mu.Unlock()
	h.mu.Lock()
	if h.topics[t.topic] == t {
		delete(h.topics, t.topic)
	}
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// lookup returns the topic's live subscriber set, locked, or nil.
func (h *Hub) lookup(topic string) *topicSubs {
	h.mu.Lock()
	t := h.topics[topic]
	h.mu.Unlock()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if t.dead || !t.init {
		t.mu.Unlock()
		return nil
	}
	return t
}

// deliver queues ev to the topic's subscribers in offset order; the
// caller holds t.mu. An event at or before pos is a repeat (our own
// announcement, a redelivery) and is dropped; one beyond pos+1 means
// announcements were missed or overtaken, so the gap is read from
// History first. A signal (Offset 0) is queued as it comes.
func (h *Hub) deliver(ctx context.Context, t *topicSubs, ev Event) {
	if ev.Offset == 0 {
		t.fanout(Frame{Kind: FrameEvent, Event: ev})
		return
	}
	if ev.Epoch == t.pos.Epoch {
		switch {
		case ev.Offset <= t.pos.Offset:
			return
		case ev.Offset == t.pos.Offset+1:
			t.fanout(Frame{Kind: FrameEvent, Event: ev})
			t.pos = Position{Epoch: ev.Epoch, Offset: ev.Offset}
			return
		}
	}
	h.catchUp(ctx, t)
}

// Reconcile brings every topic followed here up to History's head, and
// returns how many events it found missing. Announcements are at most
// once: one lost while the relay's connection was down, or dropped by a
// slow subscription, would otherwise wait for the topic's next event,
// which on a quiet channel may be hours away. The app runs it whenever
// the relay's connection comes back or drops messages.
func (h *Hub) Reconcile(ctx context.Context) int {
	h.mu.Lock()
	names := make([]string, 0, len(h.topics))
	for name := range h.topics {
		names = append(names, name)
	}
	h.mu.Unlock()
	found := 0
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		if t := h.lookup(name); t != nil {
			found += h.catchUp(ctx, t)
			t.mu.Unlock()
		}
	}
	return found
}

// catchUp queues everything History holds after pos and returns how many
// frames that was; the caller holds t.mu. When History no longer covers pos (or the epoch changed), the
// subscribers are told to resync from the head.
func (h *Hub) catchUp(ctx context.Context, t *topicSubs) (queued int) {
	for range 100 { // bounded: each round moves pos forward by a page
		missed, err := h.cfg.History.Since(ctx, t.topic, t.pos, h.cfg.ReplayLimit)
		if errors.Is(err, ErrResync) {
			head, herr := h.cfg.History.Head(ctx, t.topic)
			if herr != nil {
				h.cfg.Logger.Warn("realtime: head after a gap", "topic", t.topic, "err", herr)
				return queued
			}
			t.fanout(Frame{Kind: FrameResync, Topic: t.topic, Head: head})
			t.pos = head
			return queued + 1
		}
		if err != nil {
			// The next event retries; until then subscribers wait rather
			// than see a gap.
			h.cfg.Logger.Warn("realtime: fill a gap from history", "topic", t.topic, "err", err)
			return queued
		}
		for _, ev := range missed {
			t.fanout(Frame{Kind: FrameEvent, Event: ev})
			t.pos = Position{Epoch: ev.Epoch, Offset: ev.Offset}
		}
		queued += len(missed)
		if len(missed) < h.cfg.ReplayLimit {
			return queued
		}
	}
	return queued
}

func (t *topicSubs) fanout(f Frame) {
	if f.Kind == FrameEvent && len(t.conns) > 1 {
		// Once here rather than once per subscriber when each sends: a
		// broadcast to 5,000 was 5,000 encodings of the same event.
		f.encoded, _ = json.Marshal(f.Event) // on failure each send tries, and skips it
	}
	for c := range t.conns {
		c.enqueue(f)
	}
}

// gapFillTimeout bounds reading a gap from History for an announcement.
const gapFillTimeout = 5 * time.Second

// announced handles another node's announcement.
func (h *Hub) announced(topic string, ev Event) {
	t := h.lookup(topic)
	if t == nil {
		return
	}
	defer t.mu.Unlock()
	ev.Topic = topic
	ctx, cancel := context.WithTimeout(context.Background(), gapFillTimeout)
	defer cancel()
	h.deliver(ctx, t, ev)
}

// Subscribe adds topic to the connection once the authorizer allows it.
// With from set, the events after from are queued first (or a resync frame
// when history no longer covers the gap); live events follow with no gap
// and no repeat.
func (c *Conn) Subscribe(ctx context.Context, topic string, from *Position) error {
	if topic == "" {
		return errors.New("realtime: empty topic")
	}
	if err := c.hub.cfg.Authorizer.CanSubscribe(ctx, c.principal, topic); err != nil {
		return fmt.Errorf("subscribe %s: %w", topic, err)
	}
	h := c.hub
	t, err := h.acquire(ctx, topic)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", topic, err)
	}
	added := false
	defer func() {
		t.mu.Unlock()
		if !added {
			h.release(t)
		}
	}()
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if from != nil {
		// Bring the others up to date first, so what this connection is
		// replayed and what the topic delivers next meet exactly at pos.
		if h.cfg.Relay != nil {
			h.catchUp(ctx, t)
		}
		if err := c.replay(ctx, t, *from); err != nil {
			return err
		}
	}
	t.conns[c] = struct{}{}
	added = true
	c.mu.Lock()
	c.topics[topic] = true
	c.mu.Unlock()
	return nil
}

// replay queues what the connection missed on the topic, up to pos; the
// caller holds t.mu, so no delivery interleaves.
func (c *Conn) replay(ctx context.Context, t *topicSubs, from Position) error {
	h := c.hub
	if from == t.pos {
		return nil
	}
	missed, err := h.cfg.History.Since(ctx, t.topic, from, h.cfg.ReplayLimit+1)
	if err == nil && len(missed) > h.cfg.ReplayLimit {
		err = ErrResync
	}
	if errors.Is(err, ErrResync) {
		c.enqueue(Frame{Kind: FrameResync, Topic: t.topic, Head: t.pos})
		return nil
	}
	if err != nil {
		return fmt.Errorf("subscribe %s: history: %w", t.topic, err)
	}
	for _, ev := range missed {
		if ev.Epoch != t.pos.Epoch || ev.Offset > t.pos.Offset {
			break // published after pos: it arrives live
		}
		c.enqueue(Frame{Kind: FrameEvent, Event: ev})
	}
	return nil
}

// Unsubscribe removes topic from the connection.
func (c *Conn) Unsubscribe(topic string) {
	h := c.hub
	h.mu.Lock()
	t := h.topics[topic]
	h.mu.Unlock()
	if t != nil {
		t.mu.Lock()
		delete(t.conns, c)
		empty := len(t.conns) == 0
		t.mu.Unlock()
		if empty {
			h.release(t)
		}
	}
	c.mu.Lock()
	delete(c.topics, topic)
	c.mu.Unlock()
}

// Publish appends ev to topic's history, queues it to every local
// subscriber in offset order and announces it to the other nodes. It
// never waits for a slow connection.
func (h *Hub) Publish(ctx context.Context, topic string, ev Event) (Event, error) {
	if topic == "" {
		return Event{}, errors.New("realtime: publish: empty topic")
	}
	// With local subscribers, hold the topic across the append so local
	// publishes are delivered without gaps; without, append alone (a
	// topic nobody here follows costs no state).
	t := h.lookup(topic)
	stored, err := h.cfg.History.Append(ctx, topic, ev)
	if err != nil {
		if t != nil {
			t.mu.Unlock()
		}
		return Event{}, fmt.Errorf("publish %s: %w", topic, err)
	}
	if t == nil {
		t = h.lookup(topic) // someone may have subscribed meanwhile
	}
	if t != nil {
		h.deliver(ctx, t, stored)
		t.mu.Unlock()
	}
	h.announce(ctx, stored)
	return stored, nil
}

// Signal queues an ephemeral event (typing, presence) to the topic's
// subscribers here and on the other nodes. It takes no offset and no
// place in History: a client that misses one loses nothing a reload
// would show.
func (h *Hub) Signal(ctx context.Context, topic string, ev Event) {
	ev.Topic, ev.Offset, ev.Epoch = topic, 0, ""
	if t := h.lookup(topic); t != nil {
		t.fanout(Frame{Kind: FrameEvent, Event: ev})
		t.mu.Unlock()
	}
	h.announce(ctx, ev)
}

func (h *Hub) announce(ctx context.Context, ev Event) {
	if h.cfg.Relay == nil {
		return
	}
	if err := h.cfg.Relay.Announce(ctx, ev); err != nil {
		// The others fill the gap from History at the topic's next event.
		h.cfg.Logger.Warn("realtime: announce", "topic", ev.Topic, "offset", ev.Offset, "err", err)
	}
}

// Subscribers counts a topic's local connections.
func (h *Hub) Subscribers(topic string) int {
	t := h.lookup(topic)
	if t == nil {
		return 0
	}
	defer t.mu.Unlock()
	return len(t.conns)
}

// Topics counts the topics with local subscribers.
func (h *Hub) Topics() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}
