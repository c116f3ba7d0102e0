package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// rtFlags are the flags every realtime scenario shares.
type rtFlags struct {
	target    string
	conns     int
	duration  time.Duration
	rate      float64
	json      bool
	serverPID int
	sources   int
	dialers   int
	pad       int
}

func addRTFlags(fs *flag.FlagSet, conns int, duration time.Duration, rate float64, rateHelp string) *rtFlags {
	f := &rtFlags{}
	fs.StringVar(&f.target, "target", "http://127.0.0.1:7001", "base URL of a hub-server or naive-server (loopback)")
	fs.IntVar(&f.conns, "conns", conns, "WebSocket connections")
	fs.DurationVar(&f.duration, "duration", duration, "how long to measure")
	fs.Float64Var(&f.rate, "rate", rate, rateHelp)
	fs.BoolVar(&f.json, "json", false, "print one JSON object")
	fs.IntVar(&f.serverPID, "server-pid", 0, "server process to read RSS and CPU of (/proc/<pid>); 0: not measured")
	fs.IntVar(&f.sources, "sources", 4, "spread connections over 127.0.0.1..127.0.0.N source addresses (ephemeral ports are per address)")
	fs.IntVar(&f.dialers, "dialers", 32, "connections dialled concurrently during the ramp")
	fs.IntVar(&f.pad, "pad", 64, "bytes of padding in each published event's data")
	return f
}

func (f *rtFlags) check() (hostport string, err error) {
	u, err := url.Parse(f.target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("--target must be http://host:port, got %q", f.target)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", fmt.Errorf("--target: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", errors.New("--target must be a loopback address")
	}
	switch {
	case f.conns < 1 || f.conns > 200_000:
		return "", errors.New("--conns must be 1..200000")
	case f.duration <= 0 || f.duration > 2*time.Hour:
		return "", errors.New("--duration must be in (0, 2h]")
	case f.rate < 0 || f.rate > 10_000_000:
		return "", errors.New("--rate must be 0..1e7")
	case f.sources < 1 || f.sources > 250:
		return "", errors.New("--sources must be 1..250")
	case f.dialers < 1 || f.dialers > 10_000:
		return "", errors.New("--dialers must be 1..10000")
	case f.pad < 0 || f.pad > 60_000:
		return "", errors.New("--pad must be 0..60000")
	}
	return u.Host, nil
}

func (f *rtFlags) params() map[string]any {
	return map[string]any{"target": f.target, "conns": f.conns, "duration": f.duration.String(), "rate": f.rate,
		"server_pid": f.serverPID, "sources": f.sources, "pad": f.pad}
}

// rtResults is what every realtime scenario reports; scenario-specific
// fields are omitted where they do not apply.
type rtResults struct {
	Scenario  string  `json:"scenario"`
	Conns     int     `json:"conns"`
	Connected int     `json:"connected"`
	DurationS float64 `json:"duration_s"`
	Rate      float64 `json:"rate"`

	Published        int64   `json:"published"`
	PublishErrors    int64   `json:"publish_errors"`
	PublishedPerSec  float64 `json:"published_per_sec"`
	Deliveries       int64   `json:"deliveries"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	P50Ms            float64 `json:"p50_ms"`
	P99Ms            float64 `json:"p99_ms"`
	P999Ms           float64 `json:"p999_ms"`
	MaxMs            float64 `json:"max_ms"`

	Missed          int64 `json:"missed"`           // by healthy clients: read at full speed, never cut off
	MissedUnhealthy int64 `json:"missed_unhealthy"` // by slow or cut-off clients
	Duplicated      int64 `json:"duplicated"`
	Resyncs         int64 `json:"resyncs"`
	Disconnects     int64 `json:"disconnects"` // connections the server ended or lost, not counting intended ones
	SlowCutoffs     int64 `json:"slow_cutoffs"`
	Errors          int64 `json:"errors"` // dial failures, undecodable frames, unknown topics

	ConnectP50Ms float64 `json:"connect_p50_ms"`
	ConnectP99Ms float64 `json:"connect_p99_ms"`

	ServerRSSBytes           int64   `json:"server_rss_bytes"`
	ServerRSSBaseBytes       int64   `json:"server_rss_base_bytes"` // before the first connection
	RSSBytesPerConn          float64 `json:"rss_bytes_per_conn"`    // (rss - base) / connected
	ServerCPUUsPerConnPerSec float64 `json:"server_cpu_us_per_conn_per_sec"`
	ServerCPUPct             float64 `json:"server_cpu_pct"` // of one core, over the measured window
	ServerGoroutines         int     `json:"server_goroutines,omitempty"`
	ServerHeapInuse          int64   `json:"server_heap_inuse_bytes,omitempty"`
	ServerStackInuse         int64   `json:"server_stack_inuse_bytes,omitempty"`
	ServerDropped            int64   `json:"server_dropped,omitempty"` // naive-server: frames it dropped
	GenCPUPct                float64 `json:"gen_cpu_pct"`              // the generator's own CPU, of one core
	GenRSSBytes              int64   `json:"gen_rss_bytes"`

	// chat
	Signals      int64   `json:"signals,omitempty"` // typing events received
	TypingSent   int64   `json:"typing_sent,omitempty"`
	ChurnTried   int64   `json:"churn_tried,omitempty"`
	ChurnOK      int64   `json:"churn_ok,omitempty"`
	ChurnSuccess float64 `json:"churn_success_pct,omitempty"`

	// publish
	PublishP50Ms  float64 `json:"publish_p50_ms,omitempty"`
	PublishP99Ms  float64 `json:"publish_p99_ms,omitempty"`
	DeliveryP99Ms float64 `json:"delivery_p99_ms,omitempty"`
	Subscribers   int     `json:"subscribers,omitempty"`

	// storm
	ResubscribedPct float64 `json:"resubscribed_pct,omitempty"`
	RecoveredPct    float64 `json:"recovered_pct,omitempty"`
	RecoveryP50Ms   float64 `json:"recovery_p50_ms,omitempty"`
	RecoveryP99Ms   float64 `json:"recovery_p99_ms,omitempty"`
	RecoveryMaxMs   float64 `json:"recovery_max_ms,omitempty"`
}

// rtReport flattens the results into the envelope, so the scenario's
// figures sit at the top level of the one JSON object.
type rtReport struct {
	rtResults
	Params    map[string]any `json:"params"`
	Machine   machine        `json:"machine"`
	GoVersion string         `json:"go_version"`
	At        string         `json:"at"`
}

func writeRT(w io.Writer, asJSON bool, params map[string]any, r rtResults) error {
	if asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(rtReport{rtResults: r, Params: params, GoVersion: runtime.Version(),
			Machine: machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH},
			At:      time.Now().UTC().Format(time.RFC3339)})
	}
	_, err := fmt.Fprintf(w, "%s: conns %d/%d, %.1fs, %.0f deliveries/s, p50 %.2f p99 %.2f p999 %.2f ms, missed %d dup %d resync %d disc %d slow %d err %d; server rss %.1f MB (%.0f B/conn), cpu %.2f µs/conn/s (%.0f%%), goroutines %d; generator cpu %.0f%%\n",
		r.Scenario, r.Connected, r.Conns, r.DurationS, r.DeliveriesPerSec, r.P50Ms, r.P99Ms, r.P999Ms,
		r.Missed, r.Duplicated, r.Resyncs, r.Disconnects, r.SlowCutoffs, r.Errors,
		float64(r.ServerRSSBytes)/1e6, r.RSSBytesPerConn, r.ServerCPUUsPerConnPerSec, r.ServerCPUPct, r.ServerGoroutines, r.GenCPUPct)
	return err
}

// procSample is a process's RSS and CPU time at one moment.
type procSample struct {
	at    time.Time
	rss   int64
	cpuUs int64
}

// sampleProc reads /proc/<pid>; pid 0 gives a zero sample.
func sampleProc(pid int) procSample {
	s := procSample{at: time.Now()}
	if pid <= 0 {
		return s
	}
	s.rss = readRSS(pid)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return s
	}
	// Fields after "comm)": state is the 3rd field, utime the 14th, stime
	// the 15th; comm may contain spaces, so split after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return s
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return s
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpuUs = (ut + st) * 1e6 / clockTicks
	return s
}

// clockTicks is USER_HZ, 100 on every Linux we run on (the standard
// library has no sysconf).
const clockTicks = 100

// selfCPUUs is the generator's own CPU time, to the microsecond.
func selfCPUUs() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

// serverStats are what our bench servers say about themselves at /stats.
type serverStats struct {
	Goroutines int   `json:"goroutines"`
	HeapInuse  int64 `json:"heap_inuse"`
	StackInuse int64 `json:"stack_inuse"`
	Dropped    int64 `json:"dropped"`
}

func fetchStats(base string) (serverStats, error) {
	var s serverStats
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	return s, json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&s)
}

// fillServer sets the server figures from samples taken at the start and
// end of the measured window, with base taken before any connection.
func (r *rtResults) fillServer(base, start, end procSample, conns int, target string) {
	r.ServerRSSBaseBytes = base.rss
	r.ServerRSSBytes = end.rss
	if conns > 0 && end.rss > 0 {
		r.RSSBytesPerConn = float64(end.rss-base.rss) / float64(conns)
	}
	if secs := end.at.Sub(start.at).Seconds(); secs > 0 && end.cpuUs > 0 {
		cpu := float64(end.cpuUs - start.cpuUs)
		r.ServerCPUPct = cpu / 1e6 / secs * 100
		if conns > 0 {
			r.ServerCPUUsPerConnPerSec = cpu / float64(conns) / secs
		}
	}
	if st, err := fetchStats(target); err == nil {
		r.ServerGoroutines, r.ServerHeapInuse, r.ServerStackInuse, r.ServerDropped = st.Goroutines, st.HeapInuse, st.StackInuse, st.Dropped
	}
}

// fillGen sets the generator's own CPU share since cpu0 (selfCPUUs) at t0.
func (r *rtResults) fillGen(cpu0 int64, t0 time.Time) {
	if secs := time.Since(t0).Seconds(); secs > 0 {
		r.GenCPUPct = float64(selfCPUUs()-cpu0) / 1e6 / secs * 100
	}
	r.GenRSSBytes = readRSS(os.Getpid())
}

// finish fills the delivery figures from the run and the clients' own
// accounts; head gives each topic's final head.
func (r *rtResults) finish(run *rtRun, clients []*rtClient, head func(string) uint64) {
	for _, c := range clients {
		m, d := c.counts(head)
		if c.healthy() {
			r.Missed += m
		} else {
			r.MissedUnhealthy += m
		}
		r.Duplicated += d
		if c.isConnected() {
			r.Connected++
		}
	}
	r.Deliveries = run.deliveries.Load()
	r.Signals = run.signals.Load()
	r.Resyncs = run.resyncs.Load()
	r.Disconnects = run.disconnects.Load()
	r.SlowCutoffs = run.slowCutoffs.Load()
	r.Errors += run.errors.Load()
	r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs = run.lat.quantileMs(0.5), run.lat.quantileMs(0.99), run.lat.quantileMs(0.999), run.lat.maxMs()
	r.ConnectP50Ms, r.ConnectP99Ms = run.connectLat.quantileMs(0.5), run.connectLat.quantileMs(0.99)
	if e, ok := run.lastErr.Load().(string); ok {
		fmt.Fprintf(os.Stderr, "qbench %s: %d errors, e.g. %s\n", r.Scenario, run.errors.Load(), e)
	}
}

// fromPublisher copies the publisher's figures.
func (r *rtResults) fromPublisher(p *publisher, window time.Duration) {
	r.Published, r.PublishErrors = p.sent.Load(), p.errs.Load()
	r.Errors += r.PublishErrors
	if window > 0 {
		r.PublishedPerSec = float64(r.Published) / window.Seconds()
	}
	r.PublishP50Ms, r.PublishP99Ms = p.lat.quantileMs(0.5), p.lat.quantileMs(0.99)
	if e, ok := p.lastEr.Load().(string); ok {
		fmt.Fprintf(os.Stderr, "qbench %s: %d publish errors, e.g. %s\n", r.Scenario, r.PublishErrors, e)
	}
}

// runPrefix makes this run's topic names unique, so a server that served
// earlier runs starts every topic at offset 1.
func runPrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "r" + hex.EncodeToString(b) + "."
}

func closeAll(clients []*rtClient) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range clients {
		sem <- struct{}{}
		wg.Go(func() { defer func() { <-sem }(); c.drop() })
	}
	wg.Wait()
}
