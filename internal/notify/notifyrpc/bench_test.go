package notifyrpc_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/internal/notify"
)

// Benchmark S6, in-process half: one Notify for one of 1,000 users who
// each hold a live session; the row is persisted (create + status update)
// and the event queued to the session, which a reader drains. Reported as
// notifications/s (persisted and delivered) per store driver.
func BenchmarkEngineNotifyLive(b *testing.B) {
	for _, d := range drivers {
		b.Run(d, func(b *testing.B) {
			e := newEnvB(b, d)
			const users = 1000
			var got atomic.Int64
			for u := range users {
				s, err := e.hub.Open("bench", fmt.Sprint("u", u), notify.DeviceBrowser)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for range s.Events() {
						got.Add(1)
					}
				}()
			}
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16) // many producers at once, as in production
			b.ResetTimer()
			b.RunParallel(func(p *testing.PB) {
				for p.Next() {
					i := n.Add(1)
					c, err := e.engine.Notify(ctx, notify.Request{TenantID: "bench", NotificationID: fmt.Sprint("n", i),
						UserIDs: []string{fmt.Sprint("u", i%users)}, Title: "Your order shipped", Body: "Order 42 left the warehouse."})
					if err != nil || c.Delivered != 1 {
						b.Fatalf("notify %d: %+v %v", i, c, err)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
		})
	}
}

// Benchmark S6, over the wire: Notify over Connect (binary, HTTP/1.1 on
// loopback) to users with open StreamEvents streams, counted when the
// event reaches the client.
func BenchmarkRPCNotifyLive(b *testing.B) {
	for _, d := range drivers {
		b.Run(d, func(b *testing.B) {
			e := newEnvB(b, d)
			const users = 100
			received := make(chan struct{}, 1<<16)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for u := range users {
				st, err := e.client.StreamEvents(ctx, as(fmt.Sprint("u", u), "bench", &pb.StreamEventsRequest{}))
				if err != nil || !st.Receive() {
					b.Fatalf("stream: %v", err)
				}
				go func() {
					for st.Receive() {
						if st.Msg().GetNotification() != nil {
							received <- struct{}{}
						}
					}
				}()
			}
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(p *testing.PB) {
				for p.Next() {
					i := n.Add(1)
					_, err := e.internal.Notify(ctx, internalReq(&pb.NotifyRequest{TenantId: "bench", NotificationId: fmt.Sprint("n", i),
						UserIds: []string{fmt.Sprint("u", i%users)}, Title: "Your order shipped", Body: "Order 42 left the warehouse."}))
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			for range b.N {
				<-received
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
		})
	}
}
