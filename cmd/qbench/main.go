// Command qbench measures QuikApp: one scenario per subcommand, results as
// JSON on stdout (see ../shared/design/benchmarks.md). Every loop is bounded
// in count and time, and all traffic stays on loopback.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"time"
)

// scenario is one subcommand.
type scenario struct {
	help string
	run  func(args []string, out io.Writer) error
}

var scenarios = map[string]scenario{
	"startup": {"S9: cold start to ready, idle RSS and binary size of a quikapp binary", runStartup},
	"notify":  {"S6: notifyd with SSE subscribers: persisted+delivered rate, e2e latency, loss, catch-up", runNotify},

	"idle":         {"S1: idle WebSockets, one personal topic each: server RSS and CPU per connection", runIdle},
	"broadcast":    {"S2: one topic, many subscribers, rising publish rate: deliveries/s, latency, loss, slow readers cut off", runBroadcast},
	"chat":         {"S3: personal + 10-member group topic per connection, typing, churn with resume", runChat},
	"publish":      {"S4: HTTP publish throughput and latency, keep-alive, history on, 0 or N subscribers", runPublish},
	"storm":        {"S5: all clients drop and reconnect with their offsets while publishing continues", runStorm},
	"hub-server":   {"serve internal/realtime alone (permissive authorizer, POST /publish) for the realtime scenarios", runHubServer},
	"naive-server": {"serve the same protocol the naive way (goroutine pair per conn, no batching), for ratios", runNaiveServer},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stdout)
		return
	}
	sc, ok := scenarios[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "qbench: unknown scenario %q\n\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err := sc.run(os.Args[2:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "qbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: qbench <scenario> [flags]   (qbench <scenario> -h for its flags)")
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, scenarios[n].help)
	}
}

// report is the common envelope of every scenario's JSON.
type report struct {
	Scenario  string         `json:"scenario"`
	Params    map[string]any `json:"params"`
	Machine   machine        `json:"machine"`
	GoVersion string         `json:"go_version"`
	At        string         `json:"at"`
	Results   any            `json:"results"`
}

type machine struct {
	CPUs int    `json:"cpus"`
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

func writeReport(w io.Writer, name string, params map[string]any, results any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report{
		Scenario: name, Params: params, GoVersion: runtime.Version(),
		Machine: machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH},
		At:      time.Now().UTC().Format(time.RFC3339), Results: results,
	})
}
