package main

import (
	"context"
	"flag"
	"io"
	"time"
)

// runBroadcast is S2: --conns subscribers on one topic, events published
// at --rate per second; each publish is one delivery per subscriber. A
// share of the subscribers reads slowly on purpose: the server must cut
// them off (or drop for them) without delaying the others, so latency and
// loss are reported for the healthy ones.
func runBroadcast(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("broadcast", flag.ContinueOnError)
	f := addRTFlags(fs, 5000, 10*time.Second, 20, "events published per second on the topic (deliveries/s = rate × conns)")
	slowPct := fs.Float64("slow-pct", 1, "percent of subscribers that read slowly")
	slowDelay := fs.Duration("slow-delay", 20*time.Millisecond, "a slow subscriber's pause after each frame")
	workers := fs.Int("publishers", 4, "concurrent HTTP publishers")
	drain := fs.Duration("drain", 10*time.Second, "longest wait for deliveries after publishing stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hostport, err := f.check()
	if err != nil {
		return err
	}
	if *slowPct < 0 || *slowPct > 100 || *workers < 1 || *workers > 1000 || *drain < 0 || *drain > 10*time.Minute {
		return flagError("--slow-pct 0..100, --publishers 1..1000, --drain 0..10m")
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.duration+*drain+10*time.Minute)
	defer cancel()
	run := newRTRun(hostport, f.sources)
	topic := runPrefix() + "broadcast"
	clients := make([]*rtClient, f.conns)
	slowEvery := 0
	if *slowPct > 0 {
		slowEvery = max(1, int(100 / *slowPct))
	}
	for i := range clients {
		clients[i] = newRTClient(run, i, "u"+itoa(i), topic)
		if slowEvery > 0 && i%slowEvery == slowEvery-1 {
			clients[i].slow = *slowDelay
		}
	}
	base := sampleProc(f.serverPID)
	connectAll(ctx, clients, f.dialers, 0)
	time.Sleep(500 * time.Millisecond)

	pub := newPublisher(f.target, *workers, f.pad)
	start := sampleProc(f.serverPID)
	gen0, g0 := selfCPUUs(), time.Now()
	window := pub.run(ctx, f.rate, f.duration, *workers, func(int64) string { return topic })
	waitCaughtUp(run, clients, pub.head, *drain)
	elapsed := time.Since(g0)
	end := sampleProc(f.serverPID)

	res := rtResults{Scenario: "broadcast", Conns: f.conns, DurationS: f.duration.Seconds(), Rate: f.rate}
	res.fromPublisher(pub, window)
	res.finish(run, clients, pub.head)
	res.DeliveriesPerSec = float64(res.Deliveries) / elapsed.Seconds()
	res.fillServer(base, start, end, res.Connected, f.target)
	res.fillGen(gen0, g0)
	closeAll(clients)
	p := f.params()
	p["slow_pct"], p["slow_delay"], p["publishers"] = *slowPct, slowDelay.String(), *workers
	return writeRT(out, f.json, p, res)
}
