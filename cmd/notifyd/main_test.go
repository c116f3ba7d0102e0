package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles the command once for all tests of this run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "notifyd-test")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "notifyd")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return builtBin
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// freePorts finds ports nobody listens on. notifyd takes ports, not
// addresses (as upstream), so the test asks the kernel for free ones and
// releases them just before the process binds them.
// waitHealthy polls health until it answers 200 (true), the process ends,
// or 15 s pass (false).
func waitHealthy(t *testing.T, health string, done chan error) bool {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			return false
		default:
		}
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
	}
	return false
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_") && !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "FCM_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// The binary as a container runs it: NOTIFY_* only, JSON logs on stderr,
// ready on /healthz, exit 0 on SIGTERM.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	var cmd *exec.Cmd
	var stderr *bytes.Buffer
	var done chan error
	for try := 0; ; try++ {
		p := freePorts(t, 3)
		cmd = exec.Command(bin)
		cmd.Dir = t.TempDir()
		stderr = &bytes.Buffer{}
		cmd.Stderr = stderr
		cmd.Env = cleanEnv("NOTIFY_AUTH_DEV_MODE=true",
			"NOTIFY_CLIENT_PORT="+strconv.Itoa(p[0]), "NOTIFY_INTERNAL_PORT="+strconv.Itoa(p[1]), "NOTIFY_METRICS_PORT="+strconv.Itoa(p[2]),
			"NOTIFY_INTERNAL_TOKEN=do-not-log-me")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		done = make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if waitHealthy(t, "http://127.0.0.1:"+strconv.Itoa(p[2])+"/healthz", done) {
			break
		}
		// A port found free may be taken before notifyd binds it; then it
		// exits saying so, and the test tries new ones.
		if try == 2 || !strings.Contains(stderr.String(), "address already in use") {
			t.Fatalf("never ready; stderr:\n%s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"notifyd_starting"`, `"msg":"notifyd_ready"`, `"msg":"notifyd_stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "do-not-log-me") {
		t.Errorf("a secret reached the logs:\n%s", logs)
	}
}

// Bad configuration stops the process at start, naming every bad variable
// and echoing no secret.
func TestBinaryRejectsBadEnvironment(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = cleanEnv("NOTIFY_CLIENT_PORT=80800", "NOTIFY_STORE_DRIVER=mongo", "NOTIFY_LIVE_CONNECTIONS_ENABLED=maybe",
		"NOTIFY_AUTH_JWT_SECRET=", "NOTIFY_INTERNAL_TOKEN=", "NOTIFY_SMS_PROVIDER=twilio", "NOTIFY_SMS_AUTH_TOKEN=hunter2")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want code 2; output:\n%s", err, out)
	}
	for _, want := range []string{"NOTIFY_CLIENT_PORT", "NOTIFY_STORE_DRIVER", "NOTIFY_LIVE_CONNECTIONS_ENABLED",
		"NOTIFY_AUTH_JWT_SECRET", "NOTIFY_INTERNAL_TOKEN", "NOTIFY_SMS_ACCOUNT_SID"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not name %s:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "hunter2") {
		t.Errorf("output echoes a secret:\n%s", out)
	}
}

func TestBinaryConfigCommand(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "config").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"NOTIFY_CLIENT_PORT", "NOTIFY_POSTGRES_DSN", "TWILIO_AUTH_TOKEN", "NOTIFY_SQLITE_PATH"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("config output lacks %s", want)
		}
	}
}
