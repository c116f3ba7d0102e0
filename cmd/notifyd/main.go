// Command notifyd is QuikApp's notification service, a drop-in replacement
// for the notify service: same ports, environment, health, shutdown and wire
// API, with every channel really delivering. See `notifyd help`.
package main

import (
	"os"

	"github.com/quikapp/quikapp/internal/notifyd"
)

func main() {
	os.Exit(notifyd.Main(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}
