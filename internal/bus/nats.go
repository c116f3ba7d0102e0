package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSConfig configures NewNATS. Only URL is usually set; the rest have
// defaults.
type NATSConfig struct {
	// URL of the server, or a comma-separated list of a cluster's servers
	// (default nats://127.0.0.1:4222). May carry user:password; it is
	// redacted in errors and logs.
	URL string
	// Name identifies the connection on the server (default "quikapp").
	Name string
	// Prefix is put in front of every subject on the wire, as
	// Prefix + "." + subject (default "quikapp"). It must be a valid subject.
	// Installs (or tests) sharing a server use different prefixes.
	Prefix string
	// Stream is the JetStream stream holding Prefix + ".>" (default
	// "QUIKAPP_EVENTS"): letters, digits, '_' and '-'. One stream per
	// prefix: two prefixes must not share a stream name.
	Stream string
	// MaxAge is how long the stream keeps a message (default 24h): the
	// longest a Consume group can be away without losing messages.
	MaxAge time.Duration
	// Replicas of the stream (default 1; 3 in a cluster).
	Replicas int
	// AckWait is how long a Consume handler has before the server
	// delivers the message again, and the deadline of the handler's
	// context (default 30s).
	AckWait time.Duration
	// MaxDeliver bounds how many times a Consume group gets one message
	// (default 10). After the last failure the message is logged and
	// dropped for that group.
	MaxDeliver int
	// RedeliveryDelay is the wait before the first redelivery after a
	// handler error (default 1s); it doubles with each further delivery,
	// up to one minute (or RedeliveryDelay itself, if longer).
	RedeliveryDelay time.Duration
	// DrainTimeout bounds Close: how long running handlers get to finish
	// and pending messages to flush (default 10s).
	DrainTimeout time.Duration
	// Logger receives connection events and handler failures; nil
	// discards them.
	Logger *slog.Logger
	// Options are extra connection options (credentials, TLS), applied
	// after the bus's own. They must not replace the bus's ClosedHandler
	// (Close waits for it) or its other event handlers (they do the logging).
	Options []nats.Option
}

// consumeBatch is how many messages a Consume member pulls ahead. The ack
// timer of a message starts when it reaches the client, so a small batch
// keeps messages waiting in the buffer from timing out behind a slow
// handler.
const consumeBatch = 32

// NATS is a Bus over a NATS server: Publish is a JetStream publish with the
// message ID as Nats-Msg-Id; Subscribe is a core NATS subscription (core
// subscribers see JetStream publishes too); Consume is a durable pull
// consumer named by the group.
//
// Close stops the Consume members (messages they had pulled but not started
// go back to the server at once), gives running handlers DrainTimeout to
// finish, then drains the connection.
type NATS struct {
	cfg    NATSConfig
	log    *slog.Logger
	prefix string // cfg.Prefix + "."
	nc     *nats.Conn
	js     jetstream.JetStream
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	gone   chan struct{} // closed when the connection is closed

	mu     sync.Mutex
	closed bool
	subs   map[*natsSub]struct{}
	groups map[string]groupUse
}

var _ Bus = (*NATS)(nil)

// groupUse counts this bus's members of one Consume group.
type groupUse struct {
	pattern string
	members int
}

type natsSub struct {
	bus     *NATS
	pattern string
	group   string                   // "" for Subscribe
	sub     *nats.Subscription       // Subscribe
	cc      jetstream.ConsumeContext // Consume
	ctx     context.Context
	cancel  context.CancelFunc
	done    atomic.Bool
}

// NewNATS connects to NATS and creates, or updates, the stream. ctx bounds
// the connection and the stream's creation. The connection reconnects
// forever once made; a first connection that fails is an error.
func NewNATS(ctx context.Context, cfg NATSConfig) (*NATS, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := orDiscard(cfg.Logger)
	safeURL := redactURLs(cfg.URL)
	gone := make(chan struct{})
	timeout := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.PingInterval(20 * time.Second),
		nats.DrainTimeout(cfg.DrainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: disconnected from NATS", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bus: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(gone) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"error", err}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			log.Error("bus: NATS error", attrs...)
		}),
	}
	nc, err := nats.Connect(cfg.URL, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to NATS at %s: %w", safeURL, err)
	}
	fail := func(err error) (*NATS, error) {
		nc.Close()
		return nil, err
	}
	// Data, headers, the ID and NATS's framing of them (with a margin).
	if need := int64(MaxDataSize + MaxHeaderSize + 4<<10); nc.MaxPayload() < need {
		return fail(fmt.Errorf("bus: NATS at %s: server max_payload is %d bytes, the bus needs %d", safeURL, nc.MaxPayload(), need))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(fmt.Errorf("bus: JetStream at %s: %w", safeURL, err))
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "QuikApp events under " + cfg.Prefix + ".>",
		Subjects:    []string{cfg.Prefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.MaxAge,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  min(2*time.Minute, cfg.MaxAge),
	})
	if err != nil {
		return fail(fmt.Errorf("bus: create stream %s at %s: %w", cfg.Stream, safeURL, err))
	}
	bctx, cancel := context.WithCancel(context.Background())
	return &NATS{
		cfg:    cfg,
		log:    log,
		prefix: cfg.Prefix + ".",
		nc:     nc,
		js:     js,
		ctx:    bctx,
		cancel: cancel,
		gone:   gone,
		subs:   make(map[*natsSub]struct{}),
		groups: make(map[string]groupUse),
	}, nil
}

func (cfg NATSConfig) withDefaults() (NATSConfig, error) {
	if cfg.URL == "" {
		cfg.URL = nats.DefaultURL
	}
	if cfg.Name == "" {
		cfg.Name = "quikapp"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "quikapp"
	}
	if err := ValidateSubject(cfg.Prefix); err != nil {
		return cfg, fmt.Errorf("bus: NATS prefix: %w", err)
	}
	if cfg.Stream == "" {
		cfg.Stream = "QUIKAPP_EVENTS"
	}
	if err := ValidateGroup(cfg.Stream); err != nil {
		return cfg, fmt.Errorf("bus: NATS stream name %q: letters, digits, '_' and '-', at most %d bytes", cfg.Stream, MaxGroupSize)
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = 10
	}
	if cfg.RedeliveryDelay <= 0 {
		cfg.RedeliveryDelay = time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	return cfg, nil
}

// redactURLs hides passwords in a comma-separated list of URLs.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.Host == "" {
			// "host:port" without a scheme, which nats.go accepts.
			if strings.Contains(p, "@") {
				parts[i] = "<redacted>"
			}
			continue
		}
		if u.User != nil {
			if _, has := u.User.Password(); !has {
				// A bare user part is often a token.
				u.User = url.User("xxxxx")
			}
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}

// Publish implements Bus.
func (b *NATS) Publish(ctx context.Context, m Message) error {
	if err := validateMessage(m); err != nil {
		return fmt.Errorf("bus: publish %s: %w", m.Subject, err)
	}
	if b.isClosed() {
		return fmt.Errorf("bus: publish %s: %w", m.Subject, ErrClosed)
	}
	msg := &nats.Msg{Subject: b.prefix + m.Subject, Data: m.Data}
	if len(m.Header) > 0 {
		msg.Header = make(nats.Header, len(m.Header)+2)
		for k, v := range m.Header {
			msg.Header.Set(k, v)
		}
	}
	_, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID), jetstream.WithExpectStream(b.cfg.Stream))
	if err != nil {
		if b.isClosed() {
			err = ErrClosed
		}
		return fmt.Errorf("bus: publish %s: %w", m.Subject, err)
	}
	// A duplicate (same ID within the window) is as accepted as the first.
	return nil
}

// Subscribe implements Bus.
func (b *NATS) Subscribe(ctx context.Context, pattern string, h Handler) (Subscription, error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, err)
	}
	if h == nil {
		return nil, fmt.Errorf("bus: subscribe %s: nil handler", pattern)
	}
	s := &natsSub{bus: b, pattern: pattern}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, ErrClosed)
	}
	s.ctx, s.cancel = subscriptionContext(b.ctx, ctx)
	sub, err := b.nc.Subscribe(b.prefix+pattern, func(msg *nats.Msg) {
		if s.done.Load() {
			return
		}
		m := b.message(msg.Subject, msg.Header, msg.Data)
		if err := callHandler(s.ctx, b.log, h, m); err != nil {
			b.log.Warn("bus: subscriber failed", "subject", m.Subject, "message_id", m.ID, "pattern", pattern, "error", err)
		}
	})
	if err != nil {
		b.mu.Unlock()
		s.cancel()
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, err)
	}
	s.sub = sub
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	// The server knows of the subscription once the flush returns, so
	// every message published after Subscribe returns reaches it.
	fctx, cancel := withDefaultTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.nc.FlushWithContext(fctx); err != nil {
		_ = s.Unsubscribe()
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, err)
	}
	return s, nil
}

// Consume implements Bus.
func (b *NATS) Consume(ctx context.Context, pattern, group string, h Handler) (_ Subscription, err error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("bus: consume %s: %w", pattern, err)
	}
	if err := ValidateGroup(group); err != nil {
		return nil, fmt.Errorf("bus: consume %s: %w", pattern, err)
	}
	if h == nil {
		return nil, fmt.Errorf("bus: consume %s: nil handler", pattern)
	}
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("bus: consume %s group %s: "+format, append([]any{pattern, group}, args...)...)
	}

	// Reserve the group in this bus, so that two members here cannot race
	// with different patterns.
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errorf("%w", ErrClosed)
	}
	if use, ok := b.groups[group]; ok && use.pattern != pattern {
		b.mu.Unlock()
		return nil, errorf("group has pattern %s: %w", use.pattern, ErrGroupConflict)
	}
	use := b.groups[group]
	b.groups[group] = groupUse{pattern: pattern, members: use.members + 1}
	b.mu.Unlock()
	defer func() {
		if err != nil {
			b.mu.Lock()
			b.releaseGroup(group)
			b.mu.Unlock()
		}
	}()

	// The durable may exist from earlier runs or other nodes.
	filter := b.prefix + pattern
	existing, err := b.js.Consumer(ctx, b.cfg.Stream, group)
	switch {
	case err == nil:
		if f := existing.CachedInfo().Config.FilterSubject; f != filter {
			return nil, errorf("group has pattern %s: %w", strings.TrimPrefix(f, b.prefix), ErrGroupConflict)
		}
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	default:
		return nil, errorf("%w", err)
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.cfg.Stream, jetstream.ConsumerConfig{
		Durable:       group,
		Description:   "QuikApp consume group " + group,
		FilterSubject: filter,
		DeliverPolicy: jetstream.DeliverNewPolicy, // for a new group; a durable resumes
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.cfg.AckWait,
		MaxDeliver:    b.cfg.MaxDeliver,
	})
	if err != nil {
		return nil, errorf("%w", err)
	}

	s := &natsSub{bus: b, pattern: pattern, group: group}
	s.ctx, s.cancel = subscriptionContext(b.ctx, ctx)
	cc, err := cons.Consume(
		func(msg jetstream.Msg) { b.handle(s, h, msg) },
		jetstream.PullMaxMessages(consumeBatch),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if s.done.Load() {
				return
			}
			b.log.Warn("bus: consume error", "pattern", pattern, "group", group, "error", err)
		}),
	)
	if err != nil {
		s.cancel()
		return nil, errorf("%w", err)
	}
	s.cc = cc
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.done.Store(true)
		cc.Stop()
		s.cancel()
		return nil, errorf("%w", ErrClosed)
	}
	b.subs[s] = struct{}{}
	return s, nil
}

// handle runs h for one message of a Consume group and acknowledges it.
func (b *NATS) handle(s *natsSub, h Handler, msg jetstream.Msg) {
	if s.done.Load() {
		// Pulled but not started before Unsubscribe or Close: hand it
		// back now rather than after AckWait.
		_ = msg.Nak()
		return
	}
	m := b.message(msg.Subject(), msg.Headers(), msg.Data())
	ctx, cancel := context.WithTimeout(s.ctx, b.cfg.AckWait)
	err := callHandler(ctx, b.log, h, m)
	cancel()
	if err == nil {
		if err := msg.Ack(); err != nil {
			b.log.Warn("bus: ack failed", "subject", m.Subject, "message_id", m.ID, "group", s.group, "error", err)
		}
		return
	}
	delivered := uint64(1)
	if md, merr := msg.Metadata(); merr == nil {
		delivered = md.NumDelivered
	}
	if delivered >= uint64(b.cfg.MaxDeliver) {
		b.log.Error("bus: consume handler failed for the last time, dropping the message",
			"subject", m.Subject, "message_id", m.ID, "group", s.group, "deliveries", delivered, "error", err)
		// Term, not TermWithReason: servers before 2.10.4 ignore the latter.
		if terr := msg.Term(); terr != nil {
			b.log.Warn("bus: term failed", "subject", m.Subject, "message_id", m.ID, "group", s.group, "error", terr)
		}
		return
	}
	delay := b.backoff(delivered)
	b.log.Warn("bus: consume handler failed, will redeliver",
		"subject", m.Subject, "message_id", m.ID, "group", s.group, "deliveries", delivered, "delay", delay, "error", err)
	if nerr := msg.NakWithDelay(delay); nerr != nil {
		b.log.Warn("bus: nak failed", "subject", m.Subject, "message_id", m.ID, "group", s.group, "error", nerr)
	}
}

// backoff is the wait before the next delivery of a message that has been
// delivered n times.
func (b *NATS) backoff(n uint64) time.Duration {
	base := b.cfg.RedeliveryDelay
	limit := max(time.Minute, base)
	if n < 1 {
		n = 1
	}
	if n > 30 {
		return limit
	}
	return min(base<<(n-1), limit)
}

// message turns what arrived on the wire back into a Message.
func (b *NATS) message(subject string, h nats.Header, data []byte) Message {
	m := Message{
		ID:      h.Get(jetstream.MsgIDHeader),
		Subject: strings.TrimPrefix(subject, b.prefix),
	}
	if len(data) > 0 {
		m.Data = data
	}
	for k, vs := range h {
		if len(vs) == 0 || len(k) >= len(reservedHeaderPrefix) && strings.EqualFold(k[:len(reservedHeaderPrefix)], reservedHeaderPrefix) {
			continue
		}
		if m.Header == nil {
			m.Header = make(map[string]string, len(h))
		}
		m.Header[k] = vs[0]
	}
	return m
}

// Unsubscribe implements Subscription. For Consume it stops this member
// only: the durable consumer stays, and messages this member had pulled but
// not started go back to the server at once.
func (s *natsSub) Unsubscribe() error {
	if s.done.Swap(true) {
		return nil
	}
	s.cancel()
	b := s.bus
	b.mu.Lock()
	closed := b.closed
	if !closed {
		delete(b.subs, s)
		if s.group != "" {
			b.releaseGroup(s.group)
		}
	}
	b.mu.Unlock()
	if closed {
		return nil
	}
	if s.cc != nil {
		s.cc.Drain()
	}
	if s.sub != nil {
		if err := s.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			return fmt.Errorf("bus: unsubscribe %s: %w", s.pattern, err)
		}
	}
	return nil
}

// releaseGroup drops one member of group; b.mu must be held.
func (b *NATS) releaseGroup(group string) {
	use := b.groups[group]
	if use.members <= 1 {
		delete(b.groups, group)
		return
	}
	use.members--
	b.groups[group] = use
}

func (b *NATS) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Ping implements Bus: the connection is up, the server answers, and the
// stream exists.
func (b *NATS) Ping(ctx context.Context) error {
	if b.isClosed() {
		return fmt.Errorf("bus: ping: %w", ErrClosed)
	}
	if !b.nc.IsConnected() {
		return fmt.Errorf("bus: ping: not connected to NATS (%s)", b.nc.Status())
	}
	ctx, cancel := withDefaultTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("bus: ping: %w", err)
	}
	if _, err := b.js.Stream(ctx, b.cfg.Stream); err != nil {
		return fmt.Errorf("bus: ping: stream %s: %w", b.cfg.Stream, err)
	}
	return nil
}

// Close implements Bus.
func (b *NATS) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs, b.groups = nil, nil
	b.mu.Unlock()

	// Stop the Consume members and let running handlers finish.
	deadline := time.NewTimer(b.cfg.DrainTimeout)
	defer deadline.Stop()
	var stopped []jetstream.ConsumeContext
	for s := range subs {
		if s.cc != nil && !s.done.Swap(true) {
			s.cc.Drain()
			stopped = append(stopped, s.cc)
		}
	}
wait:
	for _, cc := range stopped {
		select {
		case <-cc.Closed():
		case <-deadline.C:
			b.log.Warn("bus: close: consume handlers still running after the drain timeout", "drain_timeout", b.cfg.DrainTimeout)
			break wait
		}
	}
	b.cancel()

	// Deliver what core subscriptions have pending, flush, and close.
	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
	}
	select {
	case <-b.gone:
	case <-time.After(b.cfg.DrainTimeout + time.Second):
		// nats.DrainTimeout should have closed it by now.
		b.nc.Close()
	}
	return nil
}

// withDefaultTimeout gives ctx a deadline d from now unless it has one.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
