// Package bustest is the conformance suite every bus.Bus implementation
// passes. An implementation's test calls Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		bustest.Run(t, func(t *testing.T) bus.Bus { return newTestBus(t) })
//	}
//
// The suite waits with deadlines (WaitTimeout), never with sleeps, for what
// must happen. Where it checks that something does not happen, it publishes
// a fence message after the others and waits for it: a subscriber sees one
// publisher's messages in order, so once the fence has arrived nothing
// published before it is still on the way. Only for Consume groups, which
// promise no order, does it wait a short Settle period before counting.
package bustest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus"
)

// WaitTimeout bounds every wait for something that must happen.
const WaitTimeout = 10 * time.Second

// Settle is how long the suite watches for extra deliveries to Consume
// groups after the expected ones have arrived.
const Settle = 300 * time.Millisecond

// Run runs the conformance suite. newBus returns a new, empty bus for one
// test and registers its own cleanup (closing it, removing what it made); a
// test may also close it itself. Buses from different calls must not see
// each other's messages.
func Run(t *testing.T, newBus func(t *testing.T) bus.Bus) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b bus.Bus)
	}{
		{"PublishSubscribeExact", testPublishSubscribeExact},
		{"EmptyDataAndHeader", testEmptyDataAndHeader},
		{"Wildcards", testWildcards},
		{"FanOut", testFanOut},
		{"Order", testOrder},
		{"Unsubscribe", testUnsubscribe},
		{"ConsumeGroupSharesWork", testConsumeGroupSharesWork},
		{"ConsumeGroupsEachGetAll", testConsumeGroupsEachGetAll},
		{"ConsumeRedelivery", testConsumeRedelivery},
		{"ConsumePanicRedelivered", testConsumePanicRedelivered},
		{"ConsumeNewGroupStartsNow", testConsumeNewGroupStartsNow},
		{"ConsumeUnsubscribe", testConsumeUnsubscribe},
		{"ConsumeGroupConflict", testConsumeGroupConflict},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"HandlerContext", testHandlerContext},
		{"HandlerMayUseBus", testHandlerMayUseBus},
		{"SubscriberPanicContained", testSubscriberPanicContained},
		{"InvalidSubjects", testInvalidSubjects},
		{"InvalidPatterns", testInvalidPatterns},
		{"InvalidGroups", testInvalidGroups},
		{"InvalidMessages", testInvalidMessages},
		{"SizeLimits", testSizeLimits},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBus(t))
		})
	}
}

// --- helpers ---

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu    sync.Mutex
	msgs  []bus.Message
	calls map[string]int // by ID
}

func newRecorder() *recorder { return &recorder{calls: make(map[string]int)} }

func (r *recorder) handle(_ context.Context, m bus.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	r.calls[m.ID]++
	return nil
}

func (r *recorder) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id] > 0
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) messages() []bus.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// get returns the first message with id.
func (r *recorder) get(id string) (bus.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return bus.Message{}, false
}

// ids returns the IDs received, in order, leaving out fences.
func (r *recorder) ids() []string {
	var out []string
	for _, m := range r.messages() {
		if !strings.HasPrefix(m.ID, "fence-") {
			out = append(out, m.ID)
		}
	}
	return out
}

// waitUntil polls cond until it holds, failing the test after WaitTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", WaitTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newID returns a unique message ID.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func publish(t *testing.T, b bus.Bus, m bus.Message) {
	t.Helper()
	if err := b.Publish(t.Context(), m); err != nil {
		t.Fatalf("Publish(%s, %s): %v", m.Subject, m.ID, err)
	}
}

// publishRetrying publishes m as an outbox relay does: again, after a
// pause, until it is accepted.
func publishRetrying(t *testing.T, b bus.Bus, m bus.Message) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		err := b.Publish(t.Context(), m)
		if err == nil {
			return
		}
		if errors.Is(err, bus.ErrInvalidMessage) || errors.Is(err, bus.ErrInvalidSubject) || errors.Is(err, bus.ErrClosed) || time.Now().After(deadline) {
			t.Fatalf("Publish(%s, %s): %v", m.Subject, m.ID, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fence publishes a message to subject and waits until r has it; r then
// has everything published to subjects it matches before the fence.
func fence(t *testing.T, b bus.Bus, subject string, r *recorder) {
	t.Helper()
	id := newID("fence")
	publish(t, b, bus.Message{ID: id, Subject: subject})
	waitUntil(t, "fence "+id+" on "+subject, func() bool { return r.has(id) })
}

func subscribe(t *testing.T, b bus.Bus, pattern string, h bus.Handler) bus.Subscription {
	t.Helper()
	sub, err := b.Subscribe(t.Context(), pattern, h)
	if err != nil {
		t.Fatalf("Subscribe(%s): %v", pattern, err)
	}
	return sub
}

func consume(t *testing.T, b bus.Bus, pattern, group string, h bus.Handler) bus.Subscription {
	t.Helper()
	sub, err := b.Consume(t.Context(), pattern, group, h)
	if err != nil {
		t.Fatalf("Consume(%s, %s): %v", pattern, group, err)
	}
	return sub
}

// sameMessage reports how got differs from want (nil and empty Data or
// Header are the same).
func sameMessage(got, want bus.Message) string {
	var diffs []string
	if got.ID != want.ID {
		diffs = append(diffs, fmt.Sprintf("ID %q, want %q", got.ID, want.ID))
	}
	if got.Subject != want.Subject {
		diffs = append(diffs, fmt.Sprintf("Subject %q, want %q", got.Subject, want.Subject))
	}
	if !bytes.Equal(got.Data, want.Data) {
		diffs = append(diffs, fmt.Sprintf("Data %d bytes %.40q, want %d bytes %.40q", len(got.Data), got.Data, len(want.Data), want.Data))
	}
	if len(got.Header) != len(want.Header) {
		diffs = append(diffs, fmt.Sprintf("Header %v, want %v", got.Header, want.Header))
	} else {
		for k, v := range want.Header {
			if gv, ok := got.Header[k]; !ok || gv != v {
				diffs = append(diffs, fmt.Sprintf("Header %v, want %v", got.Header, want.Header))
				break
			}
		}
	}
	return strings.Join(diffs, "; ")
}

func wantErrorIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one wrapping %q", what, err, target)
	}
}

// --- Subscribe ---

func testPublishSubscribeExact(t *testing.T, b bus.Bus) {
	r := newRecorder()
	subscribe(t, b, "channel.c1.message", r.handle)
	data := make([]byte, 256*3)
	for i := range data {
		data[i] = byte(i) // every byte value, zero included
	}
	want := bus.Message{
		ID:      newID("m"),
		Subject: "channel.c1.message",
		Data:    data,
		Header: map[string]string{
			"Content-Type": "application/json",
			"trace_id":     "4bf92f3577b34da6a3ce929d0e0e4736",
			"X-Unicode":    "héllo wörld ✓ inner  spaces",
			"X-Empty":      "",
		},
	}
	publish(t, b, want)
	waitUntil(t, "the message", func() bool { return r.has(want.ID) })
	got, _ := r.get(want.ID)
	if d := sameMessage(got, want); d != "" {
		t.Errorf("delivered message differs: %s", d)
	}
	// The handler's copy is its own.
	data[0] = 0xff
	if got.Data[0] != 0 {
		t.Error("delivered Data shares memory with the published Data")
	}
}

func testEmptyDataAndHeader(t *testing.T, b bus.Bus) {
	r := newRecorder()
	subscribe(t, b, "user.u1.presence", r.handle)
	for _, m := range []bus.Message{
		{ID: newID("nil"), Subject: "user.u1.presence"},
		{ID: newID("empty"), Subject: "user.u1.presence", Data: []byte{}, Header: map[string]string{}},
	} {
		publish(t, b, m)
		waitUntil(t, "message "+m.ID, func() bool { return r.has(m.ID) })
		got, _ := r.get(m.ID)
		if got.Data != nil || got.Header != nil {
			t.Errorf("message %s: Data %#v, Header %#v; want nil for empty", m.ID, got.Data, got.Header)
		}
		if d := sameMessage(got, m); d != "" {
			t.Errorf("message %s differs: %s", m.ID, d)
		}
	}
}

func testWildcards(t *testing.T, b bus.Bus) {
	subjects := []string{
		"channel.c1.message",
		"channel.c-2_x:y.message",
		"channel.c1.message.edit",
		"channel.c1.typing",
		"channel.c1",
		"channel",
		"channels.c1.message",
		"user.u1.message",
		"user.u1.presence",
		"user.u1.presence.away",
		"team.t1.channel.c1.message",
	}
	cases := []struct {
		pattern string
		fence   string // a subject the pattern matches
		want    []string
	}{
		{"channel.*.message", "channel.fence.message", []string{"channel.c1.message", "channel.c-2_x:y.message"}},
		{"channel.>", "channel.fence", []string{"channel.c1.message", "channel.c-2_x:y.message", "channel.c1.message.edit", "channel.c1.typing", "channel.c1"}},
		{"channel.*", "channel.fence", []string{"channel.c1"}},
		{"*.u1.>", "user.u1.fence", []string{"user.u1.message", "user.u1.presence", "user.u1.presence.away"}},
		{"*.*.message", "fence.fence.message", []string{"channel.c1.message", "channel.c-2_x:y.message", "channels.c1.message", "user.u1.message"}},
		{"user.u1.presence", "user.u1.presence", []string{"user.u1.presence"}},
		{"channel", "channel", []string{"channel"}},
		{"*", "fence", []string{"channel"}},
		{">", "fence", subjects},
	}
	recs := make([]*recorder, len(cases))
	for i, c := range cases {
		recs[i] = newRecorder()
		subscribe(t, b, c.pattern, recs[i].handle)
	}
	bySubject := make(map[string]string) // ID -> subject
	for _, s := range subjects {
		id := newID("w")
		bySubject[id] = s
		publish(t, b, bus.Message{ID: id, Subject: s, Data: []byte(s)})
	}
	for i, c := range cases {
		fence(t, b, c.fence, recs[i])
		var got []string
		for _, id := range recs[i].ids() {
			got = append(got, bySubject[id])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("pattern %q received %q, want %q", c.pattern, got, c.want)
		}
		for _, m := range recs[i].messages() {
			if !strings.HasPrefix(m.ID, "fence-") && string(m.Data) != m.Subject {
				t.Errorf("pattern %q: message %s has Subject %q but was published to %q", c.pattern, m.ID, m.Subject, m.Data)
			}
		}
	}
}

func testFanOut(t *testing.T, b bus.Bus) {
	r1, r2 := newRecorder(), newRecorder()
	subscribe(t, b, "channel.c1.>", r1.handle)
	subscribe(t, b, "channel.c1.>", r2.handle)
	var want []string
	for range 10 {
		id := newID("f")
		want = append(want, id)
		publish(t, b, bus.Message{ID: id, Subject: "channel.c1.message"})
	}
	for i, r := range []*recorder{r1, r2} {
		fence(t, b, "channel.c1.fence", r)
		if got := r.ids(); !slices.Equal(got, want) {
			t.Errorf("subscriber %d received %d messages %q, want %d %q", i+1, len(got), got, len(want), want)
		}
	}
}

func testOrder(t *testing.T, b bus.Bus) {
	const n = 1000
	r := newRecorder()
	subscribe(t, b, "channel.c1.message", r.handle)
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("o-%04d", i)
		publish(t, b, bus.Message{ID: want[i], Subject: "channel.c1.message", Data: []byte(want[i])})
	}
	waitUntil(t, fmt.Sprintf("%d messages", n), func() bool { return r.count() >= n })
	got := r.ids()
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("received %d messages; first out of order at %d: %q, want %q", len(got), i, got[i], want[i])
			}
		}
		t.Fatalf("received %d messages, want %d", len(got), len(want))
	}
}

func testUnsubscribe(t *testing.T, b bus.Bus) {
	r, witness := newRecorder(), newRecorder()
	sub := subscribe(t, b, "channel.c1.message", r.handle)
	subscribe(t, b, "channel.c1.message", witness.handle)
	before := newID("before")
	publish(t, b, bus.Message{ID: before, Subject: "channel.c1.message"})
	waitUntil(t, "the first message", func() bool { return r.has(before) })

	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Errorf("second Unsubscribe: %v, want nil", err)
	}
	after := newID("after")
	publish(t, b, bus.Message{ID: after, Subject: "channel.c1.message"})
	waitUntil(t, "the witness to get the second message", func() bool { return witness.has(after) })
	fence(t, b, "channel.c1.message", witness)
	if got := r.ids(); !slices.Equal(got, []string{before}) {
		t.Errorf("unsubscribed handler received %q, want only %q", got, before)
	}
}

// --- Consume ---

// publishN publishes n messages to subject and returns their IDs.
func publishN(t *testing.T, b bus.Bus, subject string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newID(fmt.Sprintf("c%d", i))
		publishRetrying(t, b, bus.Message{ID: ids[i], Subject: subject, Data: []byte(ids[i])})
	}
	return ids
}

// checkExactlyOnce waits until the recorders together have every ID in
// want, waits Settle for extra deliveries, and checks that each was handled
// exactly once across them.
func checkExactlyOnce(t *testing.T, what string, want []string, recs ...*recorder) {
	t.Helper()
	total := func() map[string]int {
		calls := make(map[string]int)
		for _, r := range recs {
			r.mu.Lock()
			for id, n := range r.calls {
				calls[id] += n
			}
			r.mu.Unlock()
		}
		return calls
	}
	waitUntil(t, fmt.Sprintf("%s to handle %d messages", what, len(want)), func() bool {
		calls := total()
		for _, id := range want {
			if calls[id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(Settle) // only to catch extra deliveries
	calls := total()
	for _, id := range want {
		if calls[id] != 1 {
			t.Errorf("%s handled %s %d times, want once", what, id, calls[id])
		}
		delete(calls, id)
	}
	if len(calls) > 0 {
		t.Errorf("%s handled unexpected messages: %v", what, calls)
	}
}

func testConsumeGroupSharesWork(t *testing.T, b bus.Bus) {
	m1, m2 := newRecorder(), newRecorder()
	consume(t, b, "task.>", "indexer", m1.handle)
	consume(t, b, "task.>", "indexer", m2.handle)
	want := publishN(t, b, "task.index", 50)
	checkExactlyOnce(t, "the group's two members", want, m1, m2)
	for _, r := range []*recorder{m1, m2} {
		for _, m := range r.messages() {
			if string(m.Data) != m.ID || m.Subject != "task.index" {
				t.Errorf("message %s arrived as %q on %q", m.ID, m.Data, m.Subject)
			}
		}
	}
}

func testConsumeGroupsEachGetAll(t *testing.T, b bus.Bus) {
	g1, g2 := newRecorder(), newRecorder()
	consume(t, b, "task.*", "search", g1.handle)
	consume(t, b, "task.>", "notify", g2.handle)
	other := newRecorder()
	consume(t, b, "other.>", "other", other.handle)
	want := publishN(t, b, "task.index", 20)
	checkExactlyOnce(t, "group search", want, g1)
	checkExactlyOnce(t, "group notify", want, g2)
	if n := other.count(); n != 0 {
		t.Errorf("group on other.> handled %d messages, want 0", n)
	}
}

func testConsumeRedelivery(t *testing.T, b bus.Bus) {
	const failures = 3
	var (
		mu    sync.Mutex
		calls = make(map[string]int)
	)
	done := newRecorder()
	consume(t, b, "task.>", "flaky", func(ctx context.Context, m bus.Message) error {
		mu.Lock()
		calls[m.ID]++
		n := calls[m.ID]
		mu.Unlock()
		if n <= failures {
			return fmt.Errorf("failure %d of %s", n, m.ID)
		}
		return done.handle(ctx, m)
	})
	want := publishN(t, b, "task.retry", 3)
	checkExactlyOnce(t, "the flaky group (counting successes)", want, done)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range want {
		if calls[id] != failures+1 {
			t.Errorf("message %s: handler called %d times, want %d (%d failures, then success)", id, calls[id], failures+1, failures)
		}
		if m, _ := done.get(id); string(m.Data) != id {
			t.Errorf("redelivered message %s has Data %q", id, m.Data)
		}
	}
}

func testConsumePanicRedelivered(t *testing.T, b bus.Bus) {
	var (
		mu       sync.Mutex
		panicked = make(map[string]bool)
	)
	done := newRecorder()
	consume(t, b, "task.>", "panicky", func(ctx context.Context, m bus.Message) error {
		mu.Lock()
		first := !panicked[m.ID]
		panicked[m.ID] = true
		mu.Unlock()
		if first {
			panic("handler bug for " + m.ID)
		}
		return done.handle(ctx, m)
	})
	want := publishN(t, b, "task.panic", 2)
	checkExactlyOnce(t, "the panicking group (counting successes)", want, done)
}

func testConsumeNewGroupStartsNow(t *testing.T, b bus.Bus) {
	old := publishN(t, b, "task.x", 3) // before the group exists
	r := newRecorder()
	consume(t, b, "task.>", "late", r.handle)
	want := publishN(t, b, "task.x", 3)
	checkExactlyOnce(t, "a group created after "+strings.Join(old, ", ")+" were published", want, r)
}

func testConsumeUnsubscribe(t *testing.T, b bus.Bus) {
	gone, stays := newRecorder(), newRecorder()
	sub := consume(t, b, "task.>", "workers", gone.handle)
	consume(t, b, "task.>", "workers", stays.handle)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Errorf("second Unsubscribe: %v, want nil", err)
	}
	want := publishN(t, b, "task.x", 20)
	checkExactlyOnce(t, "the remaining member", want, stays)
	if n := gone.count(); n != 0 {
		t.Errorf("unsubscribed member handled %d messages, want 0", n)
	}
}

func testConsumeGroupConflict(t *testing.T, b bus.Bus) {
	consume(t, b, "task.>", "g1", newRecorder().handle)
	_, err := b.Consume(t.Context(), "other.>", "g1", newRecorder().handle)
	wantErrorIs(t, "Consume with the group's pattern changed", err, bus.ErrGroupConflict)
	// The same pattern is another member, and another group may use any.
	consume(t, b, "task.>", "g1", newRecorder().handle)
	consume(t, b, "other.>", "g2", newRecorder().handle)
}

func testConcurrentPublishers(t *testing.T, b bus.Bus) {
	const publishers, each = 8, 100
	m1, m2 := newRecorder(), newRecorder()
	consume(t, b, "load.>", "load", m1.handle)
	consume(t, b, "load.>", "load", m2.handle)
	fan := newRecorder()
	subscribe(t, b, "load.>", fan.handle)

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []string
	)
	perPublisher := make([][]string, publishers)
	for p := range publishers {
		wg.Go(func() {
			subject := fmt.Sprintf("load.p%d", p)
			for i := range each {
				id := fmt.Sprintf("p%d-%03d-%s", p, i, newID("x"))
				if err := b.Publish(context.Background(), bus.Message{ID: id, Subject: subject, Data: []byte(id)}); err != nil {
					t.Errorf("publisher %d: %v", p, err)
					return
				}
				perPublisher[p] = append(perPublisher[p], id)
			}
			mu.Lock()
			all = append(all, perPublisher[p]...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	checkExactlyOnce(t, "the group", all, m1, m2)
	// The fan-out subscriber got each publisher's messages in its order.
	waitUntil(t, "the subscriber to get every message", func() bool { return fan.count() >= publishers*each })
	got := make([][]string, publishers)
	for _, id := range fan.ids() {
		var p int
		if _, err := fmt.Sscanf(id, "p%d-", &p); err == nil && p >= 0 && p < publishers {
			got[p] = append(got[p], id)
		}
	}
	for p := range publishers {
		if !slices.Equal(got[p], perPublisher[p]) {
			t.Errorf("subscriber got publisher %d's %d messages out of order or incomplete (want %d)", p, len(got[p]), len(perPublisher[p]))
		}
	}
}

// --- handlers ---

type ctxKey struct{}

func testHandlerContext(t *testing.T, b bus.Bus) {
	ctx := context.WithValue(t.Context(), ctxKey{}, "from-caller")
	type seen struct {
		value       any
		hasDeadline bool
		err         error
	}
	var (
		mu  sync.Mutex
		got = make(map[string]seen)
	)
	record := func(kind string) bus.Handler {
		return func(hctx context.Context, m bus.Message) error {
			_, ok := hctx.Deadline()
			mu.Lock()
			got[kind] = seen{hctx.Value(ctxKey{}), ok, hctx.Err()}
			mu.Unlock()
			return nil
		}
	}
	if _, err := b.Subscribe(ctx, "ctx.>", record("subscribe")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consume(ctx, "ctx.>", "ctx", record("consume")); err != nil {
		t.Fatal(err)
	}
	publish(t, b, bus.Message{ID: newID("ctx"), Subject: "ctx.x"})
	waitUntil(t, "both handlers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	for kind, s := range got {
		if s.value != "from-caller" {
			t.Errorf("%s handler context has value %v, want the caller's context values", kind, s.value)
		}
		if s.err != nil {
			t.Errorf("%s handler context is already done: %v", kind, s.err)
		}
	}
	if !got["consume"].hasDeadline {
		t.Error("consume handler context has no deadline")
	}
}

func testHandlerMayUseBus(t *testing.T, b bus.Bus) {
	final := newRecorder()
	subscribe(t, b, "step.two", final.handle)
	var (
		mu     sync.Mutex
		errs   []error
		nested []bus.Subscription
	)
	keep := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	var self bus.Subscription // under mu
	sub := subscribe(t, b, "step.one", func(ctx context.Context, m bus.Message) error {
		// Subscribe, publish and unsubscribe from inside a handler.
		sub, err := b.Subscribe(ctx, "step.three", newRecorder().handle)
		keep(err)
		if sub != nil {
			mu.Lock()
			nested = append(nested, sub)
			mu.Unlock()
			keep(sub.Unsubscribe())
		}
		keep(b.Publish(ctx, bus.Message{ID: "next-" + m.ID, Subject: "step.two"}))
		mu.Lock()
		s := self
		mu.Unlock()
		keep(s.Unsubscribe())
		return nil
	})
	mu.Lock()
	self = sub
	mu.Unlock()
	consumed := newRecorder()
	consume(t, b, "step.two", "chain", func(ctx context.Context, m bus.Message) error {
		// A Consume handler publishing too.
		keep(b.Publish(ctx, bus.Message{ID: "done-" + m.ID, Subject: "step.done"}))
		return consumed.handle(ctx, m)
	})
	finished := newRecorder()
	subscribe(t, b, "step.done", finished.handle)

	id := newID("chain")
	publish(t, b, bus.Message{ID: id, Subject: "step.one"})
	waitUntil(t, "the chained message", func() bool { return final.has("next-"+id) && finished.has("done-next-"+id) })
	mu.Lock()
	defer mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("bus calls from handlers: %v", err)
	}
	if len(nested) != 1 {
		t.Errorf("Subscribe from a handler gave %d subscriptions, want 1", len(nested))
	}
}

func testSubscriberPanicContained(t *testing.T, b bus.Bus) {
	r := newRecorder()
	subscribe(t, b, "boom.>", func(ctx context.Context, m bus.Message) error {
		if m.Subject == "boom.panic" {
			panic("subscriber bug")
		}
		return r.handle(ctx, m)
	})
	publish(t, b, bus.Message{ID: newID("p"), Subject: "boom.panic"})
	fence(t, b, "boom.after", r)
}

// --- validation ---

func testInvalidSubjects(t *testing.T, b bus.Bus) {
	for _, s := range []string{
		"", ".", "a..b", "a.", ".a", "a b", "a\tb", "a\x00", "a.*", "a.>", "*", ">", "a*", "a>b",
		"über", "a/b", "a#b", "a\\b", "a,b", strings.Repeat("a", bus.MaxSubjectSize+1),
	} {
		err := b.Publish(t.Context(), bus.Message{ID: newID("bad"), Subject: s})
		wantErrorIs(t, fmt.Sprintf("Publish to %q", s), err, bus.ErrInvalidSubject)
	}
	// The longest subject is fine.
	long := strings.Repeat("a", bus.MaxSubjectSize-2) + ".b"
	r := newRecorder()
	subscribe(t, b, "*.b", r.handle)
	fence(t, b, long, r)
}

func testInvalidPatterns(t *testing.T, b bus.Bus) {
	h := newRecorder().handle
	for _, p := range []string{
		"", ".", "a..b", "a.", ".a", "a.>.b", ">.a", "a*", "a.b*", "*a", "a >", "a.#", "a.**", "a.>>",
		"über", strings.Repeat("a", bus.MaxSubjectSize+1),
	} {
		_, err := b.Subscribe(t.Context(), p, h)
		wantErrorIs(t, fmt.Sprintf("Subscribe(%q)", p), err, bus.ErrInvalidSubject)
		_, err = b.Consume(t.Context(), p, "g", h)
		wantErrorIs(t, fmt.Sprintf("Consume(%q)", p), err, bus.ErrInvalidSubject)
	}
	for _, p := range []string{"a", "a.*", "*.b", "*", ">", "a.>", "*.*.>", "a-b_c:d.*"} {
		if _, err := b.Subscribe(t.Context(), p, h); err != nil {
			t.Errorf("Subscribe(%q): %v", p, err)
		}
	}
}

func testInvalidGroups(t *testing.T, b bus.Bus) {
	h := newRecorder().handle
	for _, g := range []string{"", "a.b", "a b", "a*", "a>", "a:b", "a/b", "grüppe", strings.Repeat("g", bus.MaxGroupSize+1)} {
		_, err := b.Consume(t.Context(), "task.>", g, h)
		wantErrorIs(t, fmt.Sprintf("Consume group %q", g), err, bus.ErrInvalidSubject)
	}
	for _, g := range []string{"g", "search-indexer", "notify_v2", strings.Repeat("g", bus.MaxGroupSize)} {
		if _, err := b.Consume(t.Context(), "task.>", g, h); err != nil {
			t.Errorf("Consume group %q: %v", g, err)
		}
	}
}

func testInvalidMessages(t *testing.T, b bus.Bus) {
	ok := func() bus.Message { return bus.Message{ID: newID("m"), Subject: "channel.c1.message"} }
	cases := map[string]func(*bus.Message){
		"empty ID":              func(m *bus.Message) { m.ID = "" },
		"long ID":               func(m *bus.Message) { m.ID = strings.Repeat("i", bus.MaxIDSize+1) },
		"ID with space":         func(m *bus.Message) { m.ID = "a b" },
		"ID with newline":       func(m *bus.Message) { m.ID = "a\r\nb" },
		"ID not ASCII":          func(m *bus.Message) { m.ID = "idé" },
		"reserved header":       func(m *bus.Message) { m.Header = map[string]string{"Nats-Msg-Id": "x"} },
		"reserved header case":  func(m *bus.Message) { m.Header = map[string]string{"nats-expected-stream": "x"} },
		"header key with space": func(m *bus.Message) { m.Header = map[string]string{"a b": "x"} },
		"header key with colon": func(m *bus.Message) { m.Header = map[string]string{"a:b": "x"} },
		"empty header key":      func(m *bus.Message) { m.Header = map[string]string{"": "x"} },
		"header value CRLF":     func(m *bus.Message) { m.Header = map[string]string{"K": "x\r\nNats-Msg-Id: y"} },
		"header value leading space": func(m *bus.Message) {
			m.Header = map[string]string{"K": " x"}
		},
		"header value trailing space": func(m *bus.Message) {
			m.Header = map[string]string{"K": "x "}
		},
		"header value not UTF-8": func(m *bus.Message) { m.Header = map[string]string{"K": "\xff"} },
		"header too large": func(m *bus.Message) {
			m.Header = map[string]string{"K": strings.Repeat("v", bus.MaxHeaderSize)}
		},
		"data too large": func(m *bus.Message) { m.Data = make([]byte, bus.MaxDataSize+1) },
	}
	r := newRecorder()
	subscribe(t, b, "channel.>", r.handle)
	for name, mutate := range cases {
		m := ok()
		mutate(&m)
		err := b.Publish(t.Context(), m)
		wantErrorIs(t, "Publish with "+name, err, bus.ErrInvalidMessage)
	}
	fence(t, b, "channel.fence", r)
	if ids := r.ids(); len(ids) != 0 {
		t.Errorf("invalid messages were delivered: %q", ids)
	}
}

func testSizeLimits(t *testing.T, b bus.Bus) {
	// The largest message of every part at once is delivered whole, by
	// both kinds of delivery.
	header := make(map[string]string)
	size := 0
	for i := 0; ; i++ {
		k := fmt.Sprintf("K%03d", i)
		v := strings.Repeat("v", 200)
		if size+len(k)+len(v)+4 > bus.MaxHeaderSize {
			break
		}
		header[k] = v
		size += len(k) + len(v) + 4
	}
	data := make([]byte, bus.MaxDataSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	id := newID("big")
	want := bus.Message{
		ID:      id + strings.Repeat("i", bus.MaxIDSize-len(id)),
		Subject: "big.payload",
		Data:    data,
		Header:  header,
	}
	sub, con := newRecorder(), newRecorder()
	subscribe(t, b, "big.>", sub.handle)
	consume(t, b, "big.>", "big", con.handle)
	publish(t, b, want)
	for kind, r := range map[string]*recorder{"Subscribe": sub, "Consume": con} {
		waitUntil(t, kind+" to get the largest message", func() bool { return r.has(want.ID) })
		got, _ := r.get(want.ID)
		if d := sameMessage(got, want); d != "" {
			t.Errorf("%s: largest message differs: %s", kind, d)
		}
	}
}

func testClosed(t *testing.T, b bus.Bus) {
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on an open bus: %v", err)
	}
	sub := subscribe(t, b, "a.>", newRecorder().handle)
	con := consume(t, b, "a.>", "a", newRecorder().handle)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	ctx := t.Context()
	wantErrorIs(t, "Publish after Close", b.Publish(ctx, bus.Message{ID: newID("late"), Subject: "a.b"}), bus.ErrClosed)
	_, err := b.Subscribe(ctx, "a.>", newRecorder().handle)
	wantErrorIs(t, "Subscribe after Close", err, bus.ErrClosed)
	_, err = b.Consume(ctx, "a.>", "a", newRecorder().handle)
	wantErrorIs(t, "Consume after Close", err, bus.ErrClosed)
	wantErrorIs(t, "Ping after Close", b.Ping(ctx), bus.ErrClosed)
	if err := sub.Unsubscribe(); err != nil {
		t.Errorf("Unsubscribe after Close: %v, want nil", err)
	}
	if err := con.Unsubscribe(); err != nil {
		t.Errorf("Unsubscribe of a Consume after Close: %v, want nil", err)
	}
}
