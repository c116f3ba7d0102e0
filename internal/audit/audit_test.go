package audit

import (
	"context"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

func TestRecordAndQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := httpapi.WithClient(context.Background(), httpapi.Client{IP: "192.0.2.1", UserAgent: "ua", RequestID: "rq"})
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 7 {
			ws := "w1"
			if i%2 == 1 {
				ws = "w2"
			}
			action := "auth.login"
			if i == 3 || i == 4 {
				action = "workspace.role_changed"
			}
			err := db.InTx(ctx, func(tx *store.Tx) error {
				return Record(ctx, tx, Entry{At: base.Add(time.Duration(i) * time.Minute), WorkspaceID: ws, ActorID: "u1",
					Action: action, Result: Success})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// A rolled-back change leaves no entry.
		_ = db.InTx(ctx, func(tx *store.Tx) error {
			_ = Record(ctx, tx, Entry{Action: "auth.login", WorkspaceID: "w1", Result: Success})
			return context.Canceled
		})
		got, next, err := Query(ctx, db, Filter{WorkspaceID: "w1", Limit: 2})
		if err != nil || len(got) != 2 || next == "" {
			t.Fatalf("page 1: %d %q %v", len(got), next, err)
		}
		if !got[0].At.After(got[1].At) || got[0].IP != "192.0.2.1" || got[0].RequestID != "rq" {
			t.Fatalf("order or client fields wrong: %+v", got)
		}
		rest, next2, err := Query(ctx, db, Filter{WorkspaceID: "w1", Limit: 2, Cursor: next})
		if err != nil || len(rest) != 2 || next2 != "" {
			t.Fatalf("page 2: %d %q %v", len(rest), next2, err)
		}
		if rest[0].ID == got[1].ID {
			t.Fatal("page 2 repeats page 1")
		}
		all, _, _ := Query(ctx, db, Filter{AllWorkspaces: true, Action: "workspace."})
		if len(all) != 2 {
			t.Fatalf("prefix filter: %d", len(all))
		}
		none, _, _ := Query(ctx, db, Filter{WorkspaceID: ""})
		if len(none) != 0 {
			t.Fatalf("empty workspace without AllWorkspaces returned %d entries", len(none))
		}
		since, _, _ := Query(ctx, db, Filter{AllWorkspaces: true, Since: base.Add(5 * time.Minute)})
		if len(since) != 2 {
			t.Fatalf("since: %d", len(since))
		}
		if _, _, err := Query(ctx, db, Filter{Cursor: "!!"}); err == nil {
			t.Fatal("bad cursor accepted")
		}
	}, Migrations)
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "@x": "'@x", "ok": "ok", "": "", "-2": "'-2"} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q", in, got)
		}
	}
}
