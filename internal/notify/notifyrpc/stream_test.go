package notifyrpc_test

import (
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/internal/notify"
)

// Heartbeats keep coming on the interval, each with the session id.
func TestStreamHeartbeats(t *testing.T) {
	each(t, envOptions{heartbeat: 20 * time.Millisecond}, func(t *testing.T, e *env) {
		ls := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_BROWSER)
		var last int64
		for range 3 {
			select {
			case ev := <-ls.events:
				hb := ev.GetHeartbeat()
				if hb == nil || ev.GetSessionId() != ls.session || hb.GetTimestampMs() < last {
					t.Fatalf("want a heartbeat of session %s, got %v", ls.session, ev)
				}
				last = hb.GetTimestampMs()
			case <-time.After(10 * time.Second):
				t.Fatal("no heartbeat")
			}
		}
	})
}

// A client that hangs up is unregistered; shutdown ends every open stream
// with canceled and refuses new ones.
func TestStreamEndings(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		a := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_BROWSER)
		b := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_ANDROID)
		if e.hub.Len() != 2 {
			t.Fatalf("%d sessions, want 2", e.hub.Len())
		}
		a.cancel()
		waitFor(t, "the cancelled session to be unregistered", func() bool { return e.hub.Len() == 1 })
		e.hub.Shutdown()
		select {
		case err := <-b.done:
			wantCode(t, "stream at shutdown", err, connect.CodeCanceled)
		case <-time.After(10 * time.Second):
			t.Fatal("stream still open after shutdown")
		}
		st, err := e.client.StreamEvents(ctxT(t), as("u1", "acme", &pb.StreamEventsRequest{}))
		if err == nil {
			for st.Receive() {
				t.Fatal("new stream after shutdown got an event")
			}
			err = st.Err()
		}
		wantCode(t, "new stream after shutdown", err, connect.CodeCanceled)
	})
}

// Data changes are re-sent until acknowledged, and only the session's own
// user can acknowledge them.
func TestDataChangeRetriesAndAcks(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		mine := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_BROWSER)
		for _, bad := range []*pb.AckDataChangeRequest{{SessionId: mine.session}, {IdempotencyKey: "k1", SessionId: "  "}} {
			_, err := e.client.AckDataChange(ctxT(t), as("u1", "acme", bad))
			wantCode(t, "AckDataChange with a blank field", err, connect.CodeInvalidArgument)
		}
		if n := e.dc.Publish("acme", "u1", notify.DataChange{IdempotencyKey: "k1", SubjectRef: "channel:1", SubjectType: "channel"}); n != 1 {
			t.Fatalf("published to %d sessions, want 1", n)
		}
		ev := mine.next(t).GetDataChange()
		if ev.GetIdempotencyKey() != "k1" || ev.GetSubjectRef() != "channel:1" || ev.GetSubjectType() != "channel" {
			t.Fatalf("data change %v", ev)
		}
		// Another user (same id, other tenant) cannot cancel it.
		if _, err := e.client.AckDataChange(ctxT(t), as("u1", "beta", &pb.AckDataChangeRequest{IdempotencyKey: "k1", SessionId: mine.session})); err != nil {
			t.Fatalf("foreign ack must succeed and change nothing: %v", err)
		}
		if e.dc.Pending() != 1 {
			t.Fatalf("foreign ack cancelled the retry: %d pending", e.dc.Pending())
		}
		if ev := mine.next(t).GetDataChange(); ev.GetIdempotencyKey() != "k1" {
			t.Fatalf("re-send %v", ev)
		}
		if _, err := e.client.AckDataChange(ctxT(t), as("u1", "acme", &pb.AckDataChangeRequest{IdempotencyKey: " k1 ", SessionId: mine.session})); err != nil {
			t.Fatal(err)
		}
		if e.dc.Pending() != 0 {
			t.Fatalf("own ack left %d pending", e.dc.Pending())
		}
		if _, err := e.client.AckDataChange(ctxT(t), as("u1", "acme", &pb.AckDataChangeRequest{IdempotencyKey: "unknown", SessionId: "nope"})); err != nil {
			t.Fatalf("unknown pair: %v", err)
		}
	})
}

// An unspecified device type is accepted and kept as empty.
func TestStreamUnspecifiedDeviceType(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		ls := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_UNSPECIFIED)
		s := e.hub.Lookup("acme", "u1", ls.session)
		if s == nil || s.DeviceType != "" {
			t.Fatalf("session %+v", s)
		}
		if e.hub.Lookup("beta", "u1", ls.session) != nil || e.hub.Lookup("acme", "u2", ls.session) != nil {
			t.Fatal("a session is visible to another tenant or user")
		}
		notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}})
		ls.nextIs(t, "n1")
	})
}
