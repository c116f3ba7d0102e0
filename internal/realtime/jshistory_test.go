package realtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/quikapp/quikapp/internal/bus/bustest"
	"github.com/quikapp/quikapp/internal/realtime"
	"github.com/quikapp/quikapp/internal/realtime/historytest"
)

// jsNamespace is a stream and subject prefix of the test's own, the stream
// deleted when the test ends.
func jsNamespace(t *testing.T, js jetstream.JetStream) (stream, prefix string) {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	stream, prefix = "RTTEST_"+id, "rttest"+id
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, stream)
	})
	return stream, prefix
}

func newJSHistory(t *testing.T, js jetstream.JetStream, stream, prefix string, cfg realtime.HistoryConfig) *realtime.JetStreamHistory {
	t.Helper()
	h, err := realtime.NewJetStreamHistory(t.Context(), js, realtime.JetStreamConfig{HistoryConfig: cfg, Stream: stream, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestJetStreamHistory(t *testing.T) {
	_, js := bustest.RequireNATS(t)
	historytest.Run(t, func(t *testing.T, cfg realtime.HistoryConfig) realtime.History {
		stream, prefix := jsNamespace(t, js)
		return newJSHistory(t, js, stream, prefix, cfg)
	})
}

// Two nodes, each with its own connection and history on one stream,
// share one sequence of offsets per topic and can each replay what the
// other appended.
func TestJetStreamHistoryAcrossNodes(t *testing.T) {
	_, jsA := bustest.RequireNATS(t)
	_, jsB := bustest.RequireNATS(t)
	stream, prefix := jsNamespace(t, jsA)
	a := newJSHistory(t, jsA, stream, prefix, realtime.HistoryConfig{})
	b := newJSHistory(t, jsB, stream, prefix, realtime.HistoryConfig{})
	ctx := t.Context()
	var last realtime.Event
	for i := range 40 {
		h := a
		if i%3 == 1 {
			h = b
		}
		ev, err := h.Append(ctx, "channel:x", realtime.Event{ID: "e" + hex.EncodeToString([]byte{byte(i)}), Type: "message.created"})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Offset != uint64(i+1) || (i > 0 && ev.Epoch != last.Epoch) {
			t.Fatalf("append %d on node %v: %+v after %+v", i, h == b, ev, last)
		}
		last = ev
	}
	for _, h := range []*realtime.JetStreamHistory{a, b} {
		for _, from := range []uint64{0, 10, 35} { // a long gap (consumer scan) and a short one (links)
			evs, err := h.Since(ctx, "channel:x", realtime.Position{Epoch: last.Epoch, Offset: from}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != int(40-from) || evs[0].Offset != from+1 || evs[len(evs)-1].ID != last.ID {
				t.Fatalf("since %d: %d events, first %+v", from, len(evs), evs[0])
			}
		}
	}
}
