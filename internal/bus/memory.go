package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryConfig configures NewMemory. The zero value is ready to use.
type MemoryConfig struct {
	// Logger receives handler failures; nil discards them.
	Logger *slog.Logger
	// Attempts is how many times Publish calls a failing Consume group
	// before it gives up and returns the error (default 3). Each attempt
	// goes to the group's next member.
	Attempts int
	// HandlerTimeout is the deadline of each Consume handler call's
	// context (default 30s). A handler that ignores its context still
	// blocks Publish.
	HandlerTimeout time.Duration
}

// Memory is a Bus inside one process: for tests and single-node installs.
//
// Handlers run synchronously inside Publish, on the publisher's goroutine:
// first every matching Subscribe handler, then one member of every matching
// Consume group, chosen round-robin. Each subscriber therefore sees one
// publisher's messages in publish order, and handlers must not block (nor
// wait for another goroutine's Publish). Handlers may Publish, Subscribe
// and Unsubscribe themselves; no lock is held while they run.
//
// Nothing is durable: a Consume group exists while it has members, and
// Publish returns a group's error after MemoryConfig.Attempts failed calls,
// leaving the retry to the caller (the outbox relay).
type Memory struct {
	log      *slog.Logger
	attempts int
	timeout  time.Duration
	ctx      context.Context // canceled by Close
	cancel   context.CancelFunc

	mu     sync.RWMutex
	closed bool
	subs   []*memSub
	groups map[string]*memGroup
}

var _ Bus = (*Memory)(nil)

type memSub struct {
	bus     *Memory
	pattern string
	group   *memGroup // nil for Subscribe
	h       Handler
	ctx     context.Context
	cancel  context.CancelFunc
	done    atomic.Bool
}

type memGroup struct {
	name    string
	pattern string
	members []*memSub // replaced, never changed in place, under Memory.mu
	next    atomic.Uint64
}

// NewMemory returns an empty in-process bus.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Memory{
		log:      orDiscard(cfg.Logger),
		attempts: cfg.Attempts,
		timeout:  cfg.HandlerTimeout,
		ctx:      ctx,
		cancel:   cancel,
		groups:   make(map[string]*memGroup),
	}
}

// Publish implements Bus.
func (b *Memory) Publish(ctx context.Context, m Message) error {
	if err := validateMessage(m); err != nil {
		return fmt.Errorf("bus: publish %s: %w", m.Subject, err)
	}
	type target struct {
		group   *memGroup
		members []*memSub
	}
	var (
		subs    []*memSub
		targets []target
	)
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("bus: publish %s: %w", m.Subject, ErrClosed)
	}
	for _, s := range b.subs {
		if Match(s.pattern, m.Subject) {
			subs = append(subs, s)
		}
	}
	for _, g := range b.groups {
		if Match(g.pattern, m.Subject) {
			targets = append(targets, target{g, g.members})
		}
	}
	b.mu.RUnlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bus: publish %s: %w", m.Subject, err)
	}

	for _, s := range subs {
		if s.done.Load() {
			continue
		}
		if err := callHandler(s.ctx, b.log, s.h, deliveryCopy(m)); err != nil {
			b.log.Warn("bus: subscriber failed", "subject", m.Subject, "message_id", m.ID, "pattern", s.pattern, "error", err)
		}
	}
	var errs []error
	for _, t := range targets {
		if err := b.deliver(ctx, t.group, t.members, m); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", t.group.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bus: publish %s: %w", m.Subject, err)
	}
	return nil
}

// deliver has one member of g handle m, trying up to b.attempts times.
func (b *Memory) deliver(ctx context.Context, g *memGroup, members []*memSub, m Message) error {
	var last error
	for attempt := 1; attempt <= b.attempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return errors.Join(last, err)
		}
		s := g.pick(members)
		if s == nil {
			// Every member left after Publish started: as if the
			// group had gone before it.
			return nil
		}
		hctx, cancel := context.WithTimeout(s.ctx, b.timeout)
		last = callHandler(hctx, b.log, s.h, deliveryCopy(m))
		cancel()
		if last == nil {
			return nil
		}
		b.log.Warn("bus: consume handler failed", "subject", m.Subject, "message_id", m.ID, "group", g.name, "attempt", attempt, "error", last)
	}
	return last
}

// pick returns the next member, round-robin, skipping members that have
// left; nil if none is left.
func (g *memGroup) pick(members []*memSub) *memSub {
	n := uint64(len(members))
	if n == 0 {
		return nil
	}
	start := g.next.Add(1) - 1
	for i := range n {
		if s := members[(start+i)%n]; !s.done.Load() {
			return s
		}
	}
	return nil
}

// Subscribe implements Bus.
func (b *Memory) Subscribe(ctx context.Context, pattern string, h Handler) (Subscription, error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, err)
	}
	if h == nil {
		return nil, fmt.Errorf("bus: subscribe %s: nil handler", pattern)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, ErrClosed)
	}
	s := &memSub{bus: b, pattern: pattern, h: h}
	s.ctx, s.cancel = subscriptionContext(b.ctx, ctx)
	b.subs = append(slices.Clip(b.subs), s)
	return s, nil
}

// Consume implements Bus.
func (b *Memory) Consume(ctx context.Context, pattern, group string, h Handler) (Subscription, error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("bus: consume %s: %w", pattern, err)
	}
	if err := ValidateGroup(group); err != nil {
		return nil, fmt.Errorf("bus: consume %s: %w", pattern, err)
	}
	if h == nil {
		return nil, fmt.Errorf("bus: consume %s: nil handler", pattern)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("bus: consume %s: %w", pattern, ErrClosed)
	}
	g := b.groups[group]
	if g == nil {
		g = &memGroup{name: group, pattern: pattern}
		b.groups[group] = g
	} else if g.pattern != pattern {
		return nil, fmt.Errorf("bus: consume %s: group %s has pattern %s: %w", pattern, group, g.pattern, ErrGroupConflict)
	}
	s := &memSub{bus: b, pattern: pattern, group: g, h: h}
	s.ctx, s.cancel = subscriptionContext(b.ctx, ctx)
	// A new slice, so that Publish calls holding the old one are unaffected.
	g.members = append(slices.Clip(g.members), s)
	return s, nil
}

// Unsubscribe implements Subscription.
func (s *memSub) Unsubscribe() error {
	if s.done.Swap(true) {
		return nil
	}
	s.cancel()
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	not := func(x *memSub) bool { return x != s }
	if g := s.group; g == nil {
		b.subs = filter(b.subs, not)
	} else {
		g.members = filter(g.members, not)
		if len(g.members) == 0 && b.groups[g.name] == g {
			delete(b.groups, g.name)
		}
	}
	return nil
}

// filter returns a new slice of the elements of s that keep reports true
// for, leaving s itself alone (Publish may be reading it).
func filter[T any](s []T, keep func(T) bool) []T {
	var out []T
	for _, x := range s {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// Ping implements Bus.
func (b *Memory) Ping(ctx context.Context) error {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return fmt.Errorf("bus: ping: %w", ErrClosed)
	}
	return ctx.Err()
}

// Close implements Bus. Handler calls already running go on, with their
// contexts canceled; no new ones start.
func (b *Memory) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, s := range b.subs {
		s.done.Store(true)
	}
	for _, g := range b.groups {
		for _, s := range g.members {
			s.done.Store(true)
		}
	}
	b.subs, b.groups = nil, nil
	b.cancel()
	return nil
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
