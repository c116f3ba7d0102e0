package realtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus/bustest"
	"github.com/quikapp/quikapp/internal/realtime"
	"github.com/quikapp/quikapp/internal/realtime/historytest"
)

// A user connected only on another node is online here; they go offline
// after the grace once that node says they left, or once it stops
// reporting (it died) — and not while a connection here remains.
func TestPresenceFromOtherNodes(t *testing.T) {
	p, clock, rec := newPresence(t)
	const ttl = 30 * time.Second
	p.Peer("node-b", realtime.PeerState{TenantID: "acme", UserID: "ada", Conns: 1, Choice: realtime.ChoiceAuto}, ttl)
	wantStatuses(t, rec.takePresence(), "ada:online")

	// Her local device comes and goes; node B still holds her.
	p.Connected("acme", "ada")
	p.Disconnected("acme", "ada")
	clock.Advance(20 * time.Second)
	p.Peer("node-b", realtime.PeerState{TenantID: "acme", UserID: "ada", Conns: 1, Choice: realtime.ChoiceAuto}, ttl) // heartbeat
	clock.Advance(50 * time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence())

	// Node B says she left: offline after the grace.
	p.Peer("node-b", realtime.PeerState{TenantID: "acme", UserID: "ada", Conns: 0, Choice: realtime.ChoiceAuto}, ttl)
	clock.Advance(59 * time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence())
	clock.Advance(time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence(), "ada:offline")

	// Node C reports her, then goes silent: its word lapses after the
	// TTL, then the grace runs.
	p.Peer("node-c", realtime.PeerState{TenantID: "acme", UserID: "ada", Conns: 2, Choice: realtime.ChoiceAuto}, ttl)
	wantStatuses(t, rec.takePresence(), "ada:online")
	clock.Advance(ttl)
	p.Tick()
	clock.Advance(59 * time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence())
	clock.Advance(time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence(), "ada:offline")
}

// The newest choice wins, wherever it was made; an older report does not
// undo it, and a report with a made-up status is ignored.
func TestPresenceChoiceFromOtherNodes(t *testing.T) {
	p, clock, rec := newPresence(t)
	p.Connected("acme", "ada")
	rec.takePresence()
	chosen := clock.Now().Add(time.Second).UnixMilli()
	clock.Advance(2 * time.Second)
	p.Peer("node-b", realtime.PeerState{TenantID: "acme", UserID: "ada", Choice: realtime.ChoiceDND, ChoiceAt: chosen}, time.Minute)
	wantStatuses(t, rec.takePresence(), "ada:dnd")
	p.Peer("node-c", realtime.PeerState{TenantID: "acme", UserID: "ada", Choice: realtime.ChoiceAuto, ChoiceAt: chosen - 1000}, time.Minute)
	p.Peer("node-c", realtime.PeerState{TenantID: "acme", UserID: "ada", Choice: "asleep", ChoiceAt: chosen + 1000}, time.Minute)
	if got := p.Get("acme", "ada").Status; got != realtime.StatusDND {
		t.Fatalf("after an older and a bad report: %s", got)
	}
	if err := p.SetStatus("acme", "ada", realtime.ChoiceAway); err != nil { // newer, here
		t.Fatal(err)
	}
	wantStatuses(t, rec.takePresence(), "ada:away")
	local := p.Local()
	if len(local) != 1 || local[0].Conns != 1 || local[0].Choice != realtime.ChoiceAway || local[0].ChoiceAt != clock.Now().UnixMilli() {
		t.Fatalf("local state for heartbeats: %+v", local)
	}
}

// Over NATS: a user connected on node A shows online on node B, a status
// chosen on B shows on A, and when she leaves A, B counts her out after
// the grace.
func TestPresenceGossipOverNATS(t *testing.T) {
	clock := historytest.NewClock()
	_, js := bustest.RequireNATS(t)
	_, prefix := jsNamespace(t, js)
	nodes := make([]*realtime.Presence, 2)
	for i := range nodes {
		nc, _ := bustest.RequireNATS(t)
		var g *realtime.PresenceGossip
		nodes[i] = realtime.NewPresence(realtime.PresenceConfig{Now: clock.Now, OnLocal: func(st realtime.PeerState) { g.Share(st) }})
		g = realtime.NewPresenceGossip(nc, prefix, nodes[i], nil)
		g.Period = 50 * time.Millisecond // heartbeats heal a change sent before the other node listened
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = g.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	a, b := nodes[0], nodes[1]
	waitStatus := func(p *realtime.Presence, want string) {
		t.Helper()
		for range 500 {
			p.Tick()
			if p.Get("acme", "ada").Status == want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("status %s, want %s", p.Get("acme", "ada").Status, want)
	}
	a.Connected("acme", "ada")
	waitStatus(b, realtime.StatusOnline)
	clock.Advance(time.Second)
	if err := b.SetStatus("acme", "ada", realtime.ChoiceDND); err != nil {
		t.Fatal(err)
	}
	waitStatus(a, realtime.StatusDND)
	a.Disconnected("acme", "ada")
	for range 100 { // wait for B to hear it, then let the grace pass
		clock.Advance(61 * time.Second)
		b.Tick()
		if b.Get("acme", "ada").Status == realtime.StatusOffline {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("ada is %s on B after leaving A", b.Get("acme", "ada").Status)
}
