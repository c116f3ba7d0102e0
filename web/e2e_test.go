package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserEndToEnd builds the real quikapp binary, starts it on a free
// port with a fresh data directory, and drives two people through the web
// client in Debian's Chromium (web/e2e/chat.mjs, playwright-core). It writes
// the screenshots in docs/screenshots. Runs with QUIKAPP_TEST_FULL=1.
func TestBrowserEndToEnd(t *testing.T) {
	if os.Getenv("QUIKAPP_TEST_FULL") != "1" {
		t.Skip("set QUIKAPP_TEST_FULL=1 to drive the web client in Chromium")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("QUIKAPP_TEST_FULL=1 needs Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		t.Fatalf("QUIKAPP_TEST_FULL=1 needs web/node_modules (run npm ci in web/): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("QUIKAPP_TEST_FULL=1 needs node on PATH: %v", err)
	}

	bin := filepath.Join(t.TempDir(), "quikapp")
	build := exec.Command("go", "build", "-o", bin, "./cmd/quikapp")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building quikapp: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, bin)
	srv.Env = append(os.Environ(), "QUIKAPP_DATA_DIR="+t.TempDir(), "QUIKAPP_HTTP_ADDR="+addr, "QUIKAPP_PUBLIC_URL="+base)
	logf, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", b)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("quikapp did not answer on %s: %v", base, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	shots, err := filepath.Abs(filepath.Join("..", "docs", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, node, "e2e/chat.mjs", base, shots)
	run.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := run.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(fmt.Errorf("the browser run failed: %w", err))
	}
}
