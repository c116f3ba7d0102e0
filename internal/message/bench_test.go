package message_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/inbox"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/search"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
	"github.com/quikapp/quikapp/internal/workspace"
)

// fixture is a workspace whose #general holds n messages, written
// straight into the tables (setting up a million through the API would
// take longer than the benchmarks), plus the services to measure.
type fixture struct {
	db      *store.DB
	svc     *message.Service
	general string
	reader  access.Actor // a member who has read nothing
	writer  access.Actor
	n       int
	checker *access.Checker
}

type names struct{}

func (names) DisplayNames(context.Context, []string) (map[string]string, error) {
	return map[string]string{}, nil
}
func (names) Email(context.Context, string) (string, error) { return "", nil }

func messagesWanted() int {
	if s := os.Getenv("QUIKAPP_BENCH_MESSAGES"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

func setup(b *testing.B, driver string) *fixture {
	ctx := context.Background()
	db := storetest.Open(b, driver)
	if err := db.Migrate(ctx, outbox.Migrations, audit.Migrations, workspace.Migrations, channel.Migrations, message.Migrations, inbox.Migrations); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ws := workspace.New(workspace.Config{DB: db, Log: log, People: names{}})
	checker := access.NewChecker(ws)
	ws.SetChecker(checker)
	chans := channel.New(db, log, checker, ws, nil)
	writer, reader := access.Actor{UserID: "writer"}, access.Actor{UserID: "reader"}
	w, err := ws.Create(ctx, writer, "Bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	list, err := chans.List(ctx, writer, w.ID)
	if err != nil || len(list) != 1 {
		b.Fatalf("channels: %v %v", list, err)
	}
	general := list[0].ID
	n := messagesWanted()
	start := time.Now()
	err = db.InTx(ctx, func(tx *store.Tx) error {
		for _, q := range []string{
			"INSERT INTO workspace_members (workspace_id, user_id, role, joined_ms) VALUES ('" + w.ID + "', 'reader', 2, 0)",
			"INSERT INTO channel_members (channel_id, user_id, joined_ms) VALUES ('" + general + "', 'reader', 0)",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		series := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " + strconv.Itoa(n) + ") "
		from := " FROM c"
		if driver == store.Postgres {
			series, from = "", " FROM generate_series(1, "+strconv.Itoa(n)+") AS c(x)"
		}
		if _, err := tx.ExecContext(ctx, series+`INSERT INTO messages (id, channel_id, seq, author_id, text, created_ms)
			SELECT 'bench-' || x, '`+general+`', x, 'writer', 'message number ' || x || ' about the quarterly plan', x`+from); err != nil {
			return fmt.Errorf("fill messages: %w", err)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO channel_counters (channel_id, last_seq) VALUES (?, ?)", general, n)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if driver == store.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE messages"); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: %d messages written in %s", driver, n, time.Since(start).Round(time.Millisecond))
	f := &fixture{db: db, svc: message.New(db, log, checker, chans, nil), general: general, reader: reader, writer: writer, n: n, checker: checker}
	return f
}

// BenchmarkS8 measures, per database, over a channel of n messages
// (QUIKAPP_BENCH_MESSAGES, 1,000,000 by default): a 50-message history
// page before a random point, the sidebar counts of a member who has read
// nothing (the count stops at its cap), two searches, and sending a
// message.
func BenchmarkS8(b *testing.B) {
	for _, d := range storetest.Drivers {
		b.Run(d, func(b *testing.B) {
			f := setup(b, d)
			ctx := context.Background()
			b.Run("history_page", func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				for b.Loop() {
					before := "bench-" + strconv.Itoa(100+r.IntN(f.n-100))
					items, _, err := f.svc.History(ctx, f.reader, f.general, message.Page{Before: before, Limit: 50})
					if err != nil || len(items) != 50 {
						b.Fatalf("page: %d items, %v", len(items), err)
					}
				}
			})
			b.Run("unread_counts", func(b *testing.B) {
				ws, err := f.svc.Channel(ctx, f.reader, f.general)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					items, _, err := f.svc.Sidebar(ctx, f.reader, ws)
					if err != nil || len(items) != 1 || items[0].UnreadCount == 0 {
						b.Fatalf("sidebar: %+v %v", items, err)
					}
				}
			})
			// Search over the same channel through the search service: a
			// selective query (a few hits) and a common word (every message
			// matches; newest first, one page).
			finder := &search.Service{DB: f.db, Access: f.checker, Messages: f.svc}
			ws, err := f.svc.Channel(ctx, f.reader, f.general)
			if err != nil {
				b.Fatal(err)
			}
			for name, q := range map[string]string{"search_selective": "number " + strconv.Itoa(f.n/2+7), "search_common": "quarterly"} {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						items, _, err := finder.Search(ctx, f.reader, search.Request{WorkspaceID: ws, Query: q, Limit: 20})
						if err != nil || len(items) == 0 {
							b.Fatalf("search %q: %d items, %v", q, len(items), err)
						}
					}
				})
			}
			b.Run("send", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if _, _, err := f.svc.Post(ctx, f.writer, f.general, "benchmark message "+strconv.Itoa(i), "", "", false); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
