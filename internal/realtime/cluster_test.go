package realtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus/bustest"
	"github.com/quikapp/quikapp/internal/realtime"
)

// cluster is n hubs, each with its own NATS connection, sharing one
// JetStream history stream and relaying over core NATS: n nodes.
func cluster(t *testing.T, n int, m members, cfg realtime.HistoryConfig) []*realtime.Hub {
	t.Helper()
	_, js := bustest.RequireNATS(t)
	stream, prefix := jsNamespace(t, js)
	hubs := make([]*realtime.Hub, n)
	for i := range hubs {
		nc, js := bustest.RequireNATS(t)
		relay := realtime.NewNATSRelay(nc, prefix, nil)
		t.Cleanup(relay.Close)
		h, err := realtime.NewHub(realtime.HubConfig{History: newJSHistory(t, js, stream, prefix, cfg), Authorizer: m,
			Relay: relay, QueueSize: 2000, ReplayLimit: 500})
		if err != nil {
			t.Fatal(err)
		}
		hubs[i] = h
	}
	return hubs
}

func subscribe(t *testing.T, c *realtime.Conn, topic string, from *realtime.Position) {
	t.Helper()
	if err := c.Subscribe(context.Background(), topic, from); err != nil {
		t.Fatal(err)
	}
}

// wantOffsets reads frames until the connection has seen offsets
// first..last of topic exactly once each, in order.
func wantOffsets(t *testing.T, c *realtime.Conn, first, last uint64) realtime.Position {
	t.Helper()
	var pos realtime.Position
	for i, f := range drain(t, c, int(last-first+1)) {
		if f.Kind != realtime.FrameEvent || f.Event.Offset != first+uint64(i) {
			t.Fatalf("frame %d: %+v, want offset %d", i, f, first+uint64(i))
		}
		pos = realtime.Position{Epoch: f.Event.Epoch, Offset: f.Event.Offset}
	}
	time.Sleep(50 * time.Millisecond) // time for a repeat to show up, were there one
	if f, ok := takeOne(c); ok {
		t.Fatalf("an extra frame after offset %d: %+v", last, f)
	}
	return pos
}

// publishFromEach has every hub publish n events to topic at once, each
// racing the others for the topic's next offset.
func publishFromEach(t *testing.T, hubs []*realtime.Hub, topic string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i, h := range hubs {
		wg.Go(func() {
			for j := range n {
				if _, err := h.Publish(context.Background(), topic, realtime.Event{ID: fmt.Sprint(i, "-", j), Type: "message.created"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Subscribers on both nodes see one order of offsets, whichever node
// each event was published on, with publishers racing on both.
func TestClusterOrderAcrossNodes(t *testing.T) {
	m := members{"ada": {"channel:x"}, "bob": {"channel:x"}}
	hubs := cluster(t, 2, m, realtime.HistoryConfig{})
	ada, bob := connect(t, hubs[0], "ada"), connect(t, hubs[1], "bob")
	subscribe(t, ada, "channel:x", nil)
	subscribe(t, bob, "channel:x", nil)
	publishFromEach(t, hubs, "channel:x", 60)
	wantOffsets(t, ada, 1, 120)
	wantOffsets(t, bob, 1, 120)
}

// A client that drops off node A and comes back on node B gets exactly
// what it missed, then live events, with no gap and no repeat.
func TestClusterResumeOnAnotherNode(t *testing.T) {
	m := members{"ada": {"channel:x"}}
	hubs := cluster(t, 2, m, realtime.HistoryConfig{})
	onA := connect(t, hubs[0], "ada")
	subscribe(t, onA, "channel:x", nil)
	publish(t, hubs[1], "channel:x", 5) // published on B, seen on A
	last := wantOffsets(t, onA, 1, 5)
	onA.Close(realtime.ReasonClient)

	publish(t, hubs[0], "channel:x", 4) // missed: 6..9, published on A
	publish(t, hubs[1], "channel:x", 3) // and 10..12 on B
	onB := connect(t, hubs[1], "ada")
	subscribe(t, onB, "channel:x", &last)
	publish(t, hubs[0], "channel:x", 2) // live: 13, 14 from A
	wantOffsets(t, onB, 6, 14)
}

// A gap older than history holds is answered with resync on any node.
func TestClusterResyncWhenHistoryExceeded(t *testing.T) {
	m := members{"ada": {"channel:x"}}
	hubs := cluster(t, 2, m, realtime.HistoryConfig{MaxEvents: 5})
	publish(t, hubs[0], "channel:x", 3)
	stale := realtime.Position{Epoch: publish(t, hubs[0], "channel:x", 1)[0].Epoch, Offset: 1}
	publish(t, hubs[0], "channel:x", 10) // keeps 10..14
	c := connect(t, hubs[1], "ada")
	subscribe(t, c, "channel:x", &stale)
	f := drain(t, c, 1)[0]
	if f.Kind != realtime.FrameResync || f.Head.Offset != 14 {
		t.Fatalf("resume past history: %+v, want resync at 14", f)
	}
}

// Signals (typing, presence) cross nodes without taking an offset.
func TestClusterSignals(t *testing.T) {
	m := members{"ada": {"channel:x"}}
	hubs := cluster(t, 2, m, realtime.HistoryConfig{})
	c := connect(t, hubs[0], "ada")
	subscribe(t, c, "channel:x", nil)
	hubs[1].Signal(context.Background(), "channel:x", realtime.Event{Type: "typing", Data: []byte(`{"userId":"bob"}`)})
	f := drain(t, c, 1)[0]
	if f.Event.Type != "typing" || f.Event.Offset != 0 || f.Event.Topic != "channel:x" {
		t.Fatalf("signal: %+v", f)
	}
	// The signal took no offset: the next event is still 1.
	publish(t, hubs[1], "channel:x", 1)
	wantOffsets(t, c, 1, 1)
}

// A node follows only the topics its clients use, and stops when they
// leave.
func TestClusterFollowsOnlyUsedTopics(t *testing.T) {
	m := members{"ada": {"channel:x", "channel:y"}}
	hubs := cluster(t, 2, m, realtime.HistoryConfig{})
	publish(t, hubs[1], "channel:y", 3)
	if n := hubs[0].Topics(); n != 0 {
		t.Fatalf("node A holds %d topics before anyone subscribed", n)
	}
	c := connect(t, hubs[0], "ada")
	subscribe(t, c, "channel:x", nil)
	if n := hubs[0].Topics(); n != 1 {
		t.Fatalf("node A holds %d topics, want 1", n)
	}
	c.Close(realtime.ReasonClient)
	if n := hubs[0].Topics(); n != 0 {
		t.Fatalf("node A holds %d topics after its last client left", n)
	}
}

// Six nodes appending to one hot topic at once all get their events in:
// a node that loses the race for the next offset waits a random, growing
// moment before trying again, so the nodes take turns instead of one
// losing every round (before, 7 to 10 of these 600 appends failed).
func TestClusterAppendsUnderContention(t *testing.T) {
	m := members{"ada": {"channel:x"}}
	hubs := cluster(t, 6, m, realtime.HistoryConfig{})
	ada := connect(t, hubs[0], "ada")
	subscribe(t, ada, "channel:x", nil)
	publishFromEach(t, hubs, "channel:x", 100)
	wantOffsets(t, ada, 1, 600)
}
