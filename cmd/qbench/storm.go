package main

import (
	"context"
	"flag"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// runStorm is S5: --conns clients, each on a personal topic and one of
// --topics shared ones, while events are published at --rate per second.
// After --warmup every connection drops at once; each client reconnects
// at a random moment within --window with its last positions, and must
// get exactly what it missed (no gap, no repeat). Recovery time is from
// its redial until it has every event up to the head it redialled at.
func runStorm(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	f := addRTFlags(fs, 10000, 5*time.Second, 100, "events published per second, round robin over the shared topics (every 10th to a personal topic)")
	topics := fs.Int("topics", 100, "shared topics")
	warmup := fs.Duration("warmup", 3*time.Second, "publishing before the drop")
	window := fs.Duration("window", 5*time.Second, "clients reconnect at random moments within this window")
	drain := fs.Duration("drain", 10*time.Second, "longest wait for deliveries after publishing stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hostport, err := f.check()
	if err != nil {
		return err
	}
	if *topics < 1 || *warmup < 0 || *window < 0 || *warmup+*window > time.Hour || *drain < 0 || *drain > 10*time.Minute {
		return flagError("--topics ≥ 1, --warmup and --window ≥ 0 (≤ 1h together), --drain 0..10m")
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.duration+*warmup+*window+*drain+10*time.Minute)
	defer cancel()
	run := newRTRun(hostport, f.sources)
	prefix := runPrefix()
	clients := make([]*rtClient, f.conns)
	for i := range clients {
		clients[i] = newRTClient(run, i, "u"+itoa(i), prefix+"user:"+itoa(i), prefix+"shared:"+itoa(i%*topics))
	}
	base := sampleProc(f.serverPID)
	connectAll(ctx, clients, f.dialers, 0)
	time.Sleep(500 * time.Millisecond)

	pub := newPublisher(f.target, 8, f.pad)
	topicFor := func(n int64) string {
		if n%10 == 9 {
			return prefix + "user:" + itoa(int(mix64(uint64(n))%uint64(f.conns)))
		}
		return prefix + "shared:" + itoa(int(n%int64(*topics)))
	}
	start := sampleProc(f.serverPID)
	gen0, g0 := selfCPUUs(), time.Now()
	var pubWindow time.Duration
	var pwg sync.WaitGroup
	pwg.Go(func() { pubWindow = pub.run(ctx, f.rate, *warmup+*window+f.duration, 8, topicFor) })

	time.Sleep(*warmup)
	closeAll(clients)
	resubscribed := reconnectWithin(ctx, clients, *window, f.dialers, pub.head)
	pwg.Wait()
	waitCaughtUp(run, clients, pub.head, *drain)
	elapsed := time.Since(g0)
	end := sampleProc(f.serverPID)

	res := rtResults{Scenario: "storm", Conns: f.conns, DurationS: (*warmup + *window + f.duration).Seconds(), Rate: f.rate}
	res.fromPublisher(pub, pubWindow)
	res.finish(run, clients, pub.head)
	res.DeliveriesPerSec = float64(res.Deliveries) / elapsed.Seconds()
	res.ResubscribedPct = float64(resubscribed) / float64(f.conns) * 100
	res.RecoveredPct = float64(run.recovery.n.Load()) / float64(f.conns) * 100
	res.RecoveryP50Ms, res.RecoveryP99Ms, res.RecoveryMaxMs = run.recovery.quantileMs(0.5), run.recovery.quantileMs(0.99), run.recovery.maxMs()
	res.fillServer(base, start, end, res.Connected, f.target)
	res.fillGen(gen0, g0)
	closeAll(clients)
	p := f.params()
	p["topics"], p["warmup"], p["window"] = *topics, warmup.String(), window.String()
	return writeRT(out, f.json, p, res)
}

// reconnectWithin redials every client, with its positions, at a random
// moment within window (at most dialers at once) and returns how many
// got their subscriptions back.
func reconnectWithin(ctx context.Context, clients []*rtClient, window time.Duration, dialers int, head func(string) uint64) int {
	type slot struct {
		at time.Duration
		c  *rtClient
	}
	plan := make([]slot, len(clients))
	for i, c := range clients {
		plan[i] = slot{time.Duration(rand.Int64N(int64(window) + 1)), c}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, dialers)
	start := time.Now()
	for _, s := range plan {
		if wait := time.Until(start.Add(s.at)); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.c.connect(ctx, true, head); err != nil {
				s.c.run.fail(err)
				return
			}
			ok.Add(1)
		})
	}
	wg.Wait()
	return int(ok.Load())
}
