package realtime_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/realtime"
)

func TestDisconnectUserClosesEveryConnectionOfThatUser(t *testing.T) {
	h := newHub(t, 8, members{"ann": {"c1"}, "bob": {"c1"}})
	laptop, phone, bob := connect(t, h, "ann"), connect(t, h, "ann"), connect(t, h, "bob")
	if err := laptop.Subscribe(context.Background(), "c1", nil); err != nil {
		t.Fatal(err)
	}
	if n := h.DisconnectUser("ann", realtime.ReasonBanned); n != 2 {
		t.Fatalf("closed %d connections, want 2", n)
	}
	for _, c := range []*realtime.Conn{laptop, phone} {
		select {
		case <-c.Done():
		default:
			t.Fatal("a connection of the user is still open")
		}
		if c.Reason() != realtime.ReasonBanned {
			t.Fatalf("reason %q", c.Reason())
		}
	}
	if bob.Reason() != "" || h.Subscribers("c1") != 0 {
		t.Fatalf("other user touched (%q) or subscription left (%d)", bob.Reason(), h.Subscribers("c1"))
	}
	if n := h.DisconnectUser("ann", realtime.ReasonBanned); n != 0 {
		t.Fatalf("closed connections are still indexed: %d", n)
	}
}

func TestFollowBansOverTheBus(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{})
	defer b.Close()
	h := newHub(t, 8, members{})
	ann, bob := connect(t, h, "ann-1"), connect(t, h, "bob-2")
	sub, err := realtime.FollowBans(context.Background(), b, h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := b.Publish(context.Background(), bus.Message{ID: "e1", Subject: "auth.user.ann-1.banned", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ann.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("banned user's connection still open 5 s after the ban")
	}
	if ann.Reason() != realtime.ReasonBanned || bob.Reason() != "" {
		t.Fatalf("reasons: ann %q bob %q", ann.Reason(), bob.Reason())
	}
}
