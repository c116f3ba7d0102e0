package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

func TestDecodeServerFrame(t *testing.T) {
	ev, _ := json.Marshal(realtime.Event{Topic: "channel:1", Offset: 42, Epoch: "ab.1", ID: "x", Type: "message.created",
		Data: json.RawMessage(`{"text":"a \"}{\" b","nested":{"ts":1},"ts":1700000000123456789,"seq":7,"list":[1,{"a":"]"}]}`)})
	cases := []struct {
		name string
		in   string
		want serverFrame
		bad  bool
	}{
		{name: "event", in: string(ev), want: serverFrame{topic: []byte("channel:1"), epoch: []byte("ab.1"), typ: []byte("message.created"),
			offset: 42, sentNs: 1700000000123456789, seq: 7}},
		{name: "resync", in: `{"type":"resync","topic":"t","epoch":"e2","offset":9}`, want: serverFrame{topic: []byte("t"), epoch: []byte("e2"), typ: []byte("resync"), offset: 9}},
		{name: "pong", in: ` { "type" : "pong" } `, want: serverFrame{typ: []byte("pong")}},
		{name: "escaped topic", in: `{"topic":"a\"b","offset":1}`, want: serverFrame{topic: []byte(`a"b`), offset: 1}},
		{name: "signal", in: `{"topic":"t","offset":0,"epoch":"","type":"typing","data":{"user":"u"}}`, want: serverFrame{topic: []byte("t"), epoch: []byte{}, typ: []byte("typing")}},
		{name: "not an object", in: `[1]`, bad: true},
		{name: "truncated", in: `{"topic":"t","offset":`, bad: true},
		{name: "unterminated string", in: `{"topic":"t`, bad: true},
		{name: "bad offset", in: `{"offset":"1"}`, bad: true},
		{name: "no colon", in: `{"topic" "t"}`, bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeServerFrame([]byte(c.in))
			if c.bad {
				if err == nil {
					t.Fatalf("decoded %q without error: %+v", c.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.topic, c.want.topic) || !bytes.Equal(got.epoch, c.want.epoch) || !bytes.Equal(got.typ, c.want.typ) ||
				got.offset != c.want.offset || got.sentNs != c.want.sentNs || got.seq != c.want.seq {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func FuzzDecodeServerFrame(f *testing.F) {
	f.Add([]byte(`{"topic":"t","offset":1,"epoch":"e","type":"x","data":{"ts":1,"seq":2}}`))
	f.Add([]byte(`{"type":"resync","topic":"t","epoch":"e","offset":9}`))
	f.Add([]byte(`{"a":[{"b":"]}"}],"c":"\\"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeServerFrame(b)
		if err == nil && len(fr.topic) > len(b) {
			t.Fatalf("topic longer than the frame")
		}
	})
}

// frame builds one unmasked server frame.
func frame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, byte(n))
	case n <= 0xffff:
		out = append(out, 126, byte(n>>8), byte(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, payload...)
}

// readClientFrame reads one masked client frame and unmasks it.
func readClientFrame(r io.Reader) (op byte, payload []byte, err error) {
	h := make([]byte, 2)
	if _, err := io.ReadFull(r, h); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 == 0 {
		return 0, nil, errors.New("client frame not masked")
	}
	n := int(h[1] & 0x7f)
	if n >= 126 {
		return 0, nil, errors.New("test frames are small")
	}
	mask := make([]byte, 4)
	if _, err := io.ReadFull(r, mask); err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return h[0] & 0x0f, payload, nil
}

// The lean client reassembles fragments around a ping (answering it),
// reads 16- and 64-bit lengths, and reports the close code.
func TestWSClientFrames(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	ws := &wsConn{nc: client, br: bufio.NewReaderSize(client, wsReadBuffer)}
	defer ws.Close()
	mid := bytes.Repeat([]byte("m"), 300)
	big := bytes.Repeat([]byte("b"), 70_000) // beyond the read buffer and 16 bits
	var stream []byte
	stream = append(stream, frame(true, 0x1, []byte(`{"type":"pong"}`))...)
	stream = append(stream, frame(false, 0x1, []byte("hel"))...)
	stream = append(stream, frame(true, 0x9, []byte("pp"))...)
	split := len(stream) // net.Pipe is synchronous: write up to the ping, then read its pong
	stream = append(stream, frame(true, 0x0, []byte("lo"))...)
	stream = append(stream, frame(true, 0x1, mid)...)
	stream = append(stream, frame(true, 0x1, big)...)
	stream = append(stream, frame(true, 0x8, append([]byte{0x0f, 0xa8}, "slow_consumer"...))...)
	pongs := make(chan []byte, 2)
	go func() {
		_, _ = server.Write(stream[:split])
		op, p, err := readClientFrame(server)
		if err == nil && op == 0xA {
			pongs <- p
		}
		_, _ = server.Write(stream[split:])
		op, p, err = readClientFrame(server) // the close reply
		if err == nil && op == 0x8 {
			pongs <- p
		}
	}()
	want := [][]byte{[]byte(`{"type":"pong"}`), []byte("hello"), mid, big}
	for i, w := range want {
		got, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("message %d: got %d bytes %.20q, want %d bytes %.20q", i, len(got), got, len(w), w)
		}
	}
	if _, err := ws.ReadMessage(); !errors.Is(err, errWSClosed) || ws.closeCode != 4008 || ws.closeText != "slow_consumer" {
		t.Fatalf("close: err %v, code %d %q", err, ws.closeCode, ws.closeText)
	}
	for _, w := range [][]byte{[]byte("pp"), {0x0f, 0xa8}} {
		select {
		case got := <-pongs:
			if !bytes.Equal(got, w) {
				t.Fatalf("client answered %q, want %q", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no answer to the ping or close")
		}
	}
}

// A client counts gaps and repeats per topic, follows resyncs, and
// treats frames for topics it did not ask for as errors.
func TestClientAccounting(t *testing.T) {
	run := newRTRun("127.0.0.1:1", 1)
	c := newRTClient(run, 0, "u", "a", "b")
	ev := func(topic string, off uint64) []byte {
		return []byte(`{"topic":"` + topic + `","offset":` + strconv.FormatUint(off, 10) + `,"epoch":"e","type":"m","data":{"ts":` +
			strconv.FormatInt(time.Now().UnixNano(), 10) + `}}`)
	}
	for _, m := range [][]byte{ev("a", 1), ev("a", 2), ev("a", 2), ev("a", 5), ev("b", 1),
		[]byte(`{"type":"resync","topic":"b","epoch":"e","offset":10}`), ev("b", 11), []byte(`{"type":"pong"}`),
		[]byte(`{"topic":"b","offset":0,"epoch":"","type":"typing","data":{}}`)} {
		if err := c.handle(m, time.Now()); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if err := c.handle(ev("zzz", 1), time.Now()); err == nil {
		t.Fatal("an event on a topic not asked for was accepted")
	}
	if run.duplicated.Load() != 1 || run.missed.Load() != 2 || run.resyncs.Load() != 1 || run.deliveries.Load() != 6 ||
		run.signals.Load() != 1 || run.lat.n.Load() != 6 {
		t.Fatalf("dup %d missed %d resync %d deliveries %d signals %d latencies %d", run.duplicated.Load(), run.missed.Load(),
			run.resyncs.Load(), run.deliveries.Load(), run.signals.Load(), run.lat.n.Load())
	}
	heads := map[string]uint64{"a": 7, "b": 11}
	if m, d := c.counts(func(s string) uint64 { return heads[s] }); m != 4 || d != 1 {
		t.Fatalf("counts: missed %d dup %d, want 4 (2 gaps + 2 never received) and 1", m, d)
	}
	if p := c.path(true); !strings.Contains(p, "&resume=") {
		t.Fatalf("resume path %q", p)
	} else {
		i := strings.Index(p, "&resume=")
		pos, err := realtime.DecodePositions(p[i+len("&resume="):])
		if err != nil || pos["a"] != (realtime.Position{Epoch: "e", Offset: 5}) || pos["b"] != (realtime.Position{Epoch: "e", Offset: 11}) {
			t.Fatalf("resume positions %v, %v", pos, err)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500}, {0.99, 990}, {0.999, 999}} {
		if got := h.quantileMs(c.q); got < c.want*0.96 || got > c.want*1.04 {
			t.Fatalf("q%v = %v ms, want ≈ %v", c.q, got, c.want)
		}
	}
	for us := uint64(0); us < 1<<30; us = us*3/2 + 1 {
		if v := histValue(histIndex(us)); v < float64(us)*0.96-1 || v > float64(us)*1.04+1 {
			t.Fatalf("%d µs lands in a bucket worth %v", us, v)
		}
	}
}

// startServer serves h on a loopback port 0 for the test.
func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// Every realtime scenario runs once at a tiny size against both servers
// (about 20 s in all): the reports must be complete and show every event
// exactly once.
func TestRealtimeScenarios(t *testing.T) {
	hub, stop, err := newHubServer(hubServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	servers := map[string]string{
		"hub":   startServer(t, hub),
		"naive": startServer(t, newNaiveServer(16, 25*time.Second, 1000).handler()),
	}
	pid := strconv.Itoa(os.Getpid())
	scenarios := []struct {
		name string
		run  func([]string, io.Writer) error
		args []string
		// check is the scenario's own promise beyond the common one.
		check func(t *testing.T, r rtResults)
	}{
		{"idle", runIdle, []string{"--conns", "50", "--duration", "1s", "--settle", "0s"}, func(t *testing.T, r rtResults) {
			if r.ServerRSSBytes <= 0 || r.ConnectP99Ms <= 0 {
				t.Errorf("idle: no RSS or connect latency: %+v", r)
			}
		}},
		{"broadcast", runBroadcast, []string{"--conns", "50", "--duration", "2s", "--rate", "20", "--slow-pct", "0"}, func(t *testing.T, r rtResults) {
			if r.Published < 10 || r.Deliveries != r.Published*50 || r.P99Ms <= 0 {
				t.Errorf("broadcast: %d published, %d delivered, want 50 each", r.Published, r.Deliveries)
			}
		}},
		{"chat", runChat, []string{"--conns", "50", "--duration", "2s", "--rate", "50", "--typing-rate", "20", "--churn", "5"}, func(t *testing.T, r rtResults) {
			if r.Published < 20 || r.Deliveries < r.Published || r.TypingSent == 0 || r.Signals == 0 || r.ChurnTried == 0 || r.ChurnSuccess != 100 {
				t.Errorf("chat: %+v", r)
			}
		}},
		{"publish", runPublish, []string{"--conns", "4", "--duration", "1s", "--rate", "200", "--subscribers", "10"}, func(t *testing.T, r rtResults) {
			if r.Published < 50 || r.Deliveries != r.Published*10 || r.PublishP99Ms <= 0 {
				t.Errorf("publish: %d published, %d delivered, want 10 each", r.Published, r.Deliveries)
			}
		}},
		{"storm", runStorm, []string{"--conns", "50", "--duration", "1s", "--warmup", "1s", "--window", "1s", "--rate", "50", "--topics", "5"}, func(t *testing.T, r rtResults) {
			if r.ResubscribedPct != 100 || r.RecoveredPct != 100 || r.RecoveryP99Ms <= 0 {
				t.Errorf("storm: resubscribed %v%%, recovered %v%%, recovery p99 %v ms", r.ResubscribedPct, r.RecoveredPct, r.RecoveryP99Ms)
			}
		}},
	}
	required := []string{"scenario", "conns", "duration_s", "deliveries_per_sec", "p50_ms", "p99_ms", "p999_ms", "missed",
		"duplicated", "disconnects", "errors", "server_rss_bytes", "rss_bytes_per_conn", "server_cpu_us_per_conn_per_sec", "gen_cpu_pct"}
	for _, server := range []string{"hub", "naive"} {
		for _, sc := range scenarios {
			t.Run(server+"/"+sc.name, func(t *testing.T) {
				var out bytes.Buffer
				args := append([]string{"--target", servers[server], "--json", "--server-pid", pid, "--sources", "2"}, sc.args...)
				if err := sc.run(args, &out); err != nil {
					t.Fatal(err)
				}
				var raw map[string]any
				if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
					t.Fatalf("not one JSON object: %v\n%s", err, out.String())
				}
				for _, k := range required {
					if _, ok := raw[k]; !ok {
						t.Errorf("report lacks %q", k)
					}
				}
				var r rtResults
				if err := json.Unmarshal(out.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				if r.Scenario != sc.name || r.Connected == 0 || r.Missed != 0 || r.MissedUnhealthy != 0 || r.Duplicated != 0 ||
					r.Errors != 0 || r.Disconnects != 0 || r.SlowCutoffs != 0 || r.Resyncs != 0 {
					t.Errorf("%s on %s: %s", sc.name, server, out.String())
				}
				sc.check(t, r)
			})
		}
	}
}
