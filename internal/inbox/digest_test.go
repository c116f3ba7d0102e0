package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

func TestInQuietHours(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	at := func(h, m int) time.Time { return time.Date(2026, 6, 1, h, m, 0, 0, paris) }
	cases := []struct {
		t        time.Time
		from, to string
		want     bool
	}{
		{at(23, 0), "22:00", "07:00", true},
		{at(6, 59), "22:00", "07:00", true},
		{at(7, 0), "22:00", "07:00", false},
		{at(12, 0), "22:00", "07:00", false},
		{at(13, 0), "12:00", "14:00", true},
		{at(14, 0), "12:00", "14:00", false},
		{at(13, 0), "", "", false},
	}
	for _, c := range cases {
		if got := inQuietHours(c.t.UTC(), c.from, c.to, paris); got != c.want {
			t.Errorf("%s in %s–%s: %v", c.t.Format("15:04"), c.from, c.to, got)
		}
	}
}

// Every node runs the digest: two running at once still email each person
// once.
func TestDigestOnceAcrossNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		for i := range 3 {
			_, err := db.ExecContext(t.Context(), `INSERT INTO notifications (id, user_id, workspace_id, kind, channel_id, message_id, actor_id, snippet, created_ms)
				VALUES (?, 'u1', 'w1', ?, 'c1', ?, 'u2', 'hello', ?)`, fmt.Sprint("n", i), Mention, fmt.Sprint("m", i), now.Add(-time.Hour).UnixMilli())
			if err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		var sent []string
		node := func() *Digest {
			return &Digest{
				Service: &Service{DB: db, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }},
				Delay:   30 * time.Minute,
				Recipient: func(context.Context, string) (Recipient, error) {
					return Recipient{Email: "ann@example.com", Level: "all"}, nil
				},
				Send: func(_ context.Context, to, subject, _ string) error {
					time.Sleep(50 * time.Millisecond) // a slow mail server: the runs overlap
					mu.Lock()
					sent = append(sent, to+": "+subject)
					mu.Unlock()
					return nil
				},
			}
		}
		var wg sync.WaitGroup
		for range 4 {
			d := node()
			wg.Go(func() {
				if _, err := d.Run(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(sent) != 1 || sent[0] != "ann@example.com: 3 unread on QuikApp" {
			t.Fatalf("emails: %q, want one", sent)
		}
		// Settled: a later round sends nothing, though the lease is back.
		if n, err := node().Run(t.Context()); err != nil || n != 0 {
			t.Fatalf("a later round sent %d (%v)", n, err)
		}
	}, Migrations)
}
