package notifyd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/quikapp/quikapp/internal/platform"
	"github.com/quikapp/quikapp/internal/platform/env"
)

// Version is set at build time with -ldflags "-X github.com/quikapp/quikapp/internal/notifyd.Version=…".
var Version = "dev"

const usage = `notifyd: multi-channel notification service (drop-in for notify).

Usage:
  notifyd            run the service (client :8080, internal :8081, metrics :9090)
  notifyd config     list the environment variables and their defaults
  notifyd version    print the version

Configuration is by NOTIFY_* environment variables only.
`

// Main runs the notifyd command line and returns the exit code: 0 after a
// clean drain, 1 on a runtime failure, 2 on bad usage or configuration.
func Main(args []string, stdout, stderr io.Writer, lookup env.LookupFunc) int {
	if len(args) > 0 {
		switch args[0] {
		case "config":
			PrintVars(stdout)
			return 0
		case "version", "--version", "-v":
			fmt.Fprintln(stdout, "notifyd", Version)
			return 0
		case "help", "--help", "-h":
			fmt.Fprint(stdout, usage)
			return 0
		case "serve":
			if len(args) == 1 {
				break
			}
			fallthrough
		default:
			fmt.Fprintf(stderr, "notifyd: unexpected arguments %q\n\n%s", args, usage)
			return 2
		}
	}
	cfg, err := LoadConfig(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	log := platform.NewLogger(stderr, cfg.LogLevel.String(), "json").With("service", "notifyd", "version", Version)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := New(cfg, log, Addrs{})
	if err != nil {
		log.Error("notifyd_start_failed", "error", err)
		return 1
	}
	if err := d.Run(ctx); err != nil {
		log.Error("notifyd_failed", "error", err)
		return 1
	}
	return 0
}
