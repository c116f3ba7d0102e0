package realtime

import (
	"context"
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
func WSHandler(cfg WSConfig) http.Handler {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		positions, err := DecodePositions(r.URL.Query().Get("resume"))
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
		// Subscribe before upgrading, so a forbidden topic is a plain 403.
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
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: cfg.OriginPatterns})
		if err != nil {
			return // Accept has answered the client
		}
		ws.SetReadLimit(MaxClientFrameBytes)
		if cfg.Presence != nil {
			cfg.Presence.Connected(p.TenantID, p.UserID)
			defer cfg.Presence.Disconnected(p.TenantID, p.UserID)
		}
		serveWS(r.Context(), cfg, ws, conn)
	})
}

func serveWS(ctx context.Context, cfg WSConfig, ws *websocket.Conn, conn *Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	replies := make(chan serverFrame, 8)
	readErr := make(chan error, 1)
	go func() { readErr <- readLoop(ctx, cfg, ws, conn, replies) }()

	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	write := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		return ws.Write(wctx, websocket.MessageText, b)
	}
	for {
		var err error
		select {
		case <-cfg.Draining:
			_ = ws.Close(websocket.StatusGoingAway, ReasonShutdown)
			return
		case <-conn.Done():
			code := websocket.StatusNormalClosure
			if conn.Reason() == ReasonSlowConsumer {
				code = CloseSlowConsumer
			}
			_ = ws.Close(code, conn.Reason())
			return
		case err = <-readErr:
			if errors.Is(err, errBadFrame) {
				_ = ws.Close(CloseBadFrame, err.Error())
			} else {
				ws.CloseNow()
			}
			return
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, cfg.PingInterval)
			err = ws.Ping(pctx) // a dead peer does not pong
			pcancel()
		case rep := <-replies:
			err = write(rep)
		case <-conn.Wake():
			for _, f := range conn.Take(nil) {
				if f.Kind == FrameResync {
					err = write(serverFrame{Type: "resync", Topic: f.Topic, Epoch: f.Head.Epoch, Offset: f.Head.Offset})
				} else {
					err = write(f.Event)
				}
				if err != nil {
					break
				}
			}
		}
		if err != nil {
			ws.CloseNow()
			return
		}
	}
}

var errBadFrame = errors.New("bad frame")

// readLoop handles client frames until the peer goes away or sends
// something that is not a frame we accept (then the connection closes with
// CloseBadFrame and the reason).
func readLoop(ctx context.Context, cfg WSConfig, ws *websocket.Conn, conn *Conn, replies chan<- serverFrame) error {
	p := conn.Principal()
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			return fmt.Errorf("%w: binary frames are not accepted", errBadFrame)
		}
		f, err := DecodeClientFrame(b)
		if err != nil {
			return fmt.Errorf("%w: %v", errBadFrame, err)
		}
		switch f.Type {
		case "ping":
			select {
			case replies <- serverFrame{Type: "pong"}:
			default: // the writer is behind; a missing pong is harmless
			}
		case "typing":
			if cfg.Presence != nil && subscribed(conn, f.Topic) {
				cfg.Presence.Typing(p.TenantID, p.UserID, f.Topic)
			}
		case "presence":
			if cfg.Presence != nil {
				_ = cfg.Presence.SetStatus(p.TenantID, p.UserID, f.Status)
			}
		}
	}
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
