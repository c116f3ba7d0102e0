package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/notifytest"
	"github.com/quikapp/quikapp/internal/notify/sqlstore"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// newStore returns a sqlstore over a fresh, migrated database on driver.
func newStore(t testing.TB, driver string) *sqlstore.Store {
	t.Helper()
	db := storetest.Open(t, driver)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.Migrate(ctx, sqlstore.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return sqlstore.New(db)
}

func TestConformanceSQLite(t *testing.T) {
	notifytest.Run(t, func(t *testing.T) notify.Store { return newStore(t, store.SQLite) })
}

func TestConformancePostgres(t *testing.T) {
	notifytest.Run(t, func(t *testing.T) notify.Store { return newStore(t, store.Postgres) })
}
