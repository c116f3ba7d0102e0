// Command quikapp runs the QuikApp team-chat platform. See `quikapp help`.
package main

import (
	"os"

	"github.com/quikapp/quikapp/internal/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}
