package realtime

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// Principal is who holds a connection.
type Principal struct {
	UserID   string
	TenantID string
}

// Authorizer decides whether a principal may subscribe to a topic (the
// chat domain checks membership; tests use a fake). It is asked on every
// subscribe, so revoked access takes effect at the next one.
type Authorizer interface {
	CanSubscribe(ctx context.Context, p Principal, topic string) error
}

// ErrForbidden is what an Authorizer returns for a topic the principal may
// not see; the hub answers the client with it unchanged in meaning.
var ErrForbidden = errors.New("realtime: not allowed to subscribe to this topic")

// ErrClosed is returned for operations on a closed connection or hub.
var ErrClosed = errors.New("realtime: connection closed")

// FrameKind says what a frame carries.
type FrameKind string

const (
	FrameEvent  FrameKind = "event"  // Event is set
	FrameResync FrameKind = "resync" // Topic and Head are set: reload the topic, continue from Head
)

// Frame is one item on a connection's outbound queue.
type Frame struct {
	Kind  FrameKind
	Event Event    // FrameEvent
	Topic string   // FrameResync
	Head  Position // FrameResync
	// encoded is Event's JSON, made once per broadcast and shared by every
	// subscriber's frame (read-only); nil: encode when sending.
	encoded []byte
}

// Close reasons a transport reports to the client.
const (
	ReasonSlowConsumer = "slow_consumer" // the outbound queue overflowed
	ReasonShutdown     = "shutdown"
	ReasonClient       = "client"
	ReasonBanned       = "banned"     // the user was banned
	ReasonSignedOut    = "signed_out" // the user's session ended
)

// HubConfig configures a hub.
type HubConfig struct {
	History    History    // required
	Authorizer Authorizer // required
	// QueueSize bounds each connection's outbound queue (default 256).
	QueueSize int
	// ReplayLimit bounds the events replayed per topic on resume (default
	// 1,000); a larger gap is answered with resync.
	ReplayLimit int
	// Relay, when set, carries events between the nodes that share
	// History: what this hub publishes is announced to the others, and a
	// topic with local subscribers follows the others' announcements.
	// Nil: a single node.
	Relay Relay
	// Logger receives relay failures; nil discards them.
	Logger *slog.Logger
}

// Hub routes published events to the connections subscribed to their
// topic, in offset order, and replays history to connections that resume.
type Hub struct {
	cfg HubConfig

	mu     sync.Mutex // guards topics, users and closed
	closed bool
	topics map[string]*topicSubs
	// users indexes open connections by user, so a ban or sign-out can
	// close all of them.
	users map[string]map[*Conn]struct{}
	conns int // open connections
}

// NewHub returns a hub.
func NewHub(cfg HubConfig) (*Hub, error) {
	if cfg.History == nil || cfg.Authorizer == nil {
		return nil, errors.New("realtime: hub needs a History and an Authorizer")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.ReplayLimit <= 0 {
		cfg.ReplayLimit = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{cfg: cfg, topics: map[string]*topicSubs{}, users: map[string]map[*Conn]struct{}{}}, nil
}

// Conn is one client connection's subscriptions and outbound queue; a
// transport (WebSocket, SSE) takes queued frames (Take) when woken (Wake,
// or the Notify callback) and writes them out.
type Conn struct {
	hub       *Hub
	principal Principal
	done      chan struct{}
	wake      chan struct{} // capacity 1: frames are queued

	mu     sync.Mutex
	topics map[string]bool
	reason string

	// The queue grows on demand and is let go when drained, so an idle
	// connection holds no queue memory at all.
	qmu    sync.Mutex
	queue  []Frame
	notify func()
}

// idleQueueCap is the largest queue capacity kept once drained.
const idleQueueCap = 8

// Connect registers a connection for p.
func (h *Hub) Connect(p Principal) (*Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	c := &Conn{hub: h, principal: p, done: make(chan struct{}), wake: make(chan struct{}, 1), topics: map[string]bool{}}
	set := h.users[p.UserID]
	if set == nil {
		set = map[*Conn]struct{}{}
		h.users[p.UserID] = set
	}
	set[c] = struct{}{}
	h.conns++
	return c, nil
}

// forget drops a closed connection from the user index.
func (h *Hub) forget(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[c.principal.UserID]
	if _, ok := set[c]; ok {
		h.conns--
	}
	delete(set, c)
	if len(set) == 0 {
		delete(h.users, c.principal.UserID)
	}
}

// UnsubscribeUser takes every connection of the user off topic (someone
// removed from a private channel stops receiving at once) and returns
// how many were subscribed.
func (h *Hub) UnsubscribeUser(userID, topic string) int {
	h.mu.Lock()
	conns := make([]*Conn, 0, len(h.users[userID]))
	for c := range h.users[userID] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	n := 0
	for _, c := range conns {
		if subscribed(c, topic) {
			c.Unsubscribe(topic)
			n++
		}
	}
	return n
}

// DisconnectUser closes every connection of the user with reason and
// returns how many there were.
func (h *Hub) DisconnectUser(userID, reason string) int {
	h.mu.Lock()
	conns := make([]*Conn, 0, len(h.users[userID]))
	for c := range h.users[userID] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close(reason)
	}
	return len(conns)
}

// closeAll closes every connection with reason.
func (h *Hub) closeAll(reason string) {
	h.mu.Lock()
	var conns []*Conn
	for _, set := range h.users {
		for c := range set {
			conns = append(conns, c)
		}
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close(reason)
	}
}

// Connections counts the open connections.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns
}

// Wake receives a value when frames have been queued since the last Take.
func (c *Conn) Wake() <-chan struct{} { return c.wake }

// Notify sets a callback run whenever frames are queued or the connection
// closes, for transports that wait on many connections at once instead of
// a goroutine each. It runs with hub locks held: it must only schedule
// work, never block or call back into the hub.
func (c *Conn) Notify(fn func()) {
	c.qmu.Lock()
	c.notify = fn
	c.qmu.Unlock()
}

// Take appends the queued frames to dst, oldest first, and empties the
// queue.
func (c *Conn) Take(dst []Frame) []Frame {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	dst = append(dst, c.queue...)
	clear(c.queue) // drop references to event data
	if cap(c.queue) > idleQueueCap {
		c.queue = nil
	} else {
		c.queue = c.queue[:0]
	}
	return dst
}

// Queued counts the frames waiting.
func (c *Conn) Queued() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue)
}

// Done is closed when the connection has been closed; Reason says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Reason is why the connection closed ("" while open).
func (c *Conn) Reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Principal is who holds the connection.
func (c *Conn) Principal() Principal { return c.principal }

// Topics lists the connection's subscriptions.
func (c *Conn) Topics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.topics))
	for t := range c.topics {
		out = append(out, t)
	}
	return out
}

// enqueue never blocks: a connection whose queue is full is closed as a
// slow consumer, so it cannot hold back the publisher or anyone else.
func (c *Conn) enqueue(f Frame) {
	select {
	case <-c.done:
		return
	default:
	}
	c.qmu.Lock()
	if len(c.queue) >= c.hub.cfg.QueueSize {
		c.qmu.Unlock()
		go c.Close(ReasonSlowConsumer) // Close takes topic locks the caller may hold
		return
	}
	c.queue = append(c.queue, f)
	notify := c.notify
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if notify != nil {
		notify()
	}
}

// Close unsubscribes everything and ends the connection; the first reason
// given is kept.
func (c *Conn) Close(reason string) {
	c.mu.Lock()
	if c.reason != "" {
		c.mu.Unlock()
		return
	}
	c.reason = reason
	topics := make([]string, 0, len(c.topics))
	for t := range c.topics {
		topics = append(topics, t)
	}
	close(c.done)
	c.mu.Unlock()
	for _, t := range topics {
		c.Unsubscribe(t)
	}
	c.hub.forget(c)
	c.qmu.Lock()
	notify := c.notify
	c.qmu.Unlock()
	if notify != nil {
		notify()
	}
}
