package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/bus/bustest"
)

func natsURL() string { return bustest.NATSURL() }

func requireNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return bustest.RequireNATS(t)
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// testNamespace is a prefix and a stream of the test's own, the stream
// deleted when the test ends.
type testNamespace struct{ prefix, stream string }

func newNamespace(t *testing.T) testNamespace {
	t.Helper()
	_, js := requireNATS(t)
	r := randomHex()
	ns := testNamespace{prefix: "test" + r, stream: "TEST_" + r}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, ns.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", ns.stream, err)
		}
	})
	return ns
}

// testLogger shows the bus's warnings with -v only.
func testLogger() *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newNATS(t *testing.T, ns testNamespace, tweak ...func(*bus.NATSConfig)) *bus.NATS {
	t.Helper()
	cfg := bus.NATSConfig{
		URL:             natsURL(),
		Name:            "quikapp-test",
		Prefix:          ns.prefix,
		Stream:          ns.stream,
		MaxAge:          time.Hour,
		AckWait:         5 * time.Second,
		RedeliveryDelay: 20 * time.Millisecond,
		DrainTimeout:    2 * time.Second,
		Logger:          testLogger(),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b, err := bus.NewNATS(ctx, cfg)
	if err != nil {
		t.Fatalf("NewNATS: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestNATSConformance(t *testing.T) {
	requireNATS(t)
	bustest.Run(t, func(t *testing.T) bus.Bus { return newNATS(t, newNamespace(t)) })
}

// waitFor polls cond for up to bustest.WaitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bustest.WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// idSet is a concurrency-safe record of handled message IDs.
type idSet struct {
	mu  sync.Mutex
	ids []string
}

func (s *idSet) handle(_ context.Context, m bus.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, m.ID)
	return nil
}

func (s *idSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

func (s *idSet) has(id string) bool { return slices.Contains(s.list(), id) }

func mustPublish(t *testing.T, b bus.Bus, subject, id string) {
	t.Helper()
	if err := b.Publish(t.Context(), bus.Message{ID: id, Subject: subject, Data: []byte(id)}); err != nil {
		t.Fatalf("Publish %s: %v", id, err)
	}
}

// TestNATSDurableGroupSurvivesRestart: messages published while no member
// of a group runs reach the group when a new process starts consuming.
func TestNATSDurableGroupSurvivesRestart(t *testing.T) {
	ns := newNamespace(t)
	first := newNATS(t, ns)
	var before idSet
	sub, err := first.Consume(t.Context(), "task.>", "indexer", before.handle)
	if err != nil {
		t.Fatal(err)
	}
	mustPublish(t, first, "task.a", "m0")
	waitFor(t, "m0", func() bool { return before.has("m0") })
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	// No member runs now.
	for _, id := range []string{"m1", "m2", "m3"} {
		mustPublish(t, first, "task.a", id)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := newNATS(t, ns)
	var after idSet
	if _, err := second.Consume(t.Context(), "task.>", "indexer", after.handle); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, second, "task.a", "m4")
	// One member handles the stream in order: m4 last.
	waitFor(t, "m4", func() bool { return after.has("m4") })
	if got, want := after.list(), []string{"m1", "m2", "m3", "m4"}; !slices.Equal(got, want) {
		t.Errorf("after the restart the group handled %q, want %q", got, want)
	}
	if got := before.list(); !slices.Equal(got, []string{"m0"}) {
		t.Errorf("before the restart the group handled %q, want [m0]", got)
	}
}

// TestNATSTwoNodes: two buses on one prefix are two nodes of one install.
func TestNATSTwoNodes(t *testing.T) {
	ns := newNamespace(t)
	a, b := newNATS(t, ns), newNATS(t, ns)
	var onA, onB, fanA, fanB idSet
	for _, c := range []struct {
		b bus.Bus
		s *idSet
	}{{a, &onA}, {b, &onB}} {
		if _, err := c.b.Consume(t.Context(), "task.>", "workers", c.s.handle); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Subscribe(t.Context(), "task.>", fanA.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(t.Context(), "task.>", fanB.handle); err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		from := a
		if i%2 == 1 {
			from = b
		}
		mustPublish(t, from, "task.x", fmt.Sprintf("m%03d", i))
	}
	waitFor(t, "both nodes' subscribers to see every message", func() bool {
		return len(fanA.list()) == n && len(fanB.list()) == n
	})
	waitFor(t, "the group to handle every message", func() bool { return len(onA.list())+len(onB.list()) >= n })
	time.Sleep(bustest.Settle) // only to catch extra deliveries
	all := append(onA.list(), onB.list()...)
	slices.Sort(all)
	if len(slices.Compact(all)) != n || len(onA.list())+len(onB.list()) != n {
		t.Errorf("group across two nodes handled %d messages (%d distinct), want each of %d once",
			len(onA.list())+len(onB.list()), len(slices.Compact(all)), n)
	}
}

// TestNATSDedupesOnID: JetStream keeps one copy of an ID within its window,
// so a Consume group handles it once even if the relay publishes it twice.
func TestNATSDedupesOnID(t *testing.T) {
	b := newNATS(t, newNamespace(t))
	var got idSet
	if _, err := b.Consume(t.Context(), "task.>", "g", got.handle); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, "task.x", "same")
	mustPublish(t, b, "task.x", "same")
	mustPublish(t, b, "task.x", "next")
	// One member handles the stream in order: a second "same" would
	// come before "next".
	waitFor(t, "next", func() bool { return got.has("next") })
	if ids := got.list(); !slices.Equal(ids, []string{"same", "next"}) {
		t.Errorf("handled %q, want [same next]", ids)
	}
}

// TestNATSMaxDeliver: a message that always fails is given up after
// MaxDeliver deliveries and does not hold up the rest.
func TestNATSMaxDeliver(t *testing.T) {
	ns := newNamespace(t)
	b := newNATS(t, ns, func(c *bus.NATSConfig) { c.MaxDeliver = 3 })
	var bad atomic.Int32
	var good idSet
	if _, err := b.Consume(t.Context(), "task.>", "g", func(ctx context.Context, m bus.Message) error {
		if m.ID == "poison" {
			bad.Add(1)
			return errors.New("cannot handle")
		}
		return good.handle(ctx, m)
	}); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, "task.x", "poison")
	mustPublish(t, b, "task.x", "fine")
	waitFor(t, "the good message", func() bool { return good.has("fine") })
	waitFor(t, "three deliveries of the poison message", func() bool { return bad.Load() >= 3 })

	_, js := requireNATS(t)
	waitFor(t, "nothing pending for the group", func() bool {
		c, err := js.Consumer(t.Context(), ns.stream, "g")
		if err != nil {
			t.Fatal(err)
		}
		info := c.CachedInfo()
		return info.NumAckPending == 0 && info.NumPending == 0
	})
	time.Sleep(bustest.Settle) // only to catch a fourth delivery
	if n := bad.Load(); n != 3 {
		t.Errorf("poison message delivered %d times, want MaxDeliver=3", n)
	}
}

// TestNATSConsumerNameConflictAcrossNodes: a group's pattern is fixed by
// its durable consumer, even for another process.
func TestNATSConsumerNameConflictAcrossNodes(t *testing.T) {
	ns := newNamespace(t)
	a, b := newNATS(t, ns), newNATS(t, ns)
	if _, err := a.Consume(t.Context(), "task.>", "g", (&idSet{}).handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consume(t.Context(), "other.>", "g", (&idSet{}).handle); !errors.Is(err, bus.ErrGroupConflict) {
		t.Errorf("Consume with another pattern on another node: %v, want ErrGroupConflict", err)
	}
}

func TestNATSUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := bus.NewNATS(ctx, bus.NATSConfig{URL: "nats://someone:hunter2@127.0.0.1:1", Logger: testLogger()})
	if err == nil {
		t.Fatal("NewNATS to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error does not name the server: %v", err)
	}
}

func TestNATSConfigValidation(t *testing.T) {
	for _, cfg := range []bus.NATSConfig{
		{Prefix: "a.*"},
		{Prefix: "a..b"},
		{Stream: "a.b"},
		{Stream: "a b"},
	} {
		if _, err := bus.NewNATS(t.Context(), cfg); err == nil {
			t.Errorf("NewNATS(%+v) succeeded", cfg)
		}
	}
}

func TestNATSLogsToInjectedLogger(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	b := newNATS(t, newNamespace(t), func(c *bus.NATSConfig) { c.Logger = log })
	var done atomic.Bool
	if _, err := b.Subscribe(t.Context(), "x", func(context.Context, bus.Message) error {
		done.Store(true)
		return errors.New("subscriber says no")
	}); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, "x", "m1")
	waitFor(t, "the log line", func() bool { return strings.Contains(buf.String(), "subscriber says no") })
	if s := buf.String(); !strings.Contains(s, `"message_id":"m1"`) || !strings.Contains(s, `"subject":"x"`) {
		t.Errorf("log line lacks the message's fields: %s", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// privateServer runs a nats-server of the test's own, which the test may
// stop and start again (the shared one on 4222 must stay up).
type privateServer struct {
	t    *testing.T
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			t.Skip("no nats-server binary for a private server: ", err)
		}
		bin = "/usr/sbin/nats-server"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &privateServer{t: t, bin: bin, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *privateServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

func (s *privateServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-js", "-sd", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	waitFor(s.t, "the private nats-server to listen", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 100*time.Millisecond)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})
}

func (s *privateServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// TestNATSReconnect: after the server restarts, the bus reconnects by
// itself, says so in the log, and both kinds of delivery resume.
func TestNATSReconnect(t *testing.T) {
	srv := startPrivateServer(t)
	var logs syncBuffer
	b := newNATS(t, testNamespace{prefix: "quikapp", stream: "QUIKAPP_EVENTS"}, func(c *bus.NATSConfig) {
		c.URL = srv.url()
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Options = []nats.Option{nats.ReconnectWait(50 * time.Millisecond)}
	})
	var consumed, fanned idSet
	if _, err := b.Consume(t.Context(), "task.>", "g", consumed.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(t.Context(), "task.>", fanned.handle); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, b, "task.x", "before")
	waitFor(t, "the first message", func() bool { return consumed.has("before") && fanned.has("before") })

	srv.stop()
	waitFor(t, "Ping to fail", func() bool { return b.Ping(t.Context()) != nil })
	srv.start()
	waitFor(t, "Ping to succeed again", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return b.Ping(ctx) == nil
	})
	mustPublish(t, b, "task.x", "after")
	waitFor(t, "the message after the restart", func() bool { return consumed.has("after") && fanned.has("after") })
	for _, want := range []string{"bus: disconnected from NATS", "bus: reconnected to NATS"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
