package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// The page query walks notify_notifications_user_created in order (no sort
// step) and the unread count uses the partial index, on both databases.
func TestQueryPlansUseIndexes(t *testing.T) {
	for _, driver := range storetest.Drivers {
		t.Run(driver, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db := storetest.Open(t, driver)
			if err := db.Migrate(ctx, Migrations); err != nil {
				t.Fatal(err)
			}
			s := New(db)
			for u := range 20 {
				for i := range 20 {
					n := notify.Notification{TenantID: "acme", UserID: fmt.Sprint("u", u), NotificationID: fmt.Sprint("n", i),
						Status: notify.StatusPending, CreatedAtMs: int64(i)}
					if _, _, err := s.CreateNotification(ctx, n); err != nil {
						t.Fatal(err)
					}
				}
			}
			if driver == store.Postgres {
				// A big inbox and real statistics, as in production: with a
				// handful of rows per user the planner rightly prefers to sort.
				if _, err := db.ExecContext(ctx, `INSERT INTO notify_notifications
					(id, tenant_id, user_id, notification_id, status, created_at_ms)
					SELECT gen_random_uuid(), 'acme', 'u1', 'bulk' || g,
						CASE WHEN g % 5 = 0 THEN 'read' ELSE 'pending' END, g
					FROM generate_series(100, 20000) AS g`); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, "ANALYZE notify_notifications"); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []notify.Query{
				{TenantID: "acme", UserID: "u1", Limit: 20},
				{TenantID: "acme", UserID: "u1", Limit: 20, Before: 10000},
				{TenantID: "acme", UserID: "u1", Limit: 20, Before: 10000, UnreadOnly: true},
			} {
				query, args := pageQuery(q, q.Limit+1)
				plan := explain(ctx, t, db, query, args...)
				t.Logf("%+v:\n%s", q, plan)
				if !strings.Contains(plan, "notify_notifications_user_created") {
					t.Errorf("%+v: page query does not use notify_notifications_user_created:\n%s", q, plan)
				}
				if strings.Contains(plan, "Sort") || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("%+v: page query sorts instead of walking the index:\n%s", q, plan)
				}
			}
			plan := explain(ctx, t, db, unreadQuery, "acme", "u1")
			t.Logf("unread count:\n%s", plan)
			if !strings.Contains(plan, "notify_notifications_user_unread") {
				t.Errorf("unread count does not use notify_notifications_user_unread:\n%s", plan)
			}
		})
	}
}

// explain returns the query plan as text. On PostgreSQL sequential scans
// are disabled for the transaction, so a tiny table still shows which index
// the planner can use.
func explain(ctx context.Context, t *testing.T, db *store.DB, query string, args ...any) string {
	t.Helper()
	var lines []string
	err := db.InTx(ctx, func(tx *store.Tx) error {
		prefix := "EXPLAIN QUERY PLAN "
		if db.Driver() == store.Postgres {
			prefix = "EXPLAIN "
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, prefix+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(lines, "\n")
}
