package main

import (
	"context"
	"flag"
	"io"
	"time"
)

// runIdle is S1: ramp to --conns idle WebSockets, one personal topic
// each, then hold them with pings only and measure what each costs the
// server: RSS above the server's own baseline, CPU per connection per
// second while idle, and connect latency during the ramp.
func runIdle(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	f := addRTFlags(fs, 1000, 30*time.Second, 0, "connections dialled per second during the ramp (0: as fast as --dialers allow)")
	settle := fs.Duration("settle", 2*time.Second, "wait after the ramp before the idle window starts")
	clientPing := fs.Duration("client-ping", 0, "each client also sends a ping frame this often (0: only the server pings)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hostport, err := f.check()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.duration+*settle+10*time.Minute)
	defer cancel()
	run := newRTRun(hostport, f.sources)
	prefix := runPrefix()
	clients := make([]*rtClient, f.conns)
	for i := range clients {
		clients[i] = newRTClient(run, i, "u"+itoa(i), prefix+"user:"+itoa(i))
	}
	base := sampleProc(f.serverPID)
	t0 := time.Now()
	connectAll(ctx, clients, f.dialers, f.rate) // failures are counted as errors
	rampS := time.Since(t0).Seconds()
	time.Sleep(*settle)

	start := sampleProc(f.serverPID)
	gen0, g0 := selfCPUUs(), time.Now()
	hold(ctx, clients, f.duration, *clientPing)
	end := sampleProc(f.serverPID)

	res := rtResults{Scenario: "idle", Conns: f.conns, DurationS: f.duration.Seconds(), Rate: f.rate}
	res.finish(run, clients, func(string) uint64 { return 0 })
	res.fillServer(base, start, end, res.Connected, f.target)
	res.fillGen(gen0, g0)
	closeAll(clients)
	p := f.params()
	p["settle"], p["client_ping"], p["ramp_s"] = settle.String(), clientPing.String(), rampS
	return writeRT(out, f.json, p, res)
}

// hold keeps the connections open for d, sending client pings every
// interval (0: none), spread evenly so they do not arrive in a burst.
func hold(ctx context.Context, clients []*rtClient, d, interval time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if interval <= 0 || len(clients) == 0 {
		<-ctx.Done()
		return
	}
	step := interval / time.Duration(len(clients))
	tick := time.NewTicker(max(step, time.Millisecond))
	defer tick.Stop()
	per := max(1, int(time.Millisecond/max(step, 1)))
	for i := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for range per {
				_ = clients[i%len(clients)].sendText([]byte(`{"type":"ping"}`))
				i++
			}
		}
	}
}
