// Package historytest is the conformance suite every realtime.History
// passes: offsets, exact recovery, resync when history no longer covers a
// gap, epochs, paging and concurrency.
package historytest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

// Clock is a controllable clock for a history under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves it forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// New makes an empty history with the given bounds and clock.
type New func(t *testing.T, cfg realtime.HistoryConfig) realtime.History

// Run runs every case against histories made by newHistory.
func Run(t *testing.T, newHistory New) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, newHistory New)
	}{
		{"OffsetsStartAtOneAndGrowByOne", testOffsets},
		{"SinceReturnsExactlyWhatWasMissed", testSinceExact},
		{"SinceAtHeadIsEmpty", testSinceHead},
		{"ZeroPositionGetsEverythingKept", testZeroPosition},
		{"ResyncWhenSizeExceeded", testResyncSize},
		{"ResyncWhenAgeExceeded", testResyncAge},
		{"ResyncOnOtherEpochOrFutureOffset", testResyncEpoch},
		{"LimitPages", testLimit},
		{"TopicsAreIndependent", testTopics},
		{"ConcurrentAppendsGetContiguousOffsets", testConcurrent},
		{"IdleTopicComesBackInANewEpoch", testIdleTopic},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newHistory) })
	}
}

func appendN(t *testing.T, h realtime.History, topic string, n int) []realtime.Event {
	t.Helper()
	out := make([]realtime.Event, n)
	for i := range n {
		ev, err := h.Append(context.Background(), topic, realtime.Event{ID: topic + "-" + strconv.Itoa(i), Type: "message.created", Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = ev
	}
	return out
}

func since(t *testing.T, h realtime.History, topic string, pos realtime.Position, limit int) []realtime.Event {
	t.Helper()
	evs, err := h.Since(context.Background(), topic, pos, limit)
	if err != nil {
		t.Fatalf("Since(%s, %+v): %v", topic, pos, err)
	}
	return evs
}

func wantResync(t *testing.T, h realtime.History, topic string, pos realtime.Position) {
	t.Helper()
	evs, err := h.Since(context.Background(), topic, pos, 0)
	if !errors.Is(err, realtime.ErrResync) {
		t.Fatalf("Since(%s, %+v) = %d events, %v; want ErrResync", topic, pos, len(evs), err)
	}
}

func pos(ev realtime.Event) realtime.Position {
	return realtime.Position{Epoch: ev.Epoch, Offset: ev.Offset}
}

func testOffsets(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{})
	evs := appendN(t, h, "channel:1", 5)
	for i, ev := range evs {
		if ev.Offset != uint64(i+1) || ev.Topic != "channel:1" || ev.Epoch == "" || ev.Epoch != evs[0].Epoch || ev.ID != "channel:1-"+strconv.Itoa(i) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	head, err := h.Head(context.Background(), "channel:1")
	if err != nil || head != pos(evs[4]) {
		t.Fatalf("head %+v %v, want %+v", head, err, pos(evs[4]))
	}
	if head, _ := h.Head(context.Background(), "channel:none"); head.Offset != 0 {
		t.Fatalf("head of an empty topic %+v", head)
	}
}

func testSinceExact(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{})
	evs := appendN(t, h, "channel:1", 10)
	got := since(t, h, "channel:1", pos(evs[3]), 0)
	if len(got) != 6 {
		t.Fatalf("%d events after offset 4, want 6", len(got))
	}
	for i, ev := range got {
		if ev.Offset != evs[4+i].Offset || ev.ID != evs[4+i].ID || string(ev.Data) != string(evs[4+i].Data) || ev.Type != "message.created" {
			t.Fatalf("replayed %+v, want %+v", ev, evs[4+i])
		}
	}
}

func testSinceHead(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{})
	evs := appendN(t, h, "channel:1", 3)
	if got := since(t, h, "channel:1", pos(evs[2]), 0); len(got) != 0 {
		t.Fatalf("%d events after the head", len(got))
	}
}

func testZeroPosition(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{MaxEvents: 3})
	if got := since(t, h, "channel:1", realtime.Position{}, 0); len(got) != 0 {
		t.Fatalf("events before any append: %v", got)
	}
	appendN(t, h, "channel:1", 2)
	if got := since(t, h, "channel:1", realtime.Position{}, 0); len(got) != 2 || got[0].Offset != 1 {
		t.Fatalf("from the zero position: %v", got)
	}
	appendN(t, h, "channel:1", 5) // offsets 1-4 dropped
	wantResync(t, h, "channel:1", realtime.Position{})
}

func testResyncSize(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{MaxEvents: 5})
	evs := appendN(t, h, "channel:1", 12)      // keeps 8..12
	wantResync(t, h, "channel:1", pos(evs[5])) // needs 7
	if got := since(t, h, "channel:1", pos(evs[6]), 0); len(got) != 5 || got[0].Offset != 8 {
		t.Fatalf("after offset 7: %v", got)
	}
}

func testResyncAge(t *testing.T, newHistory New) {
	clock := NewClock()
	h := newHistory(t, realtime.HistoryConfig{MaxAge: time.Minute, Now: clock.Now})
	old := appendN(t, h, "channel:1", 3)
	clock.Advance(50 * time.Second)
	fresh := appendN(t, h, "channel:1", 2)
	clock.Advance(20 * time.Second) // offsets 1-3 are now 70 s old
	wantResync(t, h, "channel:1", pos(old[0]))
	if got := since(t, h, "channel:1", pos(old[2]), 0); len(got) != 2 || got[0].Offset != fresh[0].Offset {
		t.Fatalf("after offset 3: %v", got)
	}
}

func testResyncEpoch(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{})
	evs := appendN(t, h, "channel:1", 3)
	wantResync(t, h, "channel:1", realtime.Position{Epoch: "another-" + evs[0].Epoch, Offset: 1})
	wantResync(t, h, "channel:1", realtime.Position{Epoch: evs[0].Epoch, Offset: 4})
	wantResync(t, h, "channel:never", realtime.Position{Epoch: evs[0].Epoch, Offset: 1})
	other := newHistory(t, realtime.HistoryConfig{}) // a restarted node without durable history
	if ev := appendN(t, other, "channel:1", 1)[0]; ev.Epoch == evs[0].Epoch {
		t.Fatal("a new history reused an epoch: clients would trust restarted offsets")
	}
}

func testLimit(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{})
	appendN(t, h, "channel:1", 10)
	head, _ := h.Head(context.Background(), "channel:1")
	p := realtime.Position{Epoch: head.Epoch}
	var seen []uint64
	for range 10 {
		page := since(t, h, "channel:1", p, 3)
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		for _, ev := range page {
			seen = append(seen, ev.Offset)
		}
		p = pos(page[len(page)-1])
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Fatalf("paged offsets %v", seen)
	}
}

func testTopics(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{})
	a := appendN(t, h, "channel:a", 3)
	b := appendN(t, h, "channel:b", 1)
	if b[0].Offset != 1 || a[2].Offset != 3 {
		t.Fatalf("offsets shared between topics: %+v %+v", a[2], b[0])
	}
	if got := since(t, h, "channel:b", realtime.Position{Epoch: b[0].Epoch}, 0); len(got) != 1 || got[0].Topic != "channel:b" {
		t.Fatalf("topic b: %v", got)
	}
	if _, err := h.Append(context.Background(), "", realtime.Event{}); err == nil {
		t.Fatal("append to an empty topic name accepted")
	}
}

func testConcurrent(t *testing.T, newHistory New) {
	h := newHistory(t, realtime.HistoryConfig{MaxEvents: 10000})
	var wg sync.WaitGroup
	offsets := make(chan uint64, 800)
	for w := range 16 {
		wg.Go(func() {
			for i := range 50 {
				ev, err := h.Append(context.Background(), "channel:hot", realtime.Event{ID: fmt.Sprint(w, "-", i)})
				if err != nil {
					t.Error(err)
					return
				}
				offsets <- ev.Offset
			}
		})
	}
	wg.Wait()
	close(offsets)
	seen := map[uint64]bool{}
	for o := range offsets {
		if seen[o] || o < 1 || o > 800 {
			t.Fatalf("offset %d duplicated or out of range", o)
		}
		seen[o] = true
	}
	head, _ := h.Head(context.Background(), "channel:hot")
	all := since(t, h, "channel:hot", realtime.Position{Epoch: head.Epoch}, 0)
	if len(all) != 800 || head.Offset != 800 {
		t.Fatalf("%d events, head %d; want 800", len(all), head.Offset)
	}
	for i, ev := range all {
		if ev.Offset != uint64(i+1) {
			t.Fatalf("history out of order at %d: %d", i, ev.Offset)
		}
	}
}

func testIdleTopic(t *testing.T, newHistory New) {
	clock := NewClock()
	h := newHistory(t, realtime.HistoryConfig{MaxAge: time.Minute, Now: clock.Now})
	old := appendN(t, h, "channel:quiet", 2)
	clock.Advance(2 * time.Minute)
	appendN(t, h, "channel:busy", 1) // lets the history sweep idle topics
	clock.Advance(time.Second)
	again := appendN(t, h, "channel:quiet", 1)[0]
	if again.Epoch == old[0].Epoch && again.Offset != 3 {
		t.Fatalf("offsets restarted within one epoch: %+v after %+v", again, old[1])
	}
	if again.Epoch != old[0].Epoch {
		wantResync(t, h, "channel:quiet", pos(old[1]))
	}
}
