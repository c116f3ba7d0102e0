package main

import (
	"context"
	"flag"
	"io"
	"time"
)

// runPublish is S4: the HTTP publish path with keep-alive, history on,
// on one topic with --subscribers listeners (0 or 100 in the design).
// --conns is the number of publishing HTTP connections; --rate 0 runs
// them closed-loop (as fast as the server answers), otherwise open-loop
// at that rate. Here p50_ms/p99_ms/p999_ms are the publish round trip;
// the subscribers' delivery latency is delivery_p99_ms.
func runPublish(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	f := addRTFlags(fs, 16, 5*time.Second, 0, "publishes per second (0: closed loop, as fast as possible)")
	subs := fs.Int("subscribers", 0, "WebSocket subscribers on the topic")
	drain := fs.Duration("drain", 10*time.Second, "longest wait for deliveries after publishing stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hostport, err := f.check()
	if err != nil {
		return err
	}
	if *subs < 0 || *subs > 100_000 || *drain < 0 || *drain > 10*time.Minute || f.conns > 1000 {
		return flagError("--subscribers 0..100000, --drain 0..10m, --conns ≤ 1000 publishers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.duration+*drain+10*time.Minute)
	defer cancel()
	run := newRTRun(hostport, f.sources)
	topic := runPrefix() + "publish"
	clients := make([]*rtClient, *subs)
	for i := range clients {
		clients[i] = newRTClient(run, i, "u"+itoa(i), topic)
	}
	base := sampleProc(f.serverPID)
	connectAll(ctx, clients, f.dialers, 0)

	pub := newPublisher(f.target, f.conns, f.pad)
	start := sampleProc(f.serverPID)
	gen0, g0 := selfCPUUs(), time.Now()
	window := pub.run(ctx, f.rate, f.duration, f.conns, func(int64) string { return topic })
	end := sampleProc(f.serverPID)
	waitCaughtUp(run, clients, pub.head, *drain)
	elapsed := time.Since(g0)

	res := rtResults{Scenario: "publish", Conns: f.conns, DurationS: f.duration.Seconds(), Rate: f.rate, Subscribers: *subs}
	res.fromPublisher(pub, window)
	res.finish(run, clients, pub.head)
	res.Connected = f.conns // the publishers; subscribers are counted in subscribers
	res.DeliveryP99Ms = res.P99Ms
	res.P50Ms, res.P99Ms, res.P999Ms, res.MaxMs = pub.lat.quantileMs(0.5), pub.lat.quantileMs(0.99), pub.lat.quantileMs(0.999), pub.lat.maxMs()
	res.DeliveriesPerSec = float64(res.Deliveries) / elapsed.Seconds()
	res.fillServer(base, start, end, f.conns+*subs, f.target)
	res.fillGen(gen0, g0)
	closeAll(clients)
	p := f.params()
	p["subscribers"] = *subs
	return writeRT(out, f.json, p, res)
}
