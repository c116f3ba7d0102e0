// Package s3test starts a real MinIO server for a test, on a loopback port
// of its own with its data in the test's temporary directory:
//
//	srv := s3test.Start(t)
//	store, err := file.NewS3(srv.Config(s3test.Bucket()))
//
// The minio binary is found on $PATH or in $(go env GOPATH)/bin, where
// .ci/run installs it. Without it a test fails when QUIKAPP_TEST_FULL=1
// (as ./scripts/test and CI run) and is skipped otherwise, saying how to
// install it either way.
package s3test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/quikapp/quikapp/internal/file"
)

// Install is how to get the server (the version .ci/run installs).
const Install = "go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// Credentials of every test server.
const (
	User     = "quikapp-test"
	Password = "quikapp-test-secret"
)

// Server is a running MinIO.
type Server struct {
	// Endpoint is host:port (plain HTTP).
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *syncBuffer
	stopOnce sync.Once
}

// Binary finds the minio executable.
func Binary() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	var dirs []string
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(string(bytes.TrimSpace(gp))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "minio")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("no minio binary on $PATH or in $(go env GOPATH)/bin")
}

// Start runs a MinIO server until t ends. A port taken between choosing it
// and MinIO binding it is retried with another.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		msg := fmt.Sprintf("MinIO is needed for the S3 tests: %v; install it with `%s` (about 3 minutes; .ci/run does it)", err, Install)
		if os.Getenv("QUIKAPP_TEST_FULL") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped: QUIKAPP_TEST_FULL is not set)")
	}
	var last error
	for range 3 {
		s, err := start(t, bin)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		last = err
	}
	t.Fatalf("MinIO did not start: %v", last)
	return nil
}

func start(t testing.TB, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--certs-dir", filepath.Join(dir, "certs"), filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+User, "MINIO_ROOT_PASSWORD="+Password,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=on")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{Endpoint: addr, cmd: cmd, exited: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		res, err := client.Get("http://" + addr + "/minio/health/live")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("minio exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("minio at %s not live after 30s: %s", addr, out.String())
		}
	}
}

// freePort finds a loopback port nobody listens on (MinIO cannot be told
// to pick one itself).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop kills the server and waits for it (safe to call twice).
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

// Config is the driver configuration for bucket on this server.
func (s *Server) Config(bucket string) file.S3Config {
	return file.S3Config{Endpoint: s.Endpoint, Bucket: bucket, AccessKey: User, SecretKey: Password, Region: "us-east-1"}
}

// Objects lists the keys in bucket, incomplete multipart uploads apart
// (S3 shows neither those nor their parts as objects).
func (s *Server) Objects(t testing.TB, bucket string) []string {
	t.Helper()
	cl, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(User, Password, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for obj := range cl.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("list %s: %v", bucket, obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

// Bucket is a fresh bucket name (the driver creates the bucket).
func Bucket() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// syncBuffer keeps the server's output for error messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
