package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

// members is a fake authorizer: principal user → topics it may see.
type members map[string][]string

func (m members) CanSubscribe(_ context.Context, p realtime.Principal, topic string) error {
	for _, t := range m[p.UserID] {
		if t == topic {
			return nil
		}
	}
	return realtime.ErrForbidden
}

func newHub(t *testing.T, queue int, m members) *realtime.Hub {
	t.Helper()
	h, err := realtime.NewHub(realtime.HubConfig{History: realtime.NewMemoryHistory(realtime.HistoryConfig{MaxEvents: 50}), Authorizer: m, QueueSize: queue, ReplayLimit: 20})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func connect(t *testing.T, h *realtime.Hub, user string) *realtime.Conn {
	t.Helper()
	c, err := h.Connect(realtime.Principal{UserID: user, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(realtime.ReasonClient) })
	return c
}

func publish(t *testing.T, h *realtime.Hub, topic string, n int) []realtime.Event {
	t.Helper()
	out := make([]realtime.Event, n)
	for i := range n {
		ev, err := h.Publish(context.Background(), topic, realtime.Event{ID: fmt.Sprint(topic, "#", i), Type: "message.created"})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = ev
	}
	return out
}

// drain reads n frames or fails; frames taken beyond n are kept for the
// next call.
func drain(t *testing.T, c *realtime.Conn, n int) []realtime.Frame {
	t.Helper()
	out := make([]realtime.Frame, 0, n)
	for len(out) < n {
		if f, ok := takeOne(c); ok {
			out = append(out, f)
			continue
		}
		select {
		case <-c.Wake():
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of %d frames", len(out), n)
		}
	}
	return out
}

// leftovers holds frames taken from a connection but not yet consumed.
var leftovers sync.Map // *realtime.Conn → []realtime.Frame

// takeOne returns the next queued frame without waiting.
func takeOne(c *realtime.Conn) (realtime.Frame, bool) {
	var buf []realtime.Frame
	if v, ok := leftovers.Load(c); ok {
		buf = v.([]realtime.Frame)
	}
	buf = c.Take(buf)
	if len(buf) == 0 {
		return realtime.Frame{}, false
	}
	leftovers.Store(c, buf[1:])
	return buf[0], true
}

func TestSubscribeNeedsAuthorization(t *testing.T) {
	h := newHub(t, 16, members{"ada": {"channel:1"}})
	c := connect(t, h, "ada")
	if err := c.Subscribe(context.Background(), "channel:2", nil); !errors.Is(err, realtime.ErrForbidden) {
		t.Fatalf("subscribe to a foreign topic: %v", err)
	}
	if err := c.Subscribe(context.Background(), "channel:1", nil); err != nil {
		t.Fatal(err)
	}
	publish(t, h, "channel:2", 1)
	publish(t, h, "channel:1", 1)
	if f := drain(t, c, 1)[0]; f.Event.Topic != "channel:1" {
		t.Fatalf("received %+v from a topic never subscribed", f)
	}
}

// Every subscriber sees one topic's events in offset order, even with
// many concurrent publishers.
func TestPerTopicOrder(t *testing.T) {
	h := newHub(t, 1000, members{"a": {"t"}, "b": {"t"}})
	ca, cb := connect(t, h, "a"), connect(t, h, "b")
	for _, c := range []*realtime.Conn{ca, cb} {
		if err := c.Subscribe(context.Background(), "t", nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { publish(t, h, "t", 50) })
	}
	wg.Wait()
	for _, c := range []*realtime.Conn{ca, cb} {
		for i, f := range drain(t, c, 400) {
			if f.Event.Offset != uint64(i+1) {
				t.Fatalf("frame %d has offset %d", i, f.Event.Offset)
			}
		}
	}
}

// A connection that resumes from its last position gets exactly what it
// missed, then live events, with no gap and no repeat, even while
// publishers keep going during the resume.
func TestResumeIsExact(t *testing.T) {
	h := newHub(t, 1000, members{"ada": {"t"}})
	first := connect(t, h, "ada")
	if err := first.Subscribe(context.Background(), "t", nil); err != nil {
		t.Fatal(err)
	}
	publish(t, h, "t", 5)
	seen := drain(t, first, 5)
	last := realtime.Position{Epoch: seen[4].Event.Epoch, Offset: seen[4].Event.Offset}
	first.Close(realtime.ReasonClient)

	publish(t, h, "t", 7) // missed: offsets 6..12
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// At most 10 more, so the gap stays within the replay limit (20).
		for range 10 {
			select {
			case <-stop:
				return
			default:
				if _, err := h.Publish(context.Background(), "t", realtime.Event{Type: "message.created"}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	again := connect(t, h, "ada")
	if err := again.Subscribe(context.Background(), "t", &last); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if n := h.Subscribers("t"); n != 1 {
		t.Fatalf("%d subscribers", n)
	}
	// Everything after offset 5 up to the current head, each once, in order.
	want := uint64(6)
	for {
		f, ok := takeOne(again)
		if !ok {
			break
		}
		if f.Kind != realtime.FrameEvent || f.Event.Offset != want {
			t.Fatalf("frame %s offset %d, want event %d", f.Kind, f.Event.Offset, want)
		}
		want++
	}
	if want < 13 {
		t.Fatalf("resume delivered up to %d, want at least 12", want-1)
	}
	extra := publish(t, h, "t", 1)[0]
	if f := drain(t, again, 1)[0]; f.Event.Offset != want || extra.Offset != want {
		t.Fatalf("live after resume: %d, want %d", f.Event.Offset, want)
	}
}

// A gap older than history (or than the replay limit) is answered with
// resync and the head to continue from.
func TestResumeBeyondHistoryResyncs(t *testing.T) {
	h := newHub(t, 1000, members{"ada": {"t", "u"}})
	evs := publish(t, h, "t", 60) // history keeps 11..60
	c := connect(t, h, "ada")
	if err := c.Subscribe(context.Background(), "t", &realtime.Position{Epoch: evs[0].Epoch, Offset: 3}); err != nil {
		t.Fatal(err)
	}
	f := drain(t, c, 1)[0]
	if f.Kind != realtime.FrameResync || f.Topic != "t" || f.Head.Offset != 60 || f.Head.Epoch != evs[0].Epoch {
		t.Fatalf("frame %+v, want resync at 60", f)
	}
	// Within history but beyond the replay limit (20): resync too.
	u := publish(t, h, "u", 30)
	c2 := connect(t, h, "ada")
	if err := c2.Subscribe(context.Background(), "u", &realtime.Position{Epoch: u[0].Epoch, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if f := drain(t, c2, 1)[0]; f.Kind != realtime.FrameResync {
		t.Fatalf("gap beyond the replay limit: %+v", f)
	}
}

// A consumer that does not read is cut off with a reason once its queue
// overflows; the publisher never waits and other subscribers get every
// event.
func TestSlowConsumerCutOff(t *testing.T) {
	h := newHub(t, 8, members{"slow": {"t"}, "fast": {"t"}})
	slow, fast := connect(t, h, "slow"), connect(t, h, "fast")
	for _, c := range []*realtime.Conn{slow, fast} {
		if err := c.Subscribe(context.Background(), "t", nil); err != nil {
			t.Fatal(err)
		}
	}
	// The fast consumer reads each event as it comes; the slow one never
	// reads. Publishing must not wait for it.
	for i := range 40 {
		publish(t, h, "t", 1)
		if f := drain(t, fast, 1)[0]; f.Event.Offset != uint64(i+1) {
			t.Fatalf("fast consumer got offset %d, want %d", f.Event.Offset, i+1)
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("slow consumer was not cut off")
	}
	if slow.Reason() != realtime.ReasonSlowConsumer || fast.Reason() != "" {
		t.Fatalf("reasons: slow %q, fast %q", slow.Reason(), fast.Reason())
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Subscribers("t") != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h.Subscribers("t") != 1 {
		t.Fatalf("%d subscribers after the cut-off, want 1", h.Subscribers("t"))
	}
	if err := slow.Subscribe(context.Background(), "t", nil); !errors.Is(err, realtime.ErrClosed) {
		t.Fatalf("subscribe on a closed connection: %v", err)
	}
}

func TestUnsubscribe(t *testing.T) {
	h := newHub(t, 16, members{"ada": {"t"}})
	c := connect(t, h, "ada")
	if err := c.Subscribe(context.Background(), "t", nil); err != nil {
		t.Fatal(err)
	}
	c.Unsubscribe("t")
	publish(t, h, "t", 3)
	if c.Queued() != 0 || len(c.Topics()) != 0 || h.Subscribers("t") != 0 {
		t.Fatalf("after unsubscribe: %d frames, topics %v", c.Queued(), c.Topics())
	}
}

// An announcement that never arrived (the relay's connection was down) is
// made good by Reconcile: the events History holds past what this node
// delivered are queued in order, once, and a second pass finds nothing.
func TestReconcileFillsMissedAnnouncements(t *testing.T) {
	shared := realtime.NewMemoryHistory(realtime.HistoryConfig{MaxEvents: 50})
	node := func() *realtime.Hub {
		h, err := realtime.NewHub(realtime.HubConfig{History: shared, Authorizer: members{"ann": {"t"}}, ReplayLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a, b := node(), node() // no relay between them: every announcement is lost
	c := connect(t, b, "ann")
	if err := c.Subscribe(context.Background(), "t", nil); err != nil {
		t.Fatal(err)
	}
	sent := publish(t, a, "t", 5)
	if f, ok := takeOne(c); ok {
		t.Fatalf("node B delivered %+v without an announcement", f)
	}
	if n := b.Reconcile(context.Background()); n != 5 {
		t.Fatalf("Reconcile found %d missing, want 5", n)
	}
	for i, f := range drain(t, c, 5) {
		if f.Kind != realtime.FrameEvent || f.Event.ID != sent[i].ID || f.Event.Offset != sent[i].Offset {
			t.Fatalf("frame %d: %+v, want %s at %d", i, f, sent[i].ID, sent[i].Offset)
		}
	}
	if n := b.Reconcile(context.Background()); n != 0 {
		t.Fatalf("a second Reconcile found %d", n)
	}
	if f, ok := takeOne(c); ok {
		t.Fatalf("repeat after reconciling: %+v", f)
	}
}
