package bustest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSURL is the server the NATS tests use: one with JetStream, which every
// dev and CI machine runs at 127.0.0.1:4222. QUIKAPP_TEST_NATS_URL
// overrides it.
func NATSURL() string {
	if u := os.Getenv("QUIKAPP_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// RequireNATS returns a connection to the test server and its JetStream,
// or fails the test (never skips) saying how to start one. The connection
// closes when the test ends.
func RequireNATS(t testing.TB, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts = append([]nats.Option{nats.Timeout(2 * time.Second), nats.MaxReconnects(0)}, opts...)
	nc, err := nats.Connect(NATSURL(), opts...)
	if err != nil {
		t.Fatalf("NATS at %s is not reachable: start it with `nats-server -js -a 127.0.0.1 -p 4222` "+
			"(Debian: apt-get install nats-server), or point QUIKAPP_TEST_NATS_URL at one with JetStream: %v", NATSURL(), err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("NATS at %s has no JetStream: start it with -js: %v", NATSURL(), err)
	}
	return nc, js
}

// DeleteStreams deletes the named JetStream streams when the test ends,
// so streams of a test's own prefix do not pile up on the shared server.
func DeleteStreams(t testing.TB, names ...string) {
	t.Helper()
	_, js := RequireNATS(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, n := range names {
			_ = js.DeleteStream(ctx, n)
		}
	})
}
