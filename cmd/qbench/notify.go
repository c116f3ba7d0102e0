package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/api/notify/v1/notifyv1/notifyv1connect"
)

type notifyResults struct {
	Subscribers   int     `json:"subscribers"`
	Sent          int64   `json:"sent"`
	Received      int64   `json:"received"`
	Lost          int64   `json:"lost"`
	SendErrors    int64   `json:"send_errors"`
	OfferedPerSec float64 `json:"offered_per_sec"`
	RatePerSec    float64 `json:"delivered_per_sec"`
	E2EMsP50      float64 `json:"e2e_ms_p50"`
	E2EMsP99      float64 `json:"e2e_ms_p99"`
	E2EMsMax      float64 `json:"e2e_ms_max"`
	// Catch-up: subscribers that disconnected, missed notifications, and
	// reconnected with Last-Event-ID must get exactly those.
	CatchupClients  int  `json:"catchup_clients"`
	CatchupMissed   int  `json:"catchup_missed_each"`
	CatchupExact    bool `json:"catchup_exact"`
	CatchupProblems int  `json:"catchup_problems"`
}

// runNotify is benchmark S6: a notifyd process, many SSE subscribers (one
// inbox per user), Notify calls at a fixed offered rate, each notification
// persisted before delivery; it reports end-to-end latency (Notify sent →
// event read by the subscriber), loss, and exact catch-up after reconnect.
func runNotify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	bin := fs.String("bin", "./notifyd", "path to a built notifyd binary")
	storeDriver := fs.String("store", "sqlite", "notifyd store: memory, sqlite or postgres")
	pgURL := fs.String("postgres-url", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "database for --store postgres (its notify tables are used as they are)")
	subs := fs.Int("subscribers", 1000, "SSE subscribers, one user each")
	rate := fs.Int("rate", 1000, "offered Notify calls per second")
	duration := fs.Duration("duration", 5*time.Second, "how long to offer load")
	senders := fs.Int("senders", 64, "concurrent Notify callers")
	catchup := fs.Int("catchup", 20, "subscribers that reconnect with Last-Event-ID after missing notifications")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *subs < 1 || *rate < 1 || *duration <= 0 || *senders < 1 || *catchup < 0 || *catchup > *subs {
		return errors.New("--subscribers, --rate, --senders must be ≥ 1, --duration > 0, 0 ≤ --catchup ≤ --subscribers")
	}
	dir, err := os.MkdirTemp("", "qbench-notify")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d, err := startNotifyd(*bin, dir, *storeDriver, *pgURL)
	if err != nil {
		return err
	}
	defer d.stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lat := &latencies{}
	var received atomic.Int64
	clients := make([]*sseClient, *subs)
	for i := range clients {
		c, err := dialSSE(ctx, d.client, "u"+strconv.Itoa(i), "", func(ev sseEvent) {
			if sent, err := strconv.ParseInt(ev.title, 10, 64); err == nil {
				lat.add(time.Since(time.Unix(0, sent)))
				received.Add(1)
			}
		})
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		clients[i] = c
	}

	internal := notifyv1connect.NewNotificationInternalServiceClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *senders}}, "http://"+d.internal)
	var sent, sendErrs, seq atomic.Int64
	send := func(user string) error {
		req := connect.NewRequest(&pb.NotifyRequest{TenantId: "bench", NotificationId: "n" + strconv.FormatInt(seq.Add(1), 10),
			UserIds: []string{user}, Title: strconv.FormatInt(time.Now().UnixNano(), 10), Body: "Order 42 left the warehouse."})
		req.Header().Set("X-Notify-Internal-Token", benchToken)
		_, err := internal.Notify(ctx, req)
		return err
	}
	// Open loop: one token per 1/rate seconds, taken by whichever sender is
	// free, so a slow server shows up as latency rather than as a lower
	// offered rate.
	tokens := make(chan struct{}, *senders)
	start := time.Now()
	var wg sync.WaitGroup
	for range *senders {
		wg.Go(func() {
			for range tokens {
				n := sent.Add(1)
				if err := send("u" + strconv.FormatInt(n%int64(*subs), 10)); err != nil {
					sendErrs.Add(1)
				}
			}
		})
	}
	interval := time.Second / time.Duration(*rate)
	for next := start; time.Since(start) < *duration; next = next.Add(interval) {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		tokens <- struct{}{}
	}
	close(tokens)
	wg.Wait()
	offered := time.Since(start)
	// Let in-flight events arrive (bounded).
	for deadline := time.Now().Add(10 * time.Second); received.Load() < sent.Load()-sendErrs.Load() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)

	res := notifyResults{
		Subscribers: *subs, Sent: sent.Load(), Received: received.Load(), SendErrors: sendErrs.Load(),
		OfferedPerSec: float64(sent.Load()) / offered.Seconds(), RatePerSec: float64(received.Load()) / elapsed.Seconds(),
	}
	res.Lost = res.Sent - res.SendErrors - res.Received
	res.E2EMsP50, res.E2EMsP99, res.E2EMsMax = lat.quantiles()
	res.CatchupMissed = 5
	res.CatchupClients, res.CatchupProblems = checkCatchup(ctx, d.client, clients[:*catchup], res.CatchupMissed, send)
	res.CatchupExact = res.CatchupClients > 0 && res.CatchupProblems == 0
	for _, c := range clients {
		c.close()
	}
	return writeReport(out, "notify", map[string]any{"store": *storeDriver, "subscribers": *subs, "rate": *rate,
		"duration": duration.String(), "senders": *senders}, res)
}

// checkCatchup disconnects each client, sends it missed notifications,
// reconnects with its Last-Event-ID and counts every deviation from
// "exactly the missed ones, in order".
func checkCatchup(ctx context.Context, addr string, clients []*sseClient, missed int, send func(user string) error) (tested, problems int) {
	for _, c := range clients {
		last := c.lastID()
		if last == "" {
			continue // it got nothing yet: there is no position to resume from
		}
		tested++
		c.close()
		for range missed {
			if err := send(c.user); err != nil {
				problems++
			}
		}
		var mu sync.Mutex
		var got []string
		done := make(chan struct{}, missed)
		r, err := dialSSE(ctx, addr, c.user, last, func(ev sseEvent) {
			mu.Lock()
			got = append(got, ev.id)
			mu.Unlock()
			done <- struct{}{}
		})
		if err != nil {
			problems++
			continue
		}
		timeout := time.After(10 * time.Second)
	wait:
		for range missed {
			select {
			case <-done:
			case <-timeout:
				break wait
			}
		}
		r.close()
		mu.Lock()
		if len(got) != missed || !sort.StringsAreSorted(got) {
			problems++
		}
		mu.Unlock()
	}
	return tested, problems
}

const benchToken = "qbench-internal-token"

type notifydProc struct {
	cmd              *exec.Cmd
	exited           chan struct{} // closed when the process has ended
	client, internal string
}

// errExitedEarly: notifyd ended before it was ready.
var errExitedEarly = errors.New("notifyd exited before it was ready")

// startNotifyd runs notifyd on free ports until it is ready. A port found
// free can be taken by another process before notifyd binds it (a busy
// machine opens connections all the time), so an early exit is retried
// on new ports.
func startNotifyd(bin, dir, storeDriver, pgURL string) (*notifydProc, error) {
	var err error
	for range 3 {
		var p *notifydProc
		if p, err = startNotifydOnce(bin, dir, storeDriver, pgURL); !errors.Is(err, errExitedEarly) {
			return p, err
		}
	}
	return nil, err
}

func startNotifydOnce(bin, dir, storeDriver, pgURL string) (*notifydProc, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "NOTIFY_AUTH_DEV_MODE=true", "NOTIFY_INTERNAL_TOKEN="+benchToken, "NOTIFY_LOG_LEVEL=warn",
		"NOTIFY_CLIENT_PORT="+strconv.Itoa(ports[0]), "NOTIFY_INTERNAL_PORT="+strconv.Itoa(ports[1]), "NOTIFY_METRICS_PORT="+strconv.Itoa(ports[2]),
		"NOTIFY_STORE_DRIVER="+storeDriver)
	switch storeDriver {
	case "sqlite":
		env = append(env, "NOTIFY_SQLITE_PATH="+filepath.Join(dir, "notify.db"))
	case "postgres":
		env = append(env, "NOTIFY_POSTGRES_DSN="+pgURL)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &notifydProc{cmd: cmd, exited: make(chan struct{}), client: "127.0.0.1:" + strconv.Itoa(ports[0]), internal: "127.0.0.1:" + strconv.Itoa(ports[1])}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	health := "http://127.0.0.1:" + strconv.Itoa(ports[2]) + "/healthz"
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%w: %s", errExitedEarly, cmd.ProcessState)
		default:
		}
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	p.stop()
	return nil, errors.New("notifyd did not become ready within 30s")
}

func (p *notifydProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// sseClient is one subscriber of GET /v1/events.
type sseClient struct {
	user   string
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	last   string
}

type sseEvent struct{ id, title string }

func (c *sseClient) lastID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// close ends the stream; closing twice is harmless.
func (c *sseClient) close() {
	c.cancel()
	<-c.done
}

// dialSSE subscribes as user and calls onNotification for each
// notification event; it returns once the session event arrived.
func dialSSE(ctx context.Context, addr, user, lastID string, onNotification func(sseEvent)) (*sseClient, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer dev:"+user+":bench")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := sseHTTP.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET /v1/events: %s", resp.Status)
	}
	c := &sseClient{user: user, cancel: cancel, done: make(chan struct{}), last: lastID}
	ready := make(chan struct{})
	go func() {
		defer close(c.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var event, id, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				switch event {
				case "session":
					close(ready)
				case "notification":
					c.mu.Lock()
					c.last = id
					c.mu.Unlock()
					onNotification(sseEvent{id: id, title: jsonField(data, "title")})
				}
				event, id, data = "", "", ""
			case strings.HasPrefix(line, "event: "):
				event = line[7:]
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			}
		}
	}()
	select {
	case <-ready:
		return c, nil
	case <-c.done:
		return nil, errors.New("stream ended before its session event")
	case <-time.After(30 * time.Second):
		c.close()
		return nil, errors.New("no session event within 30s")
	}
}

// sseHTTP gives each subscriber its own connection (streams hold theirs).
var sseHTTP = &http.Client{Transport: &http.Transport{}}

// jsonField pulls one string field out of a flat JSON object without a
// full decode per event (the generator must stay cheaper than the server).
func jsonField(data, name string) string {
	key := `"` + name + `":"`
	i := strings.Index(data, key)
	if i < 0 {
		return ""
	}
	rest := data[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// latencies collects samples for quantiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) quantiles() (p50, p99, maxMs float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(l.d[len(l.d)/2]), ms(l.d[len(l.d)*99/100]), ms(l.d[len(l.d)-1])
}
