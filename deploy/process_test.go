package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podUser is the uid and gid the manifests run as.
const podUser = 65532

// sandbox is a directory the pod user can traverse, for binaries and the
// directories that stand in for a pod's volumes. (t.TempDir is 0700 and
// owned by the test's user, which the pod user may not be.)
func sandbox(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "quikapp-deploy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildBinaries builds quikapp and notifyd as the image does (static,
// trimmed) into dir.
func buildBinaries(t *testing.T, dir string) (quikapp, notifyd string) {
	t.Helper()
	for _, name := range []string{"quikapp", "notifyd"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, name), "../cmd/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return filepath.Join(dir, "quikapp"), filepath.Join(dir, "notifyd")
}

// asRoot says whether the test can start processes as the pod user, as the
// kubelet would; otherwise they run as the test's own user, which is not
// root and so equally unable to write where it may not.
func asRoot() bool { return os.Geteuid() == 0 }

// podDir makes a directory the pod user owns: what an emptyDir volume is.
func podDir(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if asRoot() {
		if err := os.Chown(dir, podUser, podUser); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readOnlyDir is a working directory nobody but root may write: the
// image's root filesystem, mounted read-only.
func readOnlyDir(t *testing.T, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, "root")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pod is a container of a manifest, started as a process.
type pod struct {
	name string
	cmd  *exec.Cmd
	cwd  string
	done chan error

	mu   sync.Mutex
	logs bytes.Buffer
}

func (p *pod) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.logs.String()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

// startPod runs bin as the pod would: its environment, its volumes mapped
// to pod-owned directories (env values under a mount path follow it), a
// read-only working directory, and the pod's user when the test is root.
func startPod(t *testing.T, name, bin string, c corev1.Container, environ map[string]string, root string) *pod {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = podDir(t, dir, "volumes/"+strings.ReplaceAll(strings.Trim(m.MountPath, "/"), "/", "_"))
	}
	var env []string
	for k, v := range environ {
		for mountPath, local := range mounts {
			if v == mountPath || strings.HasPrefix(v, mountPath+"/") {
				v = local + strings.TrimPrefix(v, mountPath)
			}
		}
		env = append(env, k+"="+v)
	}
	env = append(env, "PATH=/usr/bin:/bin")
	if tmp, ok := mounts["/tmp"]; ok {
		env = append(env, "TMPDIR="+tmp)
	}
	p := &pod{name: name, cwd: readOnlyDir(t, dir), done: make(chan error, 1)}
	p.cmd = exec.Command(bin)
	p.cmd.Dir, p.cmd.Env = p.cwd, env
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if asRoot() {
		p.cmd.SysProcAttr.Credential = &syscall.Credential{Uid: podUser, Gid: podUser}
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	})
	return p
}

// status is the probe's answer, as the kubelet sees it (any failure to
// connect is 0).
func status(url string) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls url until it answers want; safe from any goroutine.
func (p *pod) waitStatus(url string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		got := status(url)
		if got == want {
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited while waiting for %d from %s: %v\n%s", p.name, want, url, err, p.output())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s answered %d, not %d, for %s\n%s", p.name, url, got, want, within, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM, as the kubelet does, and checks the pod is never
// ready again and exits cleanly within its grace period. A pod that keeps
// its listener open while the endpoint is withdrawn (QUIKAPP_SHUTDOWN_DELAY)
// must answer 503 meanwhile; one that drains at once may simply be gone.
func (p *pod) stop(t *testing.T, readyURL string, grace time.Duration, drainsWithDelay bool) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	saw503 := false
	deadline := time.After(grace)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			if err != nil {
				t.Errorf("%s: exit after SIGTERM: %v\n%s", p.name, err, p.output())
			}
			if drainsWithDelay && !saw503 {
				t.Errorf("%s: never answered 503 on %s between SIGTERM and exit", p.name, readyURL)
			}
			return
		case <-deadline:
			t.Errorf("%s: still running %s after SIGTERM (the grace period)", p.name, grace)
			return
		case <-time.After(50 * time.Millisecond):
		}
		switch status(readyURL) {
		case http.StatusOK:
			t.Errorf("%s: ready after SIGTERM", p.name)
			return
		case http.StatusServiceUnavailable:
			saw503 = true
		}
	}
}

// wroteNothing checks the read-only working directory stayed empty.
func (p *pod) wroteNothing(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(p.cwd)
	if err != nil || len(entries) > 0 {
		t.Errorf("%s wrote into its read-only working directory: %v %v", p.name, entries, err)
	}
}

// freePort is a loopback port nobody listens on now, for a program that
// takes a port number rather than an address.
// Another process may take it before the program binds it; callers retry.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}
