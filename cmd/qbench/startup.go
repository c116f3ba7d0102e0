package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type startupResults struct {
	Runs            int     `json:"runs"`
	ReadyMsP50      float64 `json:"ready_ms_p50"`
	ReadyMsMax      float64 `json:"ready_ms_max"`
	ReadyMsMin      float64 `json:"ready_ms_min"`
	IdleRSSBytes    int64   `json:"idle_rss_bytes"`
	BinaryBytes     int64   `json:"binary_bytes"`
	FirstStartMs    float64 `json:"first_start_ms"` // includes creating the database and migrating
	CleanExits      int     `json:"clean_exits"`
	ExitAfterTermMs float64 `json:"exit_after_sigterm_ms_max"`
	Errors          int     `json:"errors"`
}

// runStartup starts the binary --runs times in a fresh data directory and
// measures exec → first 200 from /health/ready, the idle RSS after ready,
// and the time to exit after SIGTERM.
func runStartup(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	bin := fs.String("bin", "./quikapp", "path to a built quikapp binary")
	runs := fs.Int("runs", 5, "number of starts (the first creates and migrates the database)")
	idle := fs.Duration("idle", 2*time.Second, "how long to stay idle before reading RSS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *runs > 100 {
		return errors.New("--runs must be 1..100")
	}
	st, err := os.Stat(*bin)
	if err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	dataDir, err := os.MkdirTemp("", "qbench-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)

	res := startupResults{Runs: *runs, BinaryBytes: st.Size()}
	var ready []float64
	for i := range *runs {
		ms, rss, exitMs, err := startOnce(*bin, dataDir, *idle)
		if err != nil {
			res.Errors++
			fmt.Fprintf(os.Stderr, "run %d: %v\n", i, err)
			continue
		}
		if i == 0 {
			res.FirstStartMs = ms
		} else {
			ready = append(ready, ms)
		}
		res.IdleRSSBytes = max(res.IdleRSSBytes, rss)
		res.ExitAfterTermMs = max(res.ExitAfterTermMs, exitMs)
		res.CleanExits++
	}
	if len(ready) == 0 {
		ready = []float64{res.FirstStartMs}
	}
	sort.Float64s(ready)
	res.ReadyMsP50 = ready[len(ready)/2]
	res.ReadyMsMin, res.ReadyMsMax = ready[0], ready[len(ready)-1]
	return writeReport(out, "startup", map[string]any{"bin": *bin, "runs": *runs, "idle": idle.String()}, res)
}

func startOnce(bin, dataDir string, idle time.Duration) (readyMs float64, rss int64, exitMs float64, err error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "QUIKAPP_HTTP_ADDR=127.0.0.1:0", "QUIKAPP_DATA_DIR="+dataDir, "QUIKAPP_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "http_listening" {
				select {
				case addrCh <- l.Addr:
				default:
				}
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case <-time.After(30 * time.Second):
		return 0, 0, 0, errors.New("no http_listening line within 30s")
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, errors.New("not ready within 30s")
		}
		time.Sleep(time.Millisecond)
	}
	readyMs = float64(time.Since(start).Microseconds()) / 1000
	time.Sleep(idle)
	rss = readRSS(cmd.Process.Pid)

	termAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, 0, err
	}
	if err := cmd.Wait(); err != nil {
		return 0, 0, 0, fmt.Errorf("exit after SIGTERM: %w", err)
	}
	return readyMs, rss, float64(time.Since(termAt).Microseconds()) / 1000, nil
}

// readRSS returns VmRSS of pid in bytes (0 if unreadable).
func readRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
