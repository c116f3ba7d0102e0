package notifyd

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/memstore"
	"github.com/quikapp/quikapp/internal/notify/sqlstore"
	"github.com/quikapp/quikapp/internal/store"
)

// openStore opens the configured driver; the returned close func (nil for
// memory) releases the database after the store. PostgreSQL migrations
// run under upstream's ledger and advisory lock, so an upstream database
// is adopted in place and several replicas may start at once.
func openStore(ctx context.Context, cfg StoreConfig, log *slog.Logger) (notify.Store, func() error, error) {
	if cfg.Driver == DriverMemory {
		return memstore.New(), nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sc := store.Config{URL: cfg.PostgresDSN}
	migrate := cfg.PostgresAutoMigrate
	if cfg.Driver == DriverSQLite {
		sc = store.Config{SQLitePath: cfg.SQLitePath}
		migrate = true // nobody else migrates a private SQLite file
	}
	db, err := store.Open(ctx, sc)
	if err != nil {
		return nil, nil, fmt.Errorf("notifyd: open %s store: %w", cfg.Driver, err)
	}
	if migrate {
		start := time.Now()
		if err := db.Migrate(ctx, sqlstore.Migrations); err != nil {
			_ = db.Close()
			return nil, nil, fmt.Errorf("notifyd: migrate %s store: %w", cfg.Driver, err)
		}
		log.Info("notifyd_migrated", "store", cfg.Driver, "took", time.Since(start).String())
	} else if err := sqlstore.CheckSchema(ctx, db); err != nil {
		// Fail at start, not at the first request, and say what to do.
		_ = db.Close()
		return nil, nil, fmt.Errorf("notifyd: NOTIFY_POSTGRES_AUTOMIGRATE=false but the database is not migrated "+
			"(start once with NOTIFY_POSTGRES_AUTOMIGRATE=true, or with upstream notify): %w", err)
	}
	return sqlstore.New(db), db.Close, nil
}
