package app

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/platform"
)

// natsServer runs a NATS server with JetStream of this test's own on a
// free loopback port, so the test may stop and restart it.
type natsServer struct {
	t         *testing.T
	bin, port string
	dir       string
	cmd       *exec.Cmd
}

func startNATSServer(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "nats-server is needed to restart a server under the test; it runs on every development and CI machine (Debian package nats-server)"
		if os.Getenv("QUIKAPP_TEST_FULL") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped: QUIKAPP_TEST_FULL is not set)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	s := &natsServer{t: t, bin: bin, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) url() string { return "nats://127.0.0.1:" + s.port }

func (s *natsServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", s.port, "-js", "-sd", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+s.port); err == nil {
			c.Close()
			return
		}
	}
	s.t.Fatalf("nats-server on %s did not come up", s.port)
}

func (s *natsServer) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// When the realtime connection to NATS comes back after a drop, the hub is
// told that announcements may have been lost (so it reconciles its topics
// with History).
func TestBackplaneReportsLossOnReconnect(t *testing.T) {
	srv := startNATSServer(t)
	d := &Deps{Config: Config{NATSURL: srv.url(), NATSPrefix: "loss"}, Log: testLogger(t), Health: platform.NewHealth("test")}
	back, err := openBackplane(d)
	if err != nil {
		t.Fatal(err)
	}
	defer back.close()
	lost := make(chan struct{}, 1)
	back.onLoss(d.Log, func() {
		select {
		case lost <- struct{}{}:
		default:
		}
	})
	select {
	case <-lost:
		t.Fatal("loss reported with the connection up")
	case <-time.After(100 * time.Millisecond):
	}
	srv.stop()
	srv.start()
	select {
	case <-lost:
	case <-time.After(15 * time.Second):
		t.Fatal("no loss reported after the connection came back")
	}
}
