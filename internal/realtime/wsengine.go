package realtime

import (
	"encoding/json"
	"log/slog"
	"net"
	"sync"
	"time"
)

// wsEngine runs every WebSocket connection of the process without a
// goroutine per connection: a poller says which sockets have bytes to
// read or room to write, a few workers do the reading and writing, and
// one wheel sends pings and closes dead or stuck peers. An idle
// connection is a socket, a few hundred bytes of state and its hub
// subscriptions.
type wsEngine struct {
	epoll *epoller // nil where epoll is unavailable: every socket uses a reader goroutine

	qmu   sync.Mutex
	qcond *sync.Cond
	queue []wsTask

	wheel *pingWheel
	log   *slog.Logger
}

type wsTask struct {
	c     *wsConn
	write bool // flush queued frames; else read what arrived
}

var (
	engineOnce sync.Once
	engine     *wsEngine
)

// theEngine starts the process's engine on first use.
func theEngine() *wsEngine {
	engineOnce.Do(func() {
		e := &wsEngine{log: slog.Default()}
		e.qcond = sync.NewCond(&e.qmu)
		ep, err := newEpoller(e.event)
		if err != nil {
			e.log.Warn("realtime: epoll unavailable; one reader goroutine per WebSocket", "err", err)
		} else {
			e.epoll = ep
			go ep.run()
		}
		e.wheel = newPingWheel()
		go e.wheel.run()
		for range workers() {
			go e.work()
		}
		engine = e
	})
	return engine
}

// workers is how many goroutines read and write for all connections:
// enough that one blocked in a slow callback (a presence change asking
// the database) does not hold up the rest.
func workers() int { return 8 }

// schedule queues work for c; it never blocks (it runs under hub locks).
func (e *wsEngine) schedule(c *wsConn, write bool) {
	if write {
		if !c.writeQueued.CompareAndSwap(false, true) {
			return // already queued: that flush takes everything
		}
	}
	e.qmu.Lock()
	e.queue = append(e.queue, wsTask{c: c, write: write})
	e.qmu.Unlock()
	e.qcond.Signal()
}

func (e *wsEngine) work() {
	for {
		e.qmu.Lock()
		for len(e.queue) == 0 {
			e.qcond.Wait()
		}
		t := e.queue[0]
		e.queue[0] = wsTask{}
		e.queue = e.queue[1:]
		if len(e.queue) == 0 && cap(e.queue) > 1024 {
			e.queue = nil // let a burst's backing array go
		}
		e.qmu.Unlock()
		if t.write {
			t.c.writeQueued.Store(false)
			t.c.flush()
		} else {
			t.c.readReady()
		}
	}
}

// event is the poller's report for one socket.
func (e *wsEngine) event(c *wsConn, readable, writable bool) {
	if writable {
		e.schedule(c, true)
	}
	if readable {
		e.schedule(c, false)
	}
}

// frameJSON is the text a client receives for f.
func frameJSON(f Frame) ([]byte, error) {
	if f.Kind == FrameResync {
		return json.Marshal(serverFrame{Type: "resync", Topic: f.Topic, Epoch: f.Head.Epoch, Offset: f.Head.Offset})
	}
	if f.encoded != nil {
		return f.encoded, nil
	}
	return json.Marshal(f.Event)
}

// pingWheel keeps every connection's next check in one of 64 one-second
// slots, so checking costs one pass over the connections due each second
// and no timer per connection.
type pingWheel struct {
	mu    sync.Mutex
	slots [64]map[*wsConn]time.Time // → when due
	pos   int
}

func newPingWheel() *pingWheel {
	w := &pingWheel{}
	for i := range w.slots {
		w.slots[i] = map[*wsConn]time.Time{}
	}
	return w
}

// at schedules c's next check (at most 63 s ahead; a longer interval is
// checked early and rescheduled).
func (w *pingWheel) at(c *wsConn, due time.Time) {
	w.mu.Lock()
	w.place(c, due, time.Now())
	w.mu.Unlock()
}

func (w *pingWheel) place(c *wsConn, due, now time.Time) {
	d := int((due.Sub(now) + time.Second - 1) / time.Second) // round up: never early
	d = min(max(d, 1), len(w.slots)-1)
	w.slots[(w.pos+d)%len(w.slots)][c] = due
}

func (w *pingWheel) remove(c *wsConn) {
	w.mu.Lock()
	for _, s := range w.slots {
		delete(s, c)
	}
	w.mu.Unlock()
}

func (w *pingWheel) run() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for now := range t.C {
		w.mu.Lock()
		w.pos = (w.pos + 1) % len(w.slots)
		slot := w.slots[w.pos]
		var due []*wsConn
		for c, at := range slot {
			delete(slot, c)
			if now.Before(at) {
				w.place(c, at, now) // further than one lap ahead
				continue
			}
			due = append(due, c)
		}
		w.mu.Unlock()
		for _, c := range due {
			c.check(now)
		}
	}
}

// sockets that are not TCP (TLS, tests' pipes) are read by a goroutine.
func isTCP(c net.Conn) (*net.TCPConn, bool) {
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}
