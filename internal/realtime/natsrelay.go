package realtime

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSRelay is a Relay over core NATS. Each topic is one subject,
// Prefix + ".rtl." + the topic in base64url, and a node subscribes only to
// the topics its clients follow. Announcements are at-most-once; the hub
// heals a lost one from History.
type NATSRelay struct {
	nc     *nats.Conn
	prefix string
	node   string // this relay's id: its own announcements come back and are skipped
	log    *slog.Logger
	in     chan *nats.Msg

	mu      sync.Mutex
	follows map[string]map[*follow]struct{} // by subject
	done    chan struct{}
	stopped chan struct{}
}

type follow struct {
	sub     *nats.Subscription
	deliver func(Event)
}

// relayQueue is how many announcements may wait for the dispatcher; past
// it NATS drops them (and the hub fills the gap from History).
const relayQueue = 16 << 10

const hdrNode = "Qk-Node"

// NewNATSRelay returns a relay on nc (which it does not close). prefix
// separates installs sharing a server ("quikapp" by default).
func NewNATSRelay(nc *nats.Conn, prefix string, log *slog.Logger) *NATSRelay {
	if prefix == "" {
		prefix = "quikapp"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	r := &NATSRelay{nc: nc, prefix: prefix, node: hex.EncodeToString(b), log: log,
		in: make(chan *nats.Msg, relayQueue), follows: map[string]map[*follow]struct{}{},
		done: make(chan struct{}), stopped: make(chan struct{})}
	go r.dispatch()
	return r
}

var _ Relay = (*NATSRelay)(nil)

func (r *NATSRelay) subject(topic string) string {
	return r.prefix + ".rtl." + base64.RawURLEncoding.EncodeToString([]byte(topic))
}

// Announce implements Relay.
func (r *NATSRelay) Announce(_ context.Context, ev Event) error {
	if err := checkTopic(ev.Topic); err != nil {
		return err
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("realtime: encode announcement: %w", err)
	}
	m := nats.NewMsg(r.subject(ev.Topic))
	m.Header.Set(hdrNode, r.node)
	m.Data = b
	if err := r.nc.PublishMsg(m); err != nil {
		return fmt.Errorf("realtime: announce on %s: %w", ev.Topic, err)
	}
	return nil
}

// Follow implements Relay.
func (r *NATSRelay) Follow(topic string, deliver func(Event)) (func(), error) {
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	subj := r.subject(topic)
	sub, err := r.nc.ChanSubscribe(subj, r.in)
	if err != nil {
		return nil, fmt.Errorf("realtime: follow %s: %w", topic, err)
	}
	// Once the server has the subscription, every later announcement
	// reaches us.
	if err := r.nc.FlushTimeout(5 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("realtime: follow %s: %w", topic, err)
	}
	f := &follow{sub: sub, deliver: deliver}
	r.mu.Lock()
	set := r.follows[subj]
	if set == nil {
		set = map[*follow]struct{}{}
		r.follows[subj] = set
	}
	set[f] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = sub.Unsubscribe()
			r.mu.Lock()
			delete(r.follows[subj], f)
			if len(r.follows[subj]) == 0 {
				delete(r.follows, subj)
			}
			r.mu.Unlock()
		})
	}, nil
}

// dispatch hands announcements to their topics' followers, one goroutine
// for every topic (not one per subscription).
func (r *NATSRelay) dispatch() {
	defer close(r.stopped)
	for {
		select {
		case <-r.done:
			return
		case m := <-r.in:
			if m.Header.Get(hdrNode) == r.node {
				continue
			}
			var ev Event
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				r.log.Warn("realtime: an announcement that is not an event", "subject", m.Subject, "err", err)
				continue
			}
			r.mu.Lock()
			fs := make([]func(Event), 0, len(r.follows[m.Subject]))
			for f := range r.follows[m.Subject] {
				fs = append(fs, f.deliver)
			}
			r.mu.Unlock()
			for _, deliver := range fs {
				deliver(ev)
			}
		}
	}
}

// Close stops following every topic and the dispatcher.
func (r *NATSRelay) Close() {
	r.mu.Lock()
	for _, set := range r.follows {
		for f := range set {
			_ = f.sub.Unsubscribe()
		}
	}
	clear(r.follows)
	r.mu.Unlock()
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	<-r.stopped
}
