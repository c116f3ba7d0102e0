package notify

import (
	"errors"
	"sync"

	"github.com/google/uuid"
)

// EventKind says what a live event carries.
type EventKind string

const (
	EventNotification EventKind = "notification"
	EventDataChange   EventKind = "data_change"
	EventHeartbeat    EventKind = "heartbeat"
)

// DataChange tells a client that something it shows changed and should be
// fetched again. Clients acknowledge it by key (AckDataChange); until then
// it is re-sent on the retry schedule.
type DataChange struct {
	IdempotencyKey string
	SubjectRef     string
	SubjectType    string
}

// Event is one message on a live session. It is a value: every session gets
// its own copy, so stamping a session id never races with another session.
type Event struct {
	Kind         EventKind
	Notification Notification // for EventNotification
	DataChange   DataChange   // for EventDataChange
	TimestampMs  int64        // for EventHeartbeat
}

// ErrHubClosed is returned by Open once shutdown has begun.
var ErrHubClosed = errors.New("notify: live sessions are shutting down")

// DefaultSessionQueue is the number of events a session may have waiting
// before new ones are dropped (the upstream service's figure).
const DefaultSessionQueue = 64

// Session is one open live stream of one user on one device.
type Session struct {
	ID         string
	TenantID   string
	UserID     string
	DeviceType string // browser, android, ios, or empty when unspecified

	events chan Event
	done   chan struct{} // closed when the hub shuts down or the session closes
	once   sync.Once
}

// Events delivers the session's queued events.
func (s *Session) Events() <-chan Event { return s.events }

// Done is closed when the session must end: the hub is shutting down or the
// session was closed.
func (s *Session) Done() <-chan struct{} { return s.done }

func (s *Session) end() { s.once.Do(func() { close(s.done) }) }

// HubObserver receives the hub's counts; the daemon turns them into
// metrics. Any method may be called concurrently.
type HubObserver interface {
	SessionsChanged(deviceType string, delta int)
	EventQueued(kind EventKind)
	EventDropped(kind EventKind)
}

type userKey struct{ tenant, user string }

// Hub holds the live sessions of every user, keyed by (tenant, user) so an
// event for one tenant's user never reaches a same-named user of another.
type Hub struct {
	queue  int
	obs    HubObserver
	onDrop func(s *Session, kind EventKind)

	mu       sync.RWMutex
	closed   bool
	byUser   map[userKey]map[string]*Session
	sessions map[string]*Session
}

// HubConfig tunes a Hub; zero fields take defaults.
type HubConfig struct {
	QueueSize int         // per-session queue (DefaultSessionQueue)
	Observer  HubObserver // optional
	// OnDrop is called (without locks held) when an event is dropped for a
	// full session, so the caller can log it.
	OnDrop func(s *Session, kind EventKind)
}

// NewHub returns an empty hub.
func NewHub(cfg HubConfig) *Hub {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultSessionQueue
	}
	return &Hub{
		queue:    cfg.QueueSize,
		obs:      cfg.Observer,
		onDrop:   cfg.OnDrop,
		byUser:   map[userKey]map[string]*Session{},
		sessions: map[string]*Session{},
	}
}

// Open registers a new session with a fresh UUID.
func (h *Hub) Open(tenantID, userID, deviceType string) (*Session, error) {
	s := &Session{
		ID:         uuid.NewString(),
		TenantID:   tenantID,
		UserID:     userID,
		DeviceType: deviceType,
		events:     make(chan Event, h.queue),
		done:       make(chan struct{}),
	}
	k := userKey{tenantID, userID}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrHubClosed
	}
	if h.byUser[k] == nil {
		h.byUser[k] = map[string]*Session{}
	}
	h.byUser[k][s.ID] = s
	h.sessions[s.ID] = s
	h.mu.Unlock()
	if h.obs != nil {
		h.obs.SessionsChanged(deviceType, 1)
	}
	return s, nil
}

// Close unregisters a session; closing twice is harmless.
func (h *Hub) Close(s *Session) {
	k := userKey{s.TenantID, s.UserID}
	h.mu.Lock()
	_, present := h.sessions[s.ID]
	if present {
		delete(h.sessions, s.ID)
		delete(h.byUser[k], s.ID)
		if len(h.byUser[k]) == 0 {
			delete(h.byUser, k)
		}
	}
	h.mu.Unlock()
	s.end()
	if present && h.obs != nil {
		h.obs.SessionsChanged(s.DeviceType, -1)
	}
}

// Push queues ev on every session of (tenant, user) and returns how many
// took it. A full session drops the event: the sender never blocks and the
// client is never disconnected for being slow (it catches up through the
// inbox).
func (h *Hub) Push(tenantID, userID string, ev Event) int {
	took := 0
	for _, s := range h.sessionsOf(tenantID, userID) {
		if h.offer(s, ev) {
			took++
		}
	}
	return took
}

// sessionsOf returns a snapshot of the user's open sessions.
func (h *Hub) sessionsOf(tenantID, userID string) []*Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.byUser[userKey{tenantID, userID}]
	out := make([]*Session, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	return out
}

// Lookup returns the session with id if it belongs to (tenant, user).
func (h *Hub) Lookup(tenantID, userID, sessionID string) *Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := h.sessions[sessionID]
	if s == nil || s.TenantID != tenantID || s.UserID != userID {
		return nil
	}
	return s
}

func (h *Hub) offer(s *Session, ev Event) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.events <- ev:
		if h.obs != nil {
			h.obs.EventQueued(ev.Kind)
		}
		return true
	default:
		if h.obs != nil {
			h.obs.EventDropped(ev.Kind)
		}
		if h.onDrop != nil {
			h.onDrop(s, ev.Kind)
		}
		return false
	}
}

// Len is the number of open sessions.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.sessions)
}

// Shutdown refuses new sessions and ends every open one (their Done
// channels close), so each stream returns at once instead of holding the
// drain to its timeout.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.closed = true
	open := make([]*Session, 0, len(h.sessions))
	for _, s := range h.sessions {
		open = append(open, s)
	}
	h.mu.Unlock()
	for _, s := range open {
		s.end()
	}
}
