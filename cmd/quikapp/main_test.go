package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildBinary compiles the command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quikapp")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

// cleanEnv is the parent's environment without QUIKAPP_ variables, so the
// binary runs with its defaults.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIKAPP_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// The README's first command, as a newcomer runs it: no configuration but a
// free port, in an empty directory. It must become ready, keep its data in
// ./data, and stop cleanly on SIGTERM.
func TestBinaryRunsWithDefaultsAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	start := time.Now()
	p := startProcess(t, bin, dir, cleanEnv("QUIKAPP_HTTP_ADDR=127.0.0.1:0"))
	t.Logf("start to ready: %s", time.Since(start))
	if _, err := os.Stat(filepath.Join(dir, "data", "quikapp.db")); err != nil {
		t.Fatalf("database not in ./data: %v", err)
	}
	p.stop(t)
}

func TestBinaryRejectsBadEnvironment(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = t.TempDir()
	cmd.Env = cleanEnv("QUIKAPP_SHUTDOWN_TIMEOUT=soon", "QUIKAPP_LOG_FORMAT=yaml")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want code 2; output:\n%s", err, out)
	}
	for _, want := range []string{"QUIKAPP_SHUTDOWN_TIMEOUT", "QUIKAPP_LOG_FORMAT", "must be one of json, text"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}

func TestBinaryHelpAndConfig(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "config").Output()
	if err != nil || !strings.Contains(string(out), "QUIKAPP_DATABASE_URL") {
		t.Fatalf("config: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "services").Output()
	if err != nil || !strings.Contains(string(out), "backend-gateway") {
		t.Fatalf("services: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "frobnicate")
	b, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(b), "unknown command") {
		t.Fatalf("unknown command: %d %s", cmd.ProcessState.ExitCode(), b)
	}
}
