package notifytest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/quikapp/quikapp/internal/notify"
)

// BenchPersist benchmarks the persist path of one Notify fan-out step
// (benchmark S6): CreateNotification of a new row for one of 100 users,
// then UpdateStatus to delivered. s must be empty.
func BenchPersist(b *testing.B, s notify.Store) {
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		persistOnce(ctx, b, s, i)
		i++
	}
}

// BenchPersistParallel is BenchPersist from 16 goroutines per CPU, as
// many concurrent Notify calls would be.
func BenchPersistParallel(b *testing.B, s notify.Store) {
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			persistOnce(ctx, b, s, int(next.Add(1)))
		}
	})
}

func persistOnce(ctx context.Context, b *testing.B, s notify.Store, i int) {
	user := fmt.Sprint("user-", i%100)
	n := notify.Notification{
		TenantID: "bench", UserID: user, NotificationID: fmt.Sprint("n-", i),
		SubjectRef: "order/42", SubjectType: "order", Title: "Your order shipped",
		Body: "Order 42 left the warehouse and arrives tomorrow.", Channel: notify.ChannelInApp,
		Status: notify.StatusPending, CreatedAtMs: 1_700_000_000_000 + int64(i),
	}
	id, created, err := s.CreateNotification(ctx, n)
	if err != nil || !created {
		b.Fatalf("create %d: created=%v err=%v", i, created, err)
	}
	if err := s.UpdateStatus(ctx, "bench", user, id, notify.StatusDelivered, n.CreatedAtMs+1); err != nil {
		b.Fatalf("update %d: %v", i, err)
	}
}
