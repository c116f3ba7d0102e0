package realtime

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStreamConfig configures NewJetStreamHistory.
type JetStreamConfig struct {
	HistoryConfig
	// Stream names the JetStream stream (default "QUIKAPP_REALTIME").
	Stream string
	// Prefix starts every subject (default "quikapp"); the stream holds
	// Prefix + ".rth.>".
	Prefix string
	// Replicas of the stream (default 1; 3 in a cluster).
	Replicas int
}

// JetStreamHistory keeps topic history in a JetStream stream, so every
// node sees the same offsets and a client can resume on any node.
//
// Each topic is one subject. A stored message carries its topic offset,
// epoch and the stream sequence of the topic's previous event; appends
// are compare-and-set on the subject's last sequence, so two nodes
// appending to one topic get consecutive offsets, never the same one.
// The stream keeps MaxEvents messages per subject; age is judged on the
// event's own timestamp (HistoryConfig.Now), so a topic idle for longer
// than MaxAge starts a new epoch exactly as MemoryHistory does.
type JetStreamHistory struct {
	cfg    JetStreamConfig
	stream jetstream.Stream
	js     jetstream.JetStream
	seed   maphash.Seed
	locks  [64]sync.Mutex // per topic stripe: this node's appends do not race each other

	mu    sync.Mutex
	heads map[string]jsHead // last append per topic, a hint checked by the CAS
}

// jsHead is where a topic stands in the stream.
type jsHead struct {
	seq   uint64 // stream sequence of the newest event; 0: none
	prev  uint64 // stream sequence of the event before it
	pos   Position
	at    time.Time
	event Event
}

// MaxTopicBytes bounds a topic name.
const MaxTopicBytes = 160

// maxCachedHeads bounds the head cache; past it the cache starts over.
const maxCachedHeads = 50_000

// walkBackMax is the largest gap read by following previous-event links
// (one direct get each); larger gaps are read with one ordered consumer.
const walkBackMax = 32

// Message headers of a stored event.
const (
	hdrOffset = "Qk-Offset"
	hdrEpoch  = "Qk-Epoch"
	hdrPrev   = "Qk-Prev"
)

var _ History = (*JetStreamHistory)(nil)

// NewJetStreamHistory creates or updates the stream and returns a history
// on it.
func NewJetStreamHistory(ctx context.Context, js jetstream.JetStream, cfg JetStreamConfig) (*JetStreamHistory, error) {
	cfg.HistoryConfig = cfg.HistoryConfig.withDefaults()
	if cfg.Stream == "" {
		cfg.Stream = "QUIKAPP_REALTIME"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "quikapp"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	dup := min(2*time.Minute, cfg.MaxAge)
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              cfg.Stream,
		Description:       "QuikApp realtime topic history",
		Subjects:          []string{cfg.Prefix + ".rth.>"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(cfg.MaxEvents),
		MaxAge:            cfg.MaxAge + dup, // events are judged by their own time; this reclaims the space
		Duplicates:        dup,
		Replicas:          cfg.Replicas,
		AllowDirect:       true,
	})
	if err != nil {
		return nil, fmt.Errorf("realtime: stream %s: %w", cfg.Stream, err)
	}
	return &JetStreamHistory{cfg: cfg, stream: stream, js: js, seed: maphash.MakeSeed(), heads: map[string]jsHead{}}, nil
}

func (h *JetStreamHistory) subject(topic string) string {
	return h.cfg.Prefix + ".rth." + base64.RawURLEncoding.EncodeToString([]byte(topic))
}

func checkTopic(topic string) error {
	if topic == "" || len(topic) > MaxTopicBytes {
		return fmt.Errorf("realtime: a topic is 1 to %d bytes", MaxTopicBytes)
	}
	return nil
}

// storedEvent is the body of a stored message.
type storedEvent struct {
	ID   string          `json:"id,omitempty"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	At   int64           `json:"at"` // unix nanoseconds, by HistoryConfig.Now
}

// Append implements History.
func (h *JetStreamHistory) Append(ctx context.Context, topic string, ev Event) (Event, error) {
	if err := checkTopic(topic); err != nil {
		return Event{}, err
	}
	lock := &h.locks[maphash.String(h.seed, topic)%uint64(len(h.locks))]
	lock.Lock()
	defer lock.Unlock()
	subj := h.subject(topic)
	for attempt := range 16 { // bounded: each conflict means another node appended
		if attempt > 0 {
			// Another node won the last slot. Without a pause the node that
			// just appended (whose head is fresh) can keep winning while this
			// one keeps reading a stale head: a randomised wait, growing
			// with each loss, lets the nodes take turns.
			select {
			case <-ctx.Done():
				return Event{}, fmt.Errorf("realtime: append to %s: %w", topic, ctx.Err())
			case <-time.After(mrand.N(time.Millisecond << min(attempt, 6))):
			}
		}
		head, ok := h.cachedHead(topic)
		if !ok {
			var err error
			if head, err = h.head(ctx, topic); err != nil {
				return Event{}, err
			}
		}
		now := h.cfg.Now()
		next := Event{Topic: topic, ID: ev.ID, Type: ev.Type, Data: ev.Data, At: now}
		if head.seq != 0 && now.Sub(head.at) <= h.cfg.MaxAge {
			next.Epoch, next.Offset = head.pos.Epoch, head.pos.Offset+1
		} else {
			next.Epoch, next.Offset = newEpoch(), 1 // empty or idle: offsets restart
		}
		body, err := json.Marshal(storedEvent{ID: ev.ID, Type: ev.Type, Data: ev.Data, At: now.UnixNano()})
		if err != nil {
			return Event{}, fmt.Errorf("realtime: encode event: %w", err)
		}
		msg := nats.NewMsg(subj)
		msg.Data = body
		msg.Header.Set(hdrOffset, strconv.FormatUint(next.Offset, 10))
		msg.Header.Set(hdrEpoch, next.Epoch)
		msg.Header.Set(hdrPrev, strconv.FormatUint(head.seq, 10))
		ack, err := h.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(head.seq))
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			h.forget(topic)
			continue
		}
		if err != nil {
			h.forget(topic)
			return Event{}, fmt.Errorf("realtime: append to %s: %w", topic, err)
		}
		h.remember(topic, jsHead{seq: ack.Sequence, prev: head.seq, pos: Position{Epoch: next.Epoch, Offset: next.Offset}, at: now, event: next})
		return next, nil
	}
	return Event{}, fmt.Errorf("realtime: append to %s: too many concurrent appends, try again", topic)
}

func newEpoch() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (h *JetStreamHistory) cachedHead(topic string) (jsHead, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hd, ok := h.heads[topic]
	return hd, ok
}

func (h *JetStreamHistory) remember(topic string, hd jsHead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.heads) >= maxCachedHeads {
		clear(h.heads)
	}
	h.heads[topic] = hd
}

func (h *JetStreamHistory) forget(topic string) {
	h.mu.Lock()
	delete(h.heads, topic)
	h.mu.Unlock()
}

// head reads the topic's newest event from the stream.
func (h *JetStreamHistory) head(ctx context.Context, topic string) (jsHead, error) {
	m, err := h.stream.GetLastMsgForSubject(ctx, h.subject(topic))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return jsHead{}, nil
	}
	if err != nil {
		return jsHead{}, fmt.Errorf("realtime: head of %s: %w", topic, err)
	}
	return h.decode(topic, m)
}

func (h *JetStreamHistory) decode(topic string, m *jetstream.RawStreamMsg) (jsHead, error) {
	bad := func(what string) (jsHead, error) {
		return jsHead{}, fmt.Errorf("realtime: message %d of %s has %s", m.Sequence, topic, what)
	}
	offset, err := strconv.ParseUint(m.Header.Get(hdrOffset), 10, 64)
	if err != nil || offset == 0 {
		return bad("no offset")
	}
	prev, err := strconv.ParseUint(m.Header.Get(hdrPrev), 10, 64)
	if err != nil {
		return bad("no previous-event link")
	}
	epoch := m.Header.Get(hdrEpoch)
	if epoch == "" {
		return bad("no epoch")
	}
	var body storedEvent
	if err := json.Unmarshal(m.Data, &body); err != nil {
		return bad("a body that is not an event")
	}
	at := time.Unix(0, body.At)
	pos := Position{Epoch: epoch, Offset: offset}
	return jsHead{seq: m.Sequence, prev: prev, pos: pos, at: at, event: Event{
		Topic: topic, Offset: offset, Epoch: epoch, ID: body.ID, Type: body.Type, Data: body.Data, At: at,
	}}, nil
}

// Head implements History.
func (h *JetStreamHistory) Head(ctx context.Context, topic string) (Position, error) {
	if err := checkTopic(topic); err != nil {
		return Position{}, err
	}
	hd, err := h.head(ctx, topic)
	return hd.pos, err
}

// Since implements History.
func (h *JetStreamHistory) Since(ctx context.Context, topic string, pos Position, limit int) ([]Event, error) {
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	head, err := h.head(ctx, topic)
	if err != nil {
		return nil, err
	}
	if pos == (Position{}) {
		if head.seq == 0 {
			return nil, nil
		}
		pos.Epoch = head.pos.Epoch // from the start of what is kept
	}
	if head.seq == 0 || pos.Epoch != head.pos.Epoch || pos.Offset > head.pos.Offset {
		return nil, ErrResync
	}
	gap := head.pos.Offset - pos.Offset
	if gap == 0 {
		return nil, nil
	}
	if gap > uint64(h.cfg.MaxEvents) {
		return nil, ErrResync // never kept that many
	}
	oldest := h.cfg.Now().Add(-h.cfg.MaxAge)
	var evs []Event
	if gap <= walkBackMax && (limit <= 0 || gap <= uint64(limit)) {
		evs, err = h.walkBack(ctx, topic, head, pos)
	} else {
		evs, err = h.scan(ctx, topic, head, pos, limit)
	}
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].Offset != pos.Offset+1 || evs[0].At.Before(oldest) {
		return nil, ErrResync
	}
	return evs, nil
}

// walkBack follows previous-event links from the head down to pos.
func (h *JetStreamHistory) walkBack(ctx context.Context, topic string, head jsHead, pos Position) ([]Event, error) {
	n := int(head.pos.Offset - pos.Offset)
	evs := make([]Event, n)
	cur := head
	for i := n - 1; ; i-- {
		if cur.pos.Epoch != pos.Epoch || cur.pos.Offset != pos.Offset+uint64(i)+1 {
			return nil, ErrResync
		}
		evs[i] = cur.event
		if i == 0 {
			return evs, nil
		}
		if cur.prev == 0 {
			return nil, ErrResync
		}
		m, err := h.stream.GetMsg(ctx, cur.prev)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, ErrResync // evicted
		}
		if err != nil {
			return nil, fmt.Errorf("realtime: read %d of %s: %w", cur.prev, topic, err)
		}
		if cur, err = h.decode(topic, m); err != nil {
			return nil, err
		}
	}
}

// scan reads the topic's kept events with one ordered consumer and keeps
// those after pos, up to the head it was asked about.
func (h *JetStreamHistory) scan(ctx context.Context, topic string, head jsHead, pos Position, limit int) ([]Event, error) {
	cons, err := h.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{h.subject(topic)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("realtime: read history of %s: %w", topic, err)
	}
	var evs []Event
	for range h.cfg.MaxEvents + 1 { // bounded: the stream keeps at most MaxEvents per subject
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := cons.Fetch(h.cfg.MaxEvents, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			return nil, fmt.Errorf("realtime: read history of %s: %w", topic, err)
		}
		evs, done, err := h.collect(topic, batch, head, pos, limit, evs)
		cancel()
		if err != nil || done {
			return evs, err
		}
	}
	return evs, nil
}

// collect adds a fetched batch's events after pos to evs; done says the
// head (or the limit) was reached.
func (h *JetStreamHistory) collect(topic string, batch jetstream.MessageBatch, head jsHead, pos Position, limit int, evs []Event) ([]Event, bool, error) {
	got := 0
	for m := range batch.Messages() {
		got++
		md, err := m.Metadata()
		if err != nil {
			return nil, false, fmt.Errorf("realtime: history of %s: %w", topic, err)
		}
		hd, err := h.decode(topic, &jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data()})
		if err != nil {
			return nil, false, err
		}
		if hd.pos.Epoch == pos.Epoch && hd.pos.Offset > pos.Offset {
			evs = append(evs, hd.event)
		}
		if md.Sequence.Stream >= head.seq || (limit > 0 && len(evs) >= limit) {
			return evs, true, nil
		}
	}
	if err := batch.Error(); err != nil {
		return nil, false, fmt.Errorf("realtime: read history of %s: %w", topic, err)
	}
	if got == 0 {
		return nil, false, fmt.Errorf("realtime: read history of %s: the stream ended before its head", topic)
	}
	return evs, false, nil
}
