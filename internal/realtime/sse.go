package realtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SSE limits: a Last-Event-ID carries the position of every topic of the
// stream, so both are bounded.
const (
	maxSSETopics      = 100
	maxLastEventIDLen = 8 << 10
)

// SSEConfig configures the Server-Sent Events transport.
type SSEConfig struct {
	Hub *Hub
	// Authenticate returns who is calling, or an error (answered 401).
	Authenticate func(r *http.Request) (Principal, error)
	// Heartbeat is the comment-line period that keeps proxies from closing
	// an idle stream (default 25 s).
	Heartbeat time.Duration
	// Draining, when it closes, ends every stream (server shutdown).
	Draining <-chan struct{}
}

// SSEHandler streams the topics named in ?topics=a,b as text/event-stream.
// Every event's id is the stream's position in all its topics, so a client
// that reconnects with Last-Event-ID resumes each topic exactly where it
// was (or gets a resync event for a topic whose gap history no longer
// holds). Frames:
//
//	event: <type>   id: <positions>  data: {"topic","offset","epoch","type","id","data"}
//	event: resync   data: {"topic","epoch","offset"}   (reload the topic, continue from there)
//	event: close    data: {"reason"}                   (then the stream ends)
func SSEHandler(cfg SSEConfig) http.Handler {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 25 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			refuse(w, r, http.StatusMethodNotAllowed, "use GET")
			return
		}
		p, err := cfg.Authenticate(r)
		if err != nil {
			refuse(w, r, http.StatusUnauthorized, "sign in first")
			return
		}
		topics, err := parseTopics(r.URL.Query().Get("topics"))
		if err != nil {
			refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		positions, err := DecodePositions(r.Header.Get("Last-Event-ID"))
		if err != nil {
			refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		conn, err := cfg.Hub.Connect(p)
		if err != nil {
			refuse(w, r, http.StatusServiceUnavailable, "the server is shutting down; reconnect")
			return
		}
		defer conn.Close(ReasonClient)
		for _, t := range topics {
			var from *Position
			if pos, ok := positions[t]; ok {
				from = &pos
			}
			if err := conn.Subscribe(r.Context(), t, from); err != nil {
				status, msg := subscribeStatus(err)
				refuse(w, r, status, msg)
				return
			}
		}
		serveSSE(w, r, cfg, conn, positions)
	})
}

func parseTopics(q string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(q, ",") {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		if len(t) > 200 {
			return nil, errors.New("topic names are at most 200 characters")
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("name the topics to stream: ?topics=a,b")
	}
	if len(out) > maxSSETopics {
		return nil, fmt.Errorf("at most %d topics per stream", maxSSETopics)
	}
	return out, nil
}

func serveSSE(w http.ResponseWriter, r *http.Request, cfg SSEConfig, conn *Conn, positions map[string]Position) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	if positions == nil {
		positions = map[string]Position{}
	}
	var batch []Frame
	tick := time.NewTicker(cfg.Heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-cfg.Draining:
			_ = writeEvent(w, "close", "", map[string]string{"reason": ReasonShutdown})
			_ = rc.Flush()
			return
		case <-conn.Done():
			_ = writeEvent(w, "close", "", map[string]string{"reason": conn.Reason()})
			_ = rc.Flush()
			return
		case <-tick.C:
			_, err = io.WriteString(w, ": ping\n\n")
		case <-conn.Wake():
			// Coalesce: everything queued goes out before one flush.
			batch = conn.Take(batch[:0])
			for _, f := range batch {
				if err = writeFrame(w, f, positions); err != nil {
					break
				}
			}
			clear(batch)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func writeFrame(w io.Writer, f Frame, positions map[string]Position) error {
	switch f.Kind {
	case FrameResync:
		positions[f.Topic] = f.Head
		return writeEvent(w, "resync", EncodePositions(positions), map[string]any{"topic": f.Topic, "epoch": f.Head.Epoch, "offset": f.Head.Offset})
	default:
		ev := f.Event
		if ev.Offset > 0 { // a signal (Offset 0) is not a place to resume from
			positions[ev.Topic] = Position{Epoch: ev.Epoch, Offset: ev.Offset}
		}
		b := f.encoded
		if b == nil {
			var err error
			if b, err = json.Marshal(ev); err != nil {
				return err
			}
		}
		return writeRaw(w, ev.Type, EncodePositions(positions), b)
	}
}

func writeEvent(w io.Writer, event, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return writeRaw(w, event, id, b)
}

// writeRaw writes one SSE event whose data is the compact JSON b.
func writeRaw(w io.Writer, event, id string, b []byte) error {
	var sb strings.Builder
	sb.WriteString("event: ")
	sb.WriteString(sseToken(event))
	sb.WriteByte('\n')
	if id != "" {
		sb.WriteString("id: ")
		sb.WriteString(id)
		sb.WriteByte('\n')
	}
	sb.WriteString("data: ")
	sb.Write(b) // compact JSON: no newlines
	sb.WriteString("\n\n")
	_, err := io.WriteString(w, sb.String())
	return err
}

// sseToken keeps an event name on one line.
func sseToken(s string) string {
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "message"
	}
	return s
}

// EncodePositions renders a stream's positions as an SSE event id.
func EncodePositions(p map[string]Position) string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePositions reads a Last-Event-ID this transport sent; empty means
// none.
func DecodePositions(id string) (map[string]Position, error) {
	if id == "" {
		return nil, nil
	}
	bad := errors.New("Last-Event-ID is not an id this server sent")
	if len(id) > maxLastEventIDLen {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return nil, bad
	}
	var p map[string]Position
	if err := json.Unmarshal(raw, &p); err != nil || len(p) > maxSSETopics {
		return nil, bad
	}
	return p, nil
}
