package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// WebSocket close codes beyond RFC 6455's, in the private range.
const (
	CloseSlowConsumer websocket.StatusCode = 4008
	CloseBadFrame     websocket.StatusCode = 4000
)

// MaxClientFrameBytes bounds one client frame (typing, presence, ping).
const MaxClientFrameBytes = 4 << 10

// WSConfig configures the WebSocket transport.
type WSConfig struct {
	Hub          *Hub
	Authenticate func(r *http.Request) (Principal, error)
	// Presence, when set, hears connects, disconnects, typing and status
	// frames.
	Presence *Presence
	// PingInterval is how often the server pings (default 25 s); a peer
	// that does not answer within the interval is closed.
	PingInterval time.Duration
	// OriginPatterns lists other origins allowed to connect (same-origin
	// is always allowed); see websocket.AcceptOptions.
	OriginPatterns []string
	Draining       <-chan struct{}
}

// ClientFrame is what a client may send. Everything that changes data goes
// through the REST API instead, so it is validated and authorised once.
type ClientFrame struct {
	Type   string `json:"type"`             // ping, typing, presence
	Topic  string `json:"topic,omitempty"`  // typing
	Status string `json:"status,omitempty"` // presence: auto, away, dnd, invisible
}

// DecodeClientFrame parses and validates one client frame.
func DecodeClientFrame(b []byte) (ClientFrame, error) {
	var f ClientFrame
	if len(b) > MaxClientFrameBytes {
		return f, fmt.Errorf("frame larger than %d bytes", MaxClientFrameBytes)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return ClientFrame{}, errors.New("frame is not a JSON object")
	}
	switch f.Type {
	case "ping":
	case "typing":
		if f.Topic == "" || len(f.Topic) > 200 {
			return ClientFrame{}, errors.New("typing needs a topic")
		}
	case "presence":
		switch f.Status {
		case ChoiceAuto, ChoiceAway, ChoiceDND, ChoiceInvisible:
		default:
			return ClientFrame{}, errors.New("presence status must be auto, away, dnd or invisible")
		}
	default:
		return ClientFrame{}, fmt.Errorf("unknown frame type %q", f.Type)
	}
	return f, nil
}

// serverFrame is a non-event frame.
type serverFrame struct {
	Type    string `json:"type"`
	Topic   string `json:"topic,omitempty"`
	Epoch   string `json:"epoch,omitempty"`
	Offset  uint64 `json:"offset,omitempty"`
	Message string `json:"message,omitempty"`
}

// WSHandler upgrades GET ?topics=a,b[&resume=<positions>] to a WebSocket
// that carries the same events as the SSE transport: event frames are the
// Event JSON, resync frames {"type":"resync","topic","epoch","offset"}.
// resume takes the value of an SSE id (EncodePositions).
//
// Once upgraded, the connection is served by the process's engine (see
// wsEngine): no goroutine waits on it while it is idle.
func WSHandler(cfg WSConfig) http.Handler {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	e := theEngine()
	c := &cfg
	if cfg.Draining != nil {
		go e.drainOn(c)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := cfg.Authenticate(r)
		if err != nil {
			refuse(w, r, http.StatusUnauthorized, "sign in first")
			return
		}
		key, status, err := upgradeKey(r, cfg.OriginPatterns)
		if err != nil {
			refuse(w, r, status, err.Error())
			return
		}
		topics, err := parseTopics(r.URL.Query().Get("topics"))
		if err != nil {
			refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		positions, err := DecodePositions(r.URL.Query().Get("resume"))
		if err != nil {
			refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		select {
		case <-cfg.Draining:
			refuse(w, r, http.StatusServiceUnavailable, "the server is shutting down; reconnect")
			return
		default:
		}
		conn, err := cfg.Hub.Connect(p)
		if err != nil {
			refuse(w, r, http.StatusServiceUnavailable, "the server is shutting down; reconnect")
			return
		}
		// Subscribe before upgrading, so a forbidden topic is a plain 403.
		for _, t := range topics {
			var from *Position
			if pos, ok := positions[t]; ok {
				from = &pos
			}
			if err := conn.Subscribe(r.Context(), t, from); err != nil {
				conn.Close(ReasonClient)
				status, msg := subscribeStatus(err)
				refuse(w, r, status, msg)
				return
			}
		}
		h := w.Header()
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "Upgrade")
		h.Set("Sec-WebSocket-Accept", acceptKey(key))
		w.WriteHeader(http.StatusSwitchingProtocols)
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			conn.Close(ReasonClient)
			return
		}
		_ = nc.SetDeadline(time.Time{})
		// Bytes the client sent right after its request are in the
		// server's reader; take them, then let the reader go.
		buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
		e.serveConn(c, nc, append([]byte(nil), buffered...), conn)
	})
}

// drainOn closes cfg's connections with "going away" once cfg.Draining is
// closed.
func (e *wsEngine) drainOn(cfg *WSConfig) {
	<-cfg.Draining
	cfg.Hub.closeAll(ReasonShutdown)
}

// subscribed: typing is only accepted on a topic the connection may see.
func subscribed(c *Conn, topic string) bool {
	for _, t := range c.Topics() {
		if t == topic {
			return true
		}
	}
	return false
}
