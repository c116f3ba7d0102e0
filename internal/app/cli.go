package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/platform/env"
	"github.com/quikapp/quikapp/internal/store"
)

// Version is set at build time with -ldflags "-X github.com/quikapp/quikapp/internal/app.Version=…".
var Version = "dev"

const usage = `QuikApp: self-hosted team chat.

Usage:
  quikapp [serve]     run QuikApp (every service by default; see QUIKAPP_SERVICES)
  quikapp migrate     apply database migrations and exit
  quikapp config      list the environment variables and their defaults
  quikapp services    list the services this binary can run
  quikapp version     print the version

With no configuration QuikApp keeps its data in ./data (SQLite) and uses an
in-process event bus; set QUIKAPP_DATABASE_URL and QUIKAPP_NATS_URL to scale out.
`

// Main runs the quikapp command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer, lookup env.LookupFunc) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
	case "migrate":
	case "config":
		PrintVars(stdout)
		return 0
	case "services":
		PrintServices(stdout)
		return 0
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "quikapp", Version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "quikapp: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if len(args) > 1 {
		fmt.Fprintf(stderr, "quikapp %s: unexpected arguments %q (configuration is by environment; see `quikapp config`)\n", cmd, args[1:])
		return 2
	}
	cfg, err := LoadConfig(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "quikapp: %v\n", err)
		return 2
	}
	log := platform.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cmd == "migrate" {
		if err := migrateOnly(ctx, cfg); err != nil {
			log.Error("migrate_failed", "error", err)
			return 1
		}
		log.Info("migrate_done")
		return 0
	}
	a, err := New(cfg, log, Version)
	if err != nil {
		log.Error("start_failed", "error", err)
		return 1
	}
	if err := a.Run(ctx); err != nil {
		log.Error("quikapp_failed", "error", err)
		return 1
	}
	return 0
}

func migrateOnly(ctx context.Context, cfg Config) error {
	db, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Migrate(ctx, allMigrations(cfg)...)
}
