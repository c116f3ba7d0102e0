package main

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

// rtRun is what all clients of one scenario run share: the server, the
// counters and the histograms.
type rtRun struct {
	hostport string
	sources  []*net.TCPAddr

	lat        hist // publish stamp → frame decoded, per delivery to a healthy client
	slowLat    hist // the same for clients that read slowly on purpose
	connectLat hist // dial → 101
	recovery   hist // storm: redial → caught up with the head at redial

	deliveries  atomic.Int64 // events with an offset
	signals     atomic.Int64 // events without (typing)
	missed      atomic.Int64 // gaps seen while running
	duplicated  atomic.Int64
	resyncs     atomic.Int64
	disconnects atomic.Int64
	slowCutoffs atomic.Int64
	errors      atomic.Int64
	lastErr     atomic.Value // string: one example, for the log
}

func newRTRun(hostport string, sources int) *rtRun {
	r := &rtRun{hostport: hostport}
	for i := range sources {
		r.sources = append(r.sources, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))})
	}
	return r
}

func (r *rtRun) fail(err error) {
	r.errors.Add(1)
	r.lastErr.Store(err.Error())
}

// topicState is where one client is in one topic.
type topicState struct {
	name  string
	epoch string
	last  uint64
	// storm: the head when the client redialled; recovered once last
	// reaches it.
	target uint64
}

// rtClient is one simulated client connection.
type rtClient struct {
	run  *rtRun
	id   int
	user string
	// slow, when set, is slept after each frame: a client reading slowly.
	slow time.Duration

	churning atomic.Bool // chat: a drop and reconnect is in flight

	mu        sync.Mutex
	topics    []topicState
	ws        *wsConn
	connected bool
	leaving   bool // the generator is closing it: not a disconnect
	everLost  bool // the server ended or lost it at least once
	missed    int64
	dup       int64
	closeCode int
	// storm
	redialAt  time.Time
	recovered bool

	done chan struct{} // closed when the current read loop ends
}

func newRTClient(run *rtRun, id int, user string, topics ...string) *rtClient {
	c := &rtClient{run: run, id: id, user: user}
	for _, t := range topics {
		c.topics = append(c.topics, topicState{name: t})
	}
	return c
}

// path is the WebSocket URL path; with resume, it carries the client's
// positions so the server replays what it missed.
func (c *rtClient) path(resume bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, len(c.topics))
	var pos map[string]realtime.Position
	if resume {
		pos = make(map[string]realtime.Position, len(c.topics))
	}
	for i, t := range c.topics {
		names[i] = t.name
		if resume {
			pos[t.name] = realtime.Position{Epoch: t.epoch, Offset: t.last}
		}
	}
	p := "/api/v1/realtime/ws?user=" + url.QueryEscape(c.user) + "&topics=" + url.QueryEscape(strings.Join(names, ","))
	if resume {
		p += "&resume=" + realtime.EncodePositions(pos)
	}
	return p
}

// connect dials and starts the read loop. heads, when set, gives the
// current head of each topic: the client counts as recovered once it has
// received up to them (storm).
func (c *rtClient) connect(ctx context.Context, resume bool, heads func(topic string) uint64) error {
	path := c.path(resume)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	c.mu.Lock()
	if heads != nil {
		c.redialAt, c.recovered = start, false
		for i := range c.topics {
			c.topics[i].target = heads(c.topics[i].name)
		}
	}
	c.mu.Unlock()
	ws, err := dialWS(dctx, c.run.sources[c.id%len(c.run.sources)], c.run.hostport, path)
	if err != nil {
		return err
	}
	c.run.connectLat.add(time.Since(start))
	c.mu.Lock()
	c.ws, c.connected, c.leaving, c.closeCode = ws, true, false, 0
	c.done = make(chan struct{})
	done := c.done
	if heads != nil {
		c.checkRecoveredLocked(time.Now())
	}
	c.mu.Unlock()
	go c.readLoop(ws, done)
	return nil
}

// drop closes the connection on purpose (churn, storm) and waits for its
// read loop.
func (c *rtClient) drop() {
	c.mu.Lock()
	ws, done := c.ws, c.done
	c.leaving = true
	c.mu.Unlock()
	if ws == nil {
		return
	}
	ws.Close()
	<-done
}

func (c *rtClient) isConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// sendText writes a client frame (typing, ping).
func (c *rtClient) sendText(b []byte) error {
	c.mu.Lock()
	ws := c.ws
	ok := c.connected
	c.mu.Unlock()
	if !ok {
		return errors.New("not connected")
	}
	return ws.WriteText(b)
}

func (c *rtClient) readLoop(ws *wsConn, done chan struct{}) {
	defer close(done)
	run := c.run
	for {
		msg, err := ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.connected = false
			leaving := c.leaving
			c.closeCode = ws.closeCode
			c.everLost = c.everLost || !leaving
			c.mu.Unlock()
			ws.Close()
			switch {
			case ws.closeCode == int(realtime.CloseSlowConsumer):
				run.slowCutoffs.Add(1)
			case !leaving:
				run.disconnects.Add(1)
			}
			return
		}
		now := time.Now()
		if err := c.handle(msg, now); err != nil {
			run.fail(err)
		}
		if c.slow > 0 {
			time.Sleep(c.slow)
		}
	}
}

// handle accounts for one server frame.
func (c *rtClient) handle(msg []byte, now time.Time) error {
	run := c.run
	f, err := decodeServerFrame(msg)
	if err != nil {
		return err
	}
	switch string(f.typ) {
	case "pong":
		return nil
	case "resync":
		run.resyncs.Add(1)
		c.mu.Lock()
		defer c.mu.Unlock()
		t := c.topic(f.topic)
		if t == nil {
			return errors.New("resync for a topic the client did not ask for: " + string(f.topic))
		}
		t.epoch, t.last = string(f.epoch), f.offset
		c.checkRecoveredLocked(now)
		return nil
	}
	if f.offset == 0 {
		run.signals.Add(1) // a signal (typing): no offset, no history
		return nil
	}
	c.mu.Lock()
	t := c.topic(f.topic)
	if t == nil {
		c.mu.Unlock()
		return errors.New("event for a topic the client did not ask for: " + string(f.topic))
	}
	switch {
	case t.epoch != "" && string(f.epoch) != t.epoch:
		// Offsets restarted (a server restart): nothing to compare with.
		t.epoch, t.last = string(f.epoch), f.offset
		run.resyncs.Add(1)
	case f.offset <= t.last:
		run.duplicated.Add(1)
		c.dup++
	default:
		if gap := f.offset - t.last - 1; gap > 0 {
			run.missed.Add(int64(gap))
			c.missed += int64(gap)
		}
		t.epoch, t.last = string(f.epoch), f.offset
	}
	c.checkRecoveredLocked(now)
	c.mu.Unlock()
	if f.sentNs > 0 {
		if c.slow > 0 {
			run.slowLat.add(now.Sub(time.Unix(0, f.sentNs)))
		} else {
			run.lat.add(now.Sub(time.Unix(0, f.sentNs)))
		}
	}
	run.deliveries.Add(1)
	return nil
}

// topic finds the client's state for name; the caller holds c.mu.
func (c *rtClient) topic(name []byte) *topicState {
	for i := range c.topics {
		if c.topics[i].name == string(name) {
			return &c.topics[i]
		}
	}
	return nil
}

// checkRecoveredLocked records the recovery time once every topic has
// reached its target; the caller holds c.mu.
func (c *rtClient) checkRecoveredLocked(now time.Time) {
	if c.redialAt.IsZero() || c.recovered {
		return
	}
	for _, t := range c.topics {
		if t.last < t.target {
			return
		}
	}
	c.recovered = true
	c.run.recovery.add(now.Sub(c.redialAt))
}

// tailMissed counts the events up to each topic's head that the client
// never received (they would show as a gap only if another came after).
func (c *rtClient) tailMissed(head func(string) uint64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, t := range c.topics {
		if h := head(t.name); h > t.last {
			n += int64(h - t.last)
		}
	}
	return n
}

// healthy says the client read at full speed and the server never
// ended its connection: it is owed every event.
func (c *rtClient) healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slow == 0 && !c.everLost && c.connected
}

// counts returns the gaps and repeats the client saw, plus the events up
// to each head it never received.
func (c *rtClient) counts(head func(string) uint64) (missed, dup int64) {
	tail := c.tailMissed(head)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.missed + tail, c.dup
}

// lagging says whether the client has not yet received up to the heads.
func (c *rtClient) lagging(head func(string) uint64) bool {
	return c.tailMissed(head) > 0
}

// connectAll dials clients with at most dialers in flight and at most
// rate per second (0: no limit), each once; it returns the failures.
func connectAll(ctx context.Context, clients []*rtClient, dialers int, rate float64) int {
	var failed atomic.Int64
	sem := make(chan struct{}, dialers)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		if rate > 0 {
			if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.connect(ctx, false, nil); err != nil {
				c.run.fail(err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// caughtUpQuiet is how long deliveries may stall before waitCaughtUp gives
// up early: a loaded machine (the race detector, tests running beside)
// can hold a client up for more than the 2 s it was, and a delivery that
// arrived late was then counted as never.
const caughtUpQuiet = 5 * time.Second

// waitCaughtUp waits (bounded by limit) until every connected client has
// received up to the heads, or nothing has arrived for caughtUpQuiet.
func waitCaughtUp(run *rtRun, clients []*rtClient, head func(string) uint64, limit time.Duration) {
	quiet := caughtUpQuiet
	deadline := time.Now().Add(limit)
	last, lastChange := run.deliveries.Load(), time.Now()
	for time.Now().Before(deadline) {
		behind := false
		for _, c := range clients {
			if c.isConnected() && c.slow == 0 && c.lagging(head) {
				behind = true
				break
			}
		}
		if !behind {
			return
		}
		if n := run.deliveries.Load(); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > quiet {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
