package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

type allowAll struct{}

func (allowAll) CanSubscribe(context.Context, Principal, string) error { return nil }

// A broadcast is encoded once: every subscriber's frame carries the same
// bytes, and they are the event's JSON, which both transports send.
func TestBroadcastEncodedOnce(t *testing.T) {
	h, err := NewHub(HubConfig{History: NewMemoryHistory(HistoryConfig{MaxEvents: 10}), Authorizer: allowAll{}})
	if err != nil {
		t.Fatal(err)
	}
	var conns []*Conn
	for range 3 {
		c, err := h.Connect(Principal{UserID: "u", TenantID: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe(t.Context(), "channel:1", nil); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	ev, err := h.Publish(t.Context(), "channel:1", Event{ID: "e1", Type: "message.created", Data: json.RawMessage(`{"text":"hi <b>"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(ev)
	var first []byte
	for i, c := range conns {
		frames := c.Take(nil)
		if len(frames) != 1 {
			t.Fatalf("conn %d: %d frames", i, len(frames))
		}
		b, err := frameJSON(frames[0])
		if err != nil || !bytes.Equal(b, want) {
			t.Fatalf("conn %d sends %s (%v), want %s", i, b, err, want)
		}
		if i == 0 {
			first = b
		} else if &b[0] != &first[0] {
			t.Fatalf("conn %d's frame was encoded again", i)
		}
		var sse bytes.Buffer
		if err := writeFrame(&sse, frames[0], map[string]Position{}); err != nil || !bytes.Contains(sse.Bytes(), append([]byte("data: "), want...)) {
			t.Fatalf("SSE frame %q (%v) does not carry %s", sse.String(), err, want)
		}
	}
}
