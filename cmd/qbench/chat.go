package main

import (
	"context"
	"flag"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// runChat is S3: every connection follows a personal topic and one
// 10-member group topic; messages go mostly to groups (10 deliveries
// each), some to personal topics; clients send typing frames (the server
// fans them out as signals); and a share of connections churns every
// second: it drops and reconnects with its positions, and must miss
// nothing.
func runChat(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	f := addRTFlags(fs, 10000, 10*time.Second, 1000, "messages published per second (a group message is 10 deliveries)")
	groupSize := fs.Int("group", 10, "members per group topic")
	personalPct := fs.Float64("personal-pct", 10, "percent of messages that go to a personal topic")
	typingRate := fs.Float64("typing-rate", 200, "typing frames sent per second, by random clients to their group")
	churn := fs.Float64("churn", 0.3, "percent of connections that drop and reconnect (with resume) every second")
	workers := fs.Int("publishers", 16, "concurrent HTTP publishers")
	drain := fs.Duration("drain", 10*time.Second, "longest wait for deliveries after publishing stops")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hostport, err := f.check()
	if err != nil {
		return err
	}
	if *groupSize < 1 || *personalPct < 0 || *personalPct > 100 || *typingRate < 0 || *typingRate > 1e6 ||
		*churn < 0 || *churn > 100 || *workers < 1 || *workers > 1000 || *drain < 0 || *drain > 10*time.Minute {
		return flagError("--group ≥ 1, --personal-pct 0..100, --typing-rate 0..1e6, --churn 0..100, --publishers 1..1000, --drain 0..10m")
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.duration+*drain+10*time.Minute)
	defer cancel()
	run := newRTRun(hostport, f.sources)
	prefix := runPrefix()
	groups := (f.conns + *groupSize - 1) / *groupSize
	clients := make([]*rtClient, f.conns)
	for i := range clients {
		clients[i] = newRTClient(run, i, "u"+itoa(i), prefix+"user:"+itoa(i), prefix+"group:"+itoa(i / *groupSize))
	}
	base := sampleProc(f.serverPID)
	connectAll(ctx, clients, f.dialers, 0)
	time.Sleep(500 * time.Millisecond)

	pub := newPublisher(f.target, *workers, f.pad)
	personalEvery := uint64(0)
	if *personalPct > 0 {
		personalEvery = uint64(100 / *personalPct)
	}
	topicFor := func(n int64) string {
		h := mix64(uint64(n))
		if personalEvery > 0 && h%personalEvery == 0 {
			return prefix + "user:" + itoa(int((h>>8)%uint64(f.conns)))
		}
		return prefix + "group:" + itoa(int((h>>8)%uint64(groups)))
	}
	start := sampleProc(f.serverPID)
	gen0, g0 := selfCPUUs(), time.Now()
	var typed, churnTried, churnOK atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { typed.Store(sendTyping(ctx, clients, *typingRate, f.duration)) })
	wg.Go(func() {
		t, ok := churnClients(ctx, clients, *churn, f.duration)
		churnTried.Store(t)
		churnOK.Store(ok)
	})
	window := pub.run(ctx, f.rate, f.duration, *workers, topicFor)
	wg.Wait()
	waitCaughtUp(run, clients, pub.head, *drain)
	elapsed := time.Since(g0)
	end := sampleProc(f.serverPID)

	res := rtResults{Scenario: "chat", Conns: f.conns, DurationS: f.duration.Seconds(), Rate: f.rate}
	res.fromPublisher(pub, window)
	res.finish(run, clients, pub.head)
	res.DeliveriesPerSec = float64(res.Deliveries) / elapsed.Seconds()
	res.TypingSent, res.ChurnTried, res.ChurnOK = typed.Load(), churnTried.Load(), churnOK.Load()
	if res.ChurnTried > 0 {
		res.ChurnSuccess = float64(res.ChurnOK) / float64(res.ChurnTried) * 100
	}
	res.fillServer(base, start, end, res.Connected, f.target)
	res.fillGen(gen0, g0)
	closeAll(clients)
	p := f.params()
	p["group"], p["personal_pct"], p["typing_rate"], p["churn_pct_per_s"], p["publishers"] = *groupSize, *personalPct, *typingRate, *churn, *workers
	return writeRT(out, f.json, p, res)
}

// mix64 is splitmix64's finaliser: a cheap, stateless spread of n.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sendTyping has random clients send a typing frame for their group
// topic (their second) at rate per second for d; it returns how many
// were sent.
func sendTyping(ctx context.Context, clients []*rtClient, rate float64, d time.Duration) int64 {
	if rate <= 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var sent int64
	frames := map[*rtClient][]byte{}
	for ctx.Err() == nil {
		due := int64(rate * time.Since(start).Seconds())
		for ; sent < due; sent++ {
			c := clients[rand.IntN(len(clients))]
			b, ok := frames[c]
			if !ok {
				b = []byte(`{"type":"typing","topic":"` + c.topics[len(c.topics)-1].name + `"}`)
				frames[c] = b
			}
			_ = c.sendText(b) // a client mid-churn is simply not typing
		}
		time.Sleep(5 * time.Millisecond)
	}
	return sent
}

// churnClients drops pct percent of the connections every second for d
// and reconnects each with its positions; it returns the attempts and the
// successes.
func churnClients(ctx context.Context, clients []*rtClient, pct float64, d time.Duration) (tried, ok int64) {
	if pct <= 0 {
		return 0, 0
	}
	// Reconnects in flight at the end finish under the parent context.
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	perSec := pct / 100 * float64(len(clients))
	var okN atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for ctx.Err() == nil {
		due := int64(perSec * time.Since(start).Seconds())
		for picks := 0; tried < due && picks < 100*len(clients); picks++ {
			c := clients[rand.IntN(len(clients))]
			if !c.churning.CompareAndSwap(false, true) {
				continue // already churning: pick another
			}
			tried++
			wg.Go(func() {
				defer c.churning.Store(false)
				c.drop()
				if err := c.connect(parent, true, nil); err != nil {
					c.run.fail(err)
					return
				}
				okN.Add(1)
			})
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	return tried, okN.Load()
}
