package realtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

type sseFrame struct{ event, id, data string }

func sseServer(t *testing.T, h *realtime.Hub, draining chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(realtime.SSEHandler(realtime.SSEConfig{Hub: h, Draining: draining,
		Authenticate: func(r *http.Request) (realtime.Principal, error) {
			if u := r.Header.Get("X-User"); u != "" {
				return realtime.Principal{UserID: u, TenantID: "acme"}, nil
			}
			return realtime.Principal{}, errors.New("no user")
		}}))
	t.Cleanup(srv.Close)
	return srv
}

// openSSE returns the response status and, on 200, a channel of frames.
func openSSE(t *testing.T, url, user, lastID string) (int, <-chan sseFrame, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("X-User", user)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return resp.StatusCode, nil, cancel
	}
	out := make(chan sseFrame, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if f.event != "" {
					out <- f
				}
				f = sseFrame{}
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return http.StatusOK, out, cancel
}

func next(t *testing.T, frames <-chan sseFrame) sseFrame {
	t.Helper()
	select {
	case f, ok := <-frames:
		if !ok {
			t.Fatal("stream ended")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return sseFrame{}
}

func eventOf(t *testing.T, f sseFrame) realtime.Event {
	t.Helper()
	var ev realtime.Event
	if err := json.Unmarshal([]byte(f.data), &ev); err != nil {
		t.Fatalf("frame data %q: %v", f.data, err)
	}
	return ev
}

func TestSSEStreamsAndResumesEveryTopic(t *testing.T) {
	h := newHub(t, 64, members{"ada": {"channel:1", "user:ada"}})
	srv := sseServer(t, h, nil)
	url := srv.URL + "/?topics=channel:1,user:ada"
	code, frames, cancel := openSSE(t, url, "ada", "")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for h.Subscribers("channel:1") != 1 || h.Subscribers("user:ada") != 1 {
		time.Sleep(time.Millisecond)
	}
	publish(t, h, "channel:1", 2)
	publish(t, h, "user:ada", 1)
	var last sseFrame
	for i, want := range []string{"channel:1/1", "channel:1/2", "user:ada/1"} {
		last = next(t, frames)
		ev := eventOf(t, last)
		if got := ev.Topic + "/" + strconv.FormatUint(ev.Offset, 10); got != want || last.event != "message.created" || last.id == "" {
			t.Fatalf("frame %d: %+v, want %s", i, last, want)
		}
	}
	cancel()
	for h.Subscribers("channel:1") != 0 {
		time.Sleep(time.Millisecond)
	}
	publish(t, h, "channel:1", 2) // missed: channel:1 offsets 3, 4
	publish(t, h, "user:ada", 1)  // missed: user:ada offset 2
	_, frames, _ = openSSE(t, url, "ada", last.id)
	got := map[string][]uint64{}
	for range 3 {
		ev := eventOf(t, next(t, frames))
		got[ev.Topic] = append(got[ev.Topic], ev.Offset)
	}
	if len(got["channel:1"]) != 2 || got["channel:1"][0] != 3 || got["channel:1"][1] != 4 || len(got["user:ada"]) != 1 || got["user:ada"][0] != 2 {
		t.Fatalf("resumed %v", got)
	}
	publish(t, h, "user:ada", 1)
	if ev := eventOf(t, next(t, frames)); ev.Topic != "user:ada" || ev.Offset != 3 {
		t.Fatalf("live after resume %+v", ev)
	}
}

func TestSSERefusals(t *testing.T) {
	h := newHub(t, 64, members{"ada": {"channel:1"}})
	srv := sseServer(t, h, nil)
	for _, c := range []struct {
		user, query, lastID string
		want                int
	}{
		{"", "?topics=channel:1", "", http.StatusUnauthorized},
		{"ada", "?topics=channel:2", "", http.StatusForbidden},
		{"ada", "", "", http.StatusBadRequest},
		{"ada", "?topics=channel:1", "not-base64!", http.StatusBadRequest},
		{"ada", "?topics=" + strings.Repeat("x", 300), "", http.StatusBadRequest},
	} {
		if code, _, _ := openSSE(t, srv.URL+"/"+c.query, c.user, c.lastID); code != c.want {
			t.Errorf("%+v: status %d, want %d", c, code, c.want)
		}
	}
}

// A gap beyond history gets a resync event; shutdown ends the stream with
// a close event.
func TestSSEResyncAndShutdown(t *testing.T) {
	h := newHub(t, 64, members{"ada": {"t"}})
	draining := make(chan struct{})
	srv := sseServer(t, h, draining)
	evs := publish(t, h, "t", 60)
	old := realtime.EncodePositions(map[string]realtime.Position{"t": {Epoch: evs[0].Epoch, Offset: 2}})
	_, frames, _ := openSSE(t, srv.URL+"/?topics=t", "ada", old)
	f := next(t, frames)
	var rs struct {
		Topic  string
		Epoch  string
		Offset uint64
	}
	if f.event != "resync" || json.Unmarshal([]byte(f.data), &rs) != nil || rs.Topic != "t" || rs.Offset != 60 {
		t.Fatalf("frame %+v", f)
	}
	close(draining)
	if f := next(t, frames); f.event != "close" || !strings.Contains(f.data, realtime.ReasonShutdown) {
		t.Fatalf("at shutdown: %+v", f)
	}
}

func FuzzDecodePositions(f *testing.F) {
	f.Add("")
	f.Add(realtime.EncodePositions(map[string]realtime.Position{"channel:1": {Epoch: "e.1", Offset: 3}}))
	f.Add("e30")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, id string) {
		p, err := realtime.DecodePositions(id)
		if err != nil {
			return
		}
		if len(p) > 100 || len(id) > 8<<10 {
			t.Fatalf("accepted %d positions from %d bytes", len(p), len(id))
		}
		// What it accepts it can give back.
		if id != "" {
			if _, err := realtime.DecodePositions(realtime.EncodePositions(p)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A signal (typing) reaches SSE clients but is not a place to resume
// from: the id after it still names the last stored event.
func TestSSESignalKeepsResumePosition(t *testing.T) {
	h := newHub(t, 64, members{"ada": {"channel:1"}})
	srv := sseServer(t, h, nil)
	_, frames, _ := openSSE(t, srv.URL+"/?topics=channel:1", "ada", "")
	for h.Subscribers("channel:1") != 1 {
		time.Sleep(time.Millisecond)
	}
	publish(t, h, "channel:1", 1)
	stored := next(t, frames)
	h.Signal(context.Background(), "channel:1", realtime.Event{Type: "typing", Data: []byte(`{"userId":"bob"}`)})
	sig := next(t, frames)
	if sig.event != "typing" || eventOf(t, sig).Offset != 0 {
		t.Fatalf("signal frame %+v", sig)
	}
	if sig.id != stored.id {
		t.Fatalf("a signal moved the resume id from %q to %q", stored.id, sig.id)
	}
}
