package outbox_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is a Publisher that remembers what it was given and can be told
// to fail.
type recorder struct {
	mu     sync.Mutex
	got    []bus.Message
	failAt int // fail the n-th publish (1-based); 0 never
	calls  int
}

func (r *recorder) Publish(_ context.Context, m bus.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failAt > 0 && r.calls == r.failAt {
		return errors.New("bus unavailable")
	}
	r.got = append(r.got, m)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.got))
	for i, m := range r.got {
		out[i] = m.ID
	}
	return out
}

func addEvents(t *testing.T, db *store.DB, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			return outbox.Add(ctx, tx, bus.Message{
				ID: fmt.Sprintf("%s-%04d", prefix, i), Subject: "channel.c1.message",
				Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), Header: map[string]string{"type": "message.created"},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t.Run("PublishesInOrderAndDeletes", func(t *testing.T) {
			addEvents(t, db, "order", 600) // more than one batch
			rec := &recorder{}
			relay := outbox.NewRelay(db, rec, discard, outbox.RelayConfig{Batch: 256})
			n, err := relay.Flush(ctx)
			if err != nil || n != 600 {
				t.Fatalf("Flush = %d, %v", n, err)
			}
			ids := rec.ids()
			for i, id := range ids {
				if want := fmt.Sprintf("order-%04d", i); id != want {
					t.Fatalf("event %d = %s, want %s (order broken)", i, id, want)
				}
			}
			m := rec.got[7]
			if string(m.Data) != `{"n":7}` || m.Header["type"] != "message.created" || m.Subject != "channel.c1.message" {
				t.Fatalf("event content changed: %+v", m)
			}
			if n, _ := relay.Flush(ctx); n != 0 {
				t.Fatalf("second Flush published %d again", n)
			}
		})
		t.Run("RolledBackEventsAreNeverPublished", func(t *testing.T) {
			err := db.InTx(ctx, func(tx *store.Tx) error {
				if err := outbox.Add(ctx, tx, bus.Message{ID: "rb-1", Subject: "x.y", Data: []byte("{}")}); err != nil {
					return err
				}
				return errors.New("the change failed")
			})
			if err == nil {
				t.Fatal("want the transaction's error")
			}
			rec := &recorder{}
			if _, err := outbox.NewRelay(db, rec, discard, outbox.RelayConfig{}).Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if len(rec.got) != 0 {
				t.Fatalf("published %v from a rolled-back transaction", rec.ids())
			}
		})
		t.Run("FailedPublishIsRetriedWithoutLoss", func(t *testing.T) {
			addEvents(t, db, "retry", 10)
			rec := &recorder{failAt: 4}
			relay := outbox.NewRelay(db, rec, discard, outbox.RelayConfig{})
			n, err := relay.Flush(ctx)
			if err == nil || n != 3 {
				t.Fatalf("first Flush = %d, %v; want 3 and the bus error", n, err)
			}
			n, err = relay.Flush(ctx)
			if err != nil || n != 7 {
				t.Fatalf("second Flush = %d, %v; want the remaining 7", n, err)
			}
			if got := strings.Join(rec.ids(), ","); got != "retry-0000,retry-0001,retry-0002,retry-0003,retry-0004,retry-0005,retry-0006,retry-0007,retry-0008,retry-0009" {
				t.Fatalf("published %s", got)
			}
		})
		t.Run("DuplicateEventIDIsAConflict", func(t *testing.T) {
			add := func() error {
				return db.InTx(ctx, func(tx *store.Tx) error {
					return outbox.Add(ctx, tx, bus.Message{ID: "dup", Subject: "a.b", Data: []byte("1")})
				})
			}
			if err := add(); err != nil {
				t.Fatal(err)
			}
			if err := add(); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second add = %v, want ErrConflict", err)
			}
			_, _ = outbox.NewRelay(db, &recorder{}, discard, outbox.RelayConfig{}).Flush(ctx)
		})
		t.Run("CommitWakesTheRelay", func(t *testing.T) {
			b := bus.NewMemory(bus.MemoryConfig{})
			got := make(chan bus.Message, 1)
			if _, err := b.Subscribe(ctx, "wake.>", func(_ context.Context, m bus.Message) error { got <- m; return nil }); err != nil {
				t.Fatal(err)
			}
			// A long interval: only the commit hook can deliver in time.
			relay := outbox.NewRelay(db, b, discard, outbox.RelayConfig{Interval: time.Hour})
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = relay.Run(runCtx); close(done) }()
			defer func() { stop(); <-done }()
			time.Sleep(50 * time.Millisecond) // let the first (empty) pass finish
			if err := db.InTx(ctx, func(tx *store.Tx) error {
				return outbox.Add(ctx, tx, bus.Message{ID: "wake-1", Subject: "wake.up", Data: []byte("hi")})
			}); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-got:
				if m.ID != "wake-1" || string(m.Data) != "hi" {
					t.Fatalf("got %+v", m)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("commit did not wake the relay")
			}
		})
		t.Run("InvalidEventsRejected", func(t *testing.T) {
			err := db.InTx(ctx, func(tx *store.Tx) error {
				return outbox.Add(ctx, tx, bus.Message{Subject: "no.id"})
			})
			if err == nil {
				t.Fatal("event without id accepted")
			}
		})
	}, outbox.Migrations)
}

// The crash test: a child process commits events and starts relaying them
// through a slow publisher that logs each publish to a file; the parent
// kills it with SIGKILL mid-way. A new relay must then publish every event
// the child did not: the union covers all of them.
func TestOutboxSurvivesCrashBetweenCommitAndPublish(t *testing.T) {
	if os.Getenv("OUTBOX_CRASH_CHILD") == "1" {
		crashChild()
		return
	}
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			cfg := storetest.Config(t, driver)
			published := filepath.Join(t.TempDir(), "published.log")
			const total = 200

			cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxSurvivesCrashBetweenCommitAndPublish$")
			cmd.Env = append(os.Environ(), "OUTBOX_CRASH_CHILD=1",
				"OUTBOX_DB_URL="+cfg.URL, "OUTBOX_DB_PATH="+cfg.SQLitePath,
				"OUTBOX_PUBLISHED="+published, fmt.Sprint("OUTBOX_TOTAL=", total))
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the child has committed everything and published some.
			sc := bufio.NewScanner(stdout)
			for sc.Scan() && sc.Text() != "committed" {
			}
			deadline := time.Now().Add(20 * time.Second)
			for countLines(published) < 20 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			before := readLines(published)
			if len(before) >= total {
				t.Fatalf("child published all %d before the kill; the test proves nothing", total)
			}

			db, err := store.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rec := &recorder{}
			if _, err := outbox.NewRelay(db, rec, discard, outbox.RelayConfig{}).Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, id := range append(before, rec.ids()...) {
				seen[id] = true
			}
			for i := range total {
				if id := fmt.Sprintf("crash-%04d", i); !seen[id] {
					t.Fatalf("event %s lost in the crash (child published %d, recovery %d)", id, len(before), len(rec.got))
				}
			}
			t.Logf("child published %d before SIGKILL; recovery published %d", len(before), len(rec.got))
		})
	}
}

func crashChild() {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: os.Getenv("OUTBOX_DB_URL"), SQLitePath: os.Getenv("OUTBOX_DB_PATH")})
	if err != nil {
		panic(err)
	}
	if err := db.Migrate(ctx, outbox.Migrations); err != nil {
		panic(err)
	}
	var total int
	fmt.Sscan(os.Getenv("OUTBOX_TOTAL"), &total)
	for i := range total {
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			return outbox.Add(ctx, tx, bus.Message{ID: fmt.Sprintf("crash-%04d", i), Subject: "crash.test", Data: []byte("x")})
		}); err != nil {
			panic(err)
		}
	}
	fmt.Println("committed")
	f, err := os.OpenFile(os.Getenv("OUTBOX_PUBLISHED"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		panic(err)
	}
	pub := publisherFunc(func(_ context.Context, m bus.Message) error {
		time.Sleep(2 * time.Millisecond)
		_, err := fmt.Fprintln(f, m.ID)
		if err == nil {
			err = f.Sync()
		}
		return err
	})
	_ = outbox.NewRelay(db, pub, discard, outbox.RelayConfig{Batch: 16}).Run(ctx) // killed mid-way
}

type publisherFunc func(context.Context, bus.Message) error

func (f publisherFunc) Publish(ctx context.Context, m bus.Message) error { return f(ctx, m) }

func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

func countLines(path string) int { return len(readLines(path)) }
