package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/bus/bustest"
)

func newMemory(t *testing.T, cfg bus.MemoryConfig) *bus.Memory {
	t.Helper()
	b := bus.NewMemory(cfg)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestMemoryConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Bus { return newMemory(t, bus.MemoryConfig{}) })
}

func TestMemoryRoundRobin(t *testing.T) {
	b := newMemory(t, bus.MemoryConfig{})
	var counts [3]atomic.Int32
	for i := range counts {
		if _, err := b.Consume(t.Context(), "task.>", "g", func(context.Context, bus.Message) error {
			counts[i].Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 9 {
		if err := b.Publish(t.Context(), bus.Message{ID: fmt.Sprint(i), Subject: "task.x"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range counts {
		if n := counts[i].Load(); n != 3 {
			t.Errorf("member %d handled %d of 9 messages, want 3", i, n)
		}
	}
}

var errHandler = errors.New("handler failed")

func TestMemoryPublishReturnsGroupError(t *testing.T) {
	b := newMemory(t, bus.MemoryConfig{Attempts: 4})
	var calls, fanned atomic.Int32
	if _, err := b.Consume(t.Context(), "task.>", "broken", func(context.Context, bus.Message) error {
		calls.Add(1)
		return errHandler
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consume(t.Context(), "task.>", "fine", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(t.Context(), "task.>", func(context.Context, bus.Message) error {
		fanned.Add(1)
		return errHandler // logged only
	}); err != nil {
		t.Fatal(err)
	}
	err := b.Publish(t.Context(), bus.Message{ID: "1", Subject: "task.x"})
	if !errors.Is(err, errHandler) {
		t.Fatalf("Publish: %v, want the handler's error", err)
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("failing handler called %d times, want Attempts=4", n)
	}
	if n := fanned.Load(); n != 1 {
		t.Errorf("subscriber called %d times, want 1 (its error does not fail Publish)", n)
	}
}

func TestMemoryCanceledPublish(t *testing.T) {
	b := newMemory(t, bus.MemoryConfig{})
	var calls atomic.Int32
	if _, err := b.Consume(t.Context(), "task.>", "g", func(context.Context, bus.Message) error {
		calls.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Publish(ctx, bus.Message{ID: "1", Subject: "task.x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a canceled context: %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler called %d times, want 0", n)
	}
}

func TestMemoryHandlerTimeout(t *testing.T) {
	b := newMemory(t, bus.MemoryConfig{Attempts: 2, HandlerTimeout: 20 * time.Millisecond})
	if _, err := b.Consume(t.Context(), "task.>", "slow", func(ctx context.Context, _ bus.Message) error {
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := b.Publish(t.Context(), bus.Message{ID: "1", Subject: "task.x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Publish took %s", d)
	}
}

func TestMemoryUnsubscribeCancelsHandlerContext(t *testing.T) {
	b := newMemory(t, bus.MemoryConfig{})
	var sub bus.Subscription
	var mu sync.Mutex
	var after error
	sub, err := b.Subscribe(t.Context(), "a", func(ctx context.Context, _ bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		_ = sub.Unsubscribe()
		after = ctx.Err()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(t.Context(), bus.Message{ID: "1", Subject: "a"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(after, context.Canceled) {
		t.Errorf("handler context after Unsubscribe: %v, want canceled", after)
	}
}

// TestMemoryChurn subscribes, unsubscribes and publishes from many
// goroutines at once, for the race detector.
func TestMemoryChurn(t *testing.T) {
	b := newMemory(t, bus.MemoryConfig{})
	var delivered atomic.Int64
	h := func(context.Context, bus.Message) error { delivered.Add(1); return nil }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				var sub bus.Subscription
				var err error
				if i%2 == 0 {
					sub, err = b.Subscribe(t.Context(), "churn.>", h)
				} else {
					sub, err = b.Consume(t.Context(), "churn.>", fmt.Sprintf("g%d", i%3), h)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if err := b.Publish(t.Context(), bus.Message{ID: fmt.Sprintf("%d-%d", g, i), Subject: "churn.x"}); err != nil {
					t.Error(err)
					return
				}
				if err := sub.Unsubscribe(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if delivered.Load() == 0 {
		t.Error("nothing delivered")
	}
}
