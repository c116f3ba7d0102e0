package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// PresenceGossip keeps presence right across nodes over core NATS: each
// node says at once when a user's connections or choice change on it, and
// repeats everything it holds every Period, so a node that died is
// forgotten TTL after its last word (its users then go offline after the
// usual grace, unless they reconnected elsewhere). Nothing touches the
// database.
type PresenceGossip struct {
	nc      *nats.Conn
	subject string
	node    string
	p       *Presence
	log     *slog.Logger
	// Period between heartbeats (default 10 s); TTL is how long a node's
	// report is believed (default 3 periods).
	Period, TTL time.Duration
}

// gossipBatch bounds the states in one message (well under NATS's 1 MiB).
const gossipBatch = 2000

type gossipMsg struct {
	Node   string      `json:"node"`
	States []PeerState `json:"states"`
}

// NewPresenceGossip returns gossip for p on nc. Give p's OnLocal to Share.
func NewPresenceGossip(nc *nats.Conn, prefix string, p *Presence, log *slog.Logger) *PresenceGossip {
	if prefix == "" {
		prefix = "quikapp_rt"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &PresenceGossip{nc: nc, subject: prefix + ".presence", node: hex.EncodeToString(b), p: p, log: log,
		Period: 10 * time.Second, TTL: 30 * time.Second}
}

// Share tells the other nodes about one local change.
func (g *PresenceGossip) Share(st PeerState) {
	if err := g.send([]PeerState{st}); err != nil {
		g.log.Warn("realtime: share presence", "err", err)
	}
}

func (g *PresenceGossip) send(states []PeerState) error {
	b, err := json.Marshal(gossipMsg{Node: g.node, States: states})
	if err != nil {
		return err
	}
	return g.nc.Publish(g.subject, b)
}

// Run listens to the other nodes and sends heartbeats until ctx ends.
func (g *PresenceGossip) Run(ctx context.Context) error {
	sub, err := g.nc.Subscribe(g.subject, g.receive)
	if err != nil {
		return fmt.Errorf("realtime: presence gossip: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	g.heartbeat()
	t := time.NewTicker(g.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			g.heartbeat()
		}
	}
}

func (g *PresenceGossip) heartbeat() {
	states := g.p.Local()
	for len(states) > 0 {
		n := min(len(states), gossipBatch)
		if err := g.send(states[:n]); err != nil {
			g.log.Warn("realtime: presence heartbeat", "err", err)
			return
		}
		states = states[n:]
	}
}

func (g *PresenceGossip) receive(m *nats.Msg) {
	var msg gossipMsg
	if err := json.Unmarshal(m.Data, &msg); err != nil || msg.Node == "" {
		g.log.Warn("realtime: a presence message that is not gossip", "err", err)
		return
	}
	if msg.Node == g.node {
		return
	}
	for _, st := range msg.States {
		g.p.Peer(msg.Node, st, g.TTL)
	}
}
