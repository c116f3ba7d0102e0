package realtime

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Presence statuses as others see them.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusDND     = "dnd"
	StatusOffline = "offline"
)

// Statuses a user may choose; "auto" clears the choice.
const (
	ChoiceAuto      = "auto"
	ChoiceAway      = "away"
	ChoiceDND       = "dnd"
	ChoiceInvisible = "invisible" // shown to others as offline
)

// CustomStatus is a user's text and emoji, cleared at ExpiresAt (zero:
// never).
type CustomStatus struct {
	Text      string    `json:"text,omitempty"`
	Emoji     string    `json:"emoji,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// PresenceUpdate is a change others should see.
type PresenceUpdate struct {
	TenantID string       `json:"-"`
	UserID   string       `json:"userId"`
	Status   string       `json:"status"`
	Custom   CustomStatus `json:"custom"`
}

// TypingUpdate says a user started or stopped typing in a topic.
type TypingUpdate struct {
	TenantID string `json:"-"`
	UserID   string `json:"userId"`
	Topic    string `json:"topic"`
	Typing   bool   `json:"typing"`
}

// PresenceConfig configures presence and typing.
type PresenceConfig struct {
	// OfflineAfter is how long a user stays online after their last
	// connection closes (default 60 s), so a reload or a flaky network
	// does not flap everyone's sidebar.
	OfflineAfter time.Duration
	// TypingTTL ends a typing indicator this long after the last typing
	// signal (default 5 s).
	TypingTTL time.Duration
	Now       func() time.Time
	// OnPresence and OnTyping receive changes (the hub publishes them);
	// they are called without locks held and must not block for long.
	OnPresence func(PresenceUpdate)
	OnTyping   func(TypingUpdate)
	// OnLocal, when set, receives this node's own changes of a user's
	// connections or choice, for the other nodes (see PresenceGossip); it
	// is called without locks held.
	OnLocal func(PeerState)
}

// Presence tracks who is online and typing, in memory only: heartbeats
// and connections never touch the database. Expirations are applied by
// Tick (Run calls it on a ticker), one sweep for all users instead of a
// timer each.
type Presence struct {
	cfg PresenceConfig

	mu     sync.Mutex
	users  map[userKey]*userPresence
	typing map[typingKey]time.Time // → expires at
}

type userKey struct{ tenant, user string }

type typingKey struct {
	userKey
	topic string
}

type userPresence struct {
	conns     int                  // on this node
	remote    map[string]peerConns // other nodes' connections, by node
	choiceAt  time.Time            // when choice was made, on whichever node
	lingering time.Time            // when >0 conns dropped to 0: offline at lingering+OfflineAfter
	choice    string
	custom    CustomStatus
	shown     PresenceUpdate // what others last saw
}

// NewPresence returns an empty tracker.
func NewPresence(cfg PresenceConfig) *Presence {
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = 60 * time.Second
	}
	if cfg.TypingTTL <= 0 {
		cfg.TypingTTL = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Presence{cfg: cfg, users: map[userKey]*userPresence{}, typing: map[typingKey]time.Time{}}
}

func (p *Presence) user(k userKey) *userPresence {
	u := p.users[k]
	if u == nil {
		u = &userPresence{choice: ChoiceAuto, shown: PresenceUpdate{TenantID: k.tenant, UserID: k.user, Status: StatusOffline}}
		p.users[k] = u
	}
	return u
}

// visible computes what others see now.
func (p *Presence) visible(k userKey, u *userPresence, now time.Time) PresenceUpdate {
	up := PresenceUpdate{TenantID: k.tenant, UserID: k.user, Status: StatusOffline}
	if !u.custom.ExpiresAt.IsZero() && !now.Before(u.custom.ExpiresAt) {
		u.custom = CustomStatus{}
	}
	up.Custom = u.custom
	present := u.conns > 0 || remoteConns(u, now) > 0 || (!u.lingering.IsZero() && now.Sub(u.lingering) < p.cfg.OfflineAfter)
	if !present || u.choice == ChoiceInvisible {
		return up
	}
	switch u.choice {
	case ChoiceAway:
		up.Status = StatusAway
	case ChoiceDND:
		up.Status = StatusDND
	default:
		up.Status = StatusOnline
	}
	return up
}

// refresh recomputes k's visible state and returns it if it changed.
func (p *Presence) refresh(k userKey, u *userPresence, now time.Time) (PresenceUpdate, bool) {
	v := p.visible(k, u, now)
	if v == u.shown {
		return v, false
	}
	u.shown = v
	return v, true
}

func (p *Presence) emit(ups []PresenceUpdate) {
	if p.cfg.OnPresence == nil {
		return
	}
	for _, up := range ups {
		p.cfg.OnPresence(up)
	}
}

// change applies fn to the user's entry and publishes what others now
// see; local changes are also shared with the other nodes.
func (p *Presence) change(tenant, user string, local bool, fn func(u *userPresence, now time.Time)) {
	now := p.cfg.Now()
	k := userKey{tenant, user}
	p.mu.Lock()
	u := p.user(k)
	fn(u, now)
	up, changed := p.refresh(k, u, now)
	share := PeerState{TenantID: tenant, UserID: user, Conns: u.conns, Choice: u.choice, ChoiceAt: millis(u.choiceAt)}
	p.mu.Unlock()
	if changed {
		p.emit([]PresenceUpdate{up})
	}
	if local && p.cfg.OnLocal != nil {
		p.cfg.OnLocal(share)
	}
}

// Connected records one more open connection of the user.
func (p *Presence) Connected(tenant, user string) {
	p.change(tenant, user, true, func(u *userPresence, _ time.Time) {
		u.conns++
		u.lingering = time.Time{}
	})
}

// Disconnected records a closed connection; the user goes offline
// OfflineAfter after their last one closes, unless they come back first.
func (p *Presence) Disconnected(tenant, user string) {
	p.change(tenant, user, true, func(u *userPresence, now time.Time) {
		if u.conns > 0 {
			u.conns--
			if u.conns == 0 {
				u.lingering = now
			}
		}
	})
}

// SetStatus records the user's choice: auto, away, dnd or invisible.
func (p *Presence) SetStatus(tenant, user, choice string) error {
	switch choice {
	case ChoiceAuto, ChoiceAway, ChoiceDND, ChoiceInvisible:
	default:
		return fmt.Errorf("realtime: status %q is not auto, away, dnd or invisible", choice)
	}
	p.change(tenant, user, true, func(u *userPresence, now time.Time) { u.choice, u.choiceAt = choice, now })
	return nil
}

// Custom status limits.
const (
	MaxStatusText  = 100
	MaxStatusEmoji = 64
)

// SetCustom sets (or, with empty text and emoji, clears) a custom status.
func (p *Presence) SetCustom(tenant, user string, cs CustomStatus) error {
	if len([]rune(cs.Text)) > MaxStatusText || len(cs.Emoji) > MaxStatusEmoji {
		return fmt.Errorf("realtime: custom status text is at most %d characters and emoji %d bytes", MaxStatusText, MaxStatusEmoji)
	}
	if !cs.ExpiresAt.IsZero() && !cs.ExpiresAt.After(p.cfg.Now()) {
		return fmt.Errorf("realtime: clearAfter must be in the future")
	}
	p.change(tenant, user, false, func(u *userPresence, _ time.Time) { u.custom = cs })
	return nil
}

// Get returns what others see of the user now.
func (p *Presence) Get(tenant, user string) PresenceUpdate {
	now := p.cfg.Now()
	k := userKey{tenant, user}
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.users[k]; u != nil {
		return p.visible(k, u, now)
	}
	return PresenceUpdate{TenantID: tenant, UserID: user, Status: StatusOffline}
}

// Typing records a typing signal in topic; the first one starts the
// indicator, later ones extend it.
func (p *Presence) Typing(tenant, user, topic string) {
	k := typingKey{userKey{tenant, user}, topic}
	p.mu.Lock()
	_, already := p.typing[k]
	p.typing[k] = p.cfg.Now().Add(p.cfg.TypingTTL)
	p.mu.Unlock()
	if !already && p.cfg.OnTyping != nil {
		p.cfg.OnTyping(TypingUpdate{TenantID: tenant, UserID: user, Topic: topic, Typing: true})
	}
}

// StopTyping ends an indicator at once (the message was sent).
func (p *Presence) StopTyping(tenant, user, topic string) {
	k := typingKey{userKey{tenant, user}, topic}
	p.mu.Lock()
	_, was := p.typing[k]
	delete(p.typing, k)
	p.mu.Unlock()
	if was && p.cfg.OnTyping != nil {
		p.cfg.OnTyping(TypingUpdate{TenantID: tenant, UserID: user, Topic: topic, Typing: false})
	}
}

// Tick applies every expiration due now: lingering users going offline,
// custom statuses clearing, typing indicators ending.
func (p *Presence) Tick() {
	now := p.cfg.Now()
	var ups []PresenceUpdate
	var stops []TypingUpdate
	p.mu.Lock()
	for k, u := range p.users {
		expirePeers(u, now)
		if up, changed := p.refresh(k, u, now); changed {
			ups = append(ups, up)
		}
		if u.conns == 0 && len(u.remote) == 0 && up0(u) {
			delete(p.users, k) // nothing left to remember
		}
	}
	for k, exp := range p.typing {
		if !now.Before(exp) {
			delete(p.typing, k)
			stops = append(stops, TypingUpdate{TenantID: k.tenant, UserID: k.user, Topic: k.topic})
		}
	}
	p.mu.Unlock()
	p.emit(ups)
	if p.cfg.OnTyping != nil {
		for _, s := range stops {
			p.cfg.OnTyping(s)
		}
	}
}

// up0 reports whether a user's entry carries nothing worth keeping: shown
// offline, no choice, no custom status.
func up0(u *userPresence) bool {
	return u.shown.Status == StatusOffline && u.choice == ChoiceAuto && u.custom == (CustomStatus{})
}

// Run calls Tick every period until ctx ends.
func (p *Presence) Run(ctx context.Context, period time.Duration) {
	if period <= 0 {
		period = time.Second
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Tick()
		}
	}
}
