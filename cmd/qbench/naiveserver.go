package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/quikapp/quikapp/internal/realtime"
)

// naiveServer is the deliberately simple reference the hub is compared
// with: the same wire protocol (client frames, event/resync/pong frames,
// ?topics= and ?resume= positions, bounded per-topic history), built the
// obvious way: one reader and one writer goroutine per connection, a small
// channel per connection that drops when full, one write (one syscall)
// per frame, no batching, a ticker per connection for pings.
type naiveServer struct {
	queue   int
	ping    time.Duration
	keep    int
	dropped atomic.Int64

	mu     sync.Mutex // guards topics
	topics map[string]*naiveTopic

	typingMu sync.Mutex
	typing   map[string]time.Time // user+topic → when the indicator ends
}

// naiveTopic is one topic's history and subscribers; its lock orders
// publishes and joins, so a resuming client neither misses nor repeats.
type naiveTopic struct {
	mu     sync.Mutex
	epoch  string
	head   uint64
	frames [][]byte // encoded events, oldest first: frames[i] has offset head-len+1+i
	subs   map[*naiveConn]struct{}
}

type naiveConn struct {
	user   string
	topics []string
	out    chan []byte
}

func newNaiveServer(queue int, ping time.Duration, keep int) *naiveServer {
	return &naiveServer{queue: queue, ping: ping, keep: keep, topics: map[string]*naiveTopic{}, typing: map[string]time.Time{}}
}

func (s *naiveServer) topic(name string) *naiveTopic {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[name]
	if t == nil {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		t = &naiveTopic{epoch: hex.EncodeToString(b), subs: map[*naiveConn]struct{}{}}
		s.topics[name] = t
	}
	return t
}

// publish stores the event and hands it to every subscriber's channel,
// dropping it for a subscriber whose channel is full (what a naive server
// does; the generator sees the gap).
func (s *naiveServer) publish(topic, typ string, data json.RawMessage) (string, uint64) {
	t := s.topic(topic)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.head++
	b, _ := json.Marshal(realtime.Event{Topic: topic, Offset: t.head, Epoch: t.epoch, Type: typ, Data: data})
	t.frames = append(t.frames, b)
	if len(t.frames) > s.keep {
		t.frames = append(t.frames[:0], t.frames[len(t.frames)-s.keep:]...)
	}
	s.fanout(t, b)
	return t.epoch, t.head
}

// fanout: the caller holds t.mu.
func (s *naiveServer) fanout(t *naiveTopic, b []byte) {
	for c := range t.subs {
		select {
		case c.out <- b:
		default:
			s.dropped.Add(1)
		}
	}
}

// join subscribes c and returns what it missed since from (nil: nothing
// asked), or a resync frame when history does not cover it.
func (s *naiveServer) join(c *naiveConn, name string, from *realtime.Position) [][]byte {
	t := s.topic(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs[c] = struct{}{}
	if from == nil || t.head == 0 {
		return nil
	}
	pos := *from
	if pos == (realtime.Position{}) {
		pos.Epoch = t.epoch // joined before any event: everything is missed
	}
	oldest := t.head - uint64(len(t.frames)) + 1
	if pos.Epoch != t.epoch || pos.Offset > t.head || pos.Offset+1 < oldest {
		b, _ := json.Marshal(map[string]any{"type": "resync", "topic": name, "epoch": t.epoch, "offset": t.head})
		return [][]byte{b}
	}
	return append([][]byte(nil), t.frames[pos.Offset+1-oldest:]...)
}

func (s *naiveServer) leave(c *naiveConn) {
	for _, name := range c.topics {
		t := s.topic(name)
		t.mu.Lock()
		delete(t.subs, c)
		t.mu.Unlock()
	}
}

// typed fans a typing signal out once per user and topic every 5 s, as
// the hub's presence does.
func (s *naiveServer) typed(c *naiveConn, topic string) {
	found := false
	for _, t := range c.topics {
		found = found || t == topic
	}
	if !found {
		return
	}
	key := c.user + "\x00" + topic
	now := time.Now()
	s.typingMu.Lock()
	if now.Before(s.typing[key]) {
		s.typing[key] = now.Add(5 * time.Second)
		s.typingMu.Unlock()
		return
	}
	s.typing[key] = now.Add(5 * time.Second)
	s.typingMu.Unlock()
	data, _ := json.Marshal(map[string]any{"user": c.user, "typing": true})
	b, _ := json.Marshal(realtime.Event{Topic: topic, Type: "typing", Data: data})
	t := s.topic(topic)
	t.mu.Lock()
	s.fanout(t, b)
	t.mu.Unlock()
}

func (s *naiveServer) serveWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var topics []string
	for _, t := range strings.Split(q.Get("topics"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 || len(topics) > 100 {
		http.Error(w, "name 1..100 topics: ?topics=a,b", http.StatusBadRequest)
		return
	}
	positions, err := realtime.DecodePositions(q.Get("resume"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, _ := benchPrincipal(r)
	c := &naiveConn{user: p.UserID, topics: topics, out: make(chan []byte, s.queue)}
	// Join before the upgrade, like the hub: once the client has its 101,
	// nothing published is missed.
	var pre [][]byte
	for _, t := range topics {
		var from *realtime.Position
		if pos, ok := positions[t]; ok {
			from = &pos
		}
		pre = append(pre, s.join(c, t, from)...)
	}
	defer s.leave(c)
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(realtime.MaxClientFrameBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	readDone := make(chan struct{})
	go func() { // the reader
		defer close(readDone)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			f, err := realtime.DecodeClientFrame(b)
			if err != nil {
				return
			}
			switch f.Type {
			case "ping":
				select {
				case c.out <- []byte(`{"type":"pong"}`):
				default:
				}
			case "typing":
				s.typed(c, f.Topic)
			}
		}
	}()
	write := func(b []byte) error {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		return ws.Write(wctx, websocket.MessageText, b)
	}
	// The writer: this goroutine.
	for _, b := range pre {
		if write(b) != nil {
			ws.CloseNow()
			return
		}
	}
	ping := time.NewTicker(s.ping)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-readDone:
			ws.CloseNow()
			return
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, s.ping)
			err = ws.Ping(pctx)
			pcancel()
		case b := <-c.out:
			err = write(b)
		}
		if err != nil {
			ws.CloseNow()
			return
		}
	}
}

func (s *naiveServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/realtime/ws", s.serveWS)
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) {
		topic, typ, data, ok := publishRequest(w, r)
		if !ok {
			return
		}
		epoch, off := s.publish(topic, typ, data)
		writePublished(w, epoch, off)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.topics)
		s.mu.Unlock()
		writeStats(w, map[string]any{"topics": n, "dropped": s.dropped.Load()})
	})
	mountPprof(mux)
	return mux
}

// runNaiveServer serves until SIGINT/SIGTERM.
func runNaiveServer(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("naive-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	queue := fs.Int("queue", 16, "per-connection channel; a frame that does not fit is dropped")
	ping := fs.Duration("ping", 25*time.Second, "ping period")
	keep := fs.Int("history-events", 1000, "events kept per topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *queue < 1 || *ping <= 0 || *keep < 1 {
		return flagError("--queue and --history-events must be ≥ 1, --ping > 0")
	}
	return serveUntilSignal(*addr, newNaiveServer(*queue, *ping, *keep).handler(), out)
}

type flagError string

func (e flagError) Error() string { return string(e) }
