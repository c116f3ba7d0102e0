package notifyrpc

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quikapp/quikapp/internal/notify"
)

// SSEPath serves the live stream as Server-Sent Events for clients without
// a Connect library (contract §12).
const SSEPath = "/v1/events"

// sseReplayLimit bounds how many missed notifications a reconnecting
// client is sent; beyond it the client is told to resync from the inbox.
const sseReplayLimit = notify.MaxPageSize

var sseJSON = protojson.MarshalOptions{}

// ServeSSE streams the caller's live events as text/event-stream:
//
//	event: session       data: {"sessionId":…,"timestampMs":…}   (first)
//	event: notification  id: <createdAtMs>.<id>  data: <Notification JSON>
//	event: data_change   data: <DataChangeEvent JSON>
//	event: heartbeat     data: {"timestampMs":…}
//	event: resync        data: {}   (more was missed than can be replayed)
//
// A client that reconnects with Last-Event-ID gets the notifications it
// missed, oldest first, before live ones.
func (s *ClientService) ServeSSE(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	id, err := s.cfg.Auth.Client(r.Header.Get("Authorization"))
	if err != nil {
		http.Error(w, "notify: unauthenticated", http.StatusUnauthorized)
		return
	}
	if s.cfg.Hub == nil {
		http.Error(w, "notify: live connections are disabled", http.StatusNotImplemented)
		return
	}
	since, sinceID, err := parseLastEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc := http.NewResponseController(w)
	sess, err := s.cfg.Hub.Open(id.TenantID, id.UserID, notify.DeviceBrowser)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.cfg.Hub.Close(sess)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // keep proxies from buffering the stream
	w.WriteHeader(http.StatusOK)

	now := func() int64 { return s.cfg.Now().UnixMilli() }
	if writeSSE(w, "session", "", fmt.Sprintf(`{"sessionId":%q,"timestampMs":%d}`, sess.ID, now())) != nil {
		return
	}
	// Replay after the session is registered, so nothing published in
	// between is lost; events seen in the replay are not sent twice.
	replayed := map[string]bool{}
	if since > 0 {
		missed, complete, err := s.missedSince(r, id, since, sinceID)
		if err != nil {
			s.cfg.Log.Error("sse_replay_failed", "error", err)
			return
		}
		if !complete {
			if writeSSE(w, "resync", "", "{}") != nil {
				return
			}
		}
		for _, n := range missed {
			replayed[n.ID] = true
			if s.writeNotification(w, n) != nil {
				return
			}
		}
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-sess.Done():
			return
		case <-tick.C:
			err = writeSSE(w, "heartbeat", "", fmt.Sprintf(`{"timestampMs":%d}`, now()))
		case ev := <-sess.Events():
			switch ev.Kind {
			case notify.EventNotification:
				if replayed[ev.Notification.ID] {
					continue
				}
				err = s.writeNotification(w, ev.Notification)
			case notify.EventDataChange:
				b, _ := sseJSON.Marshal(eventToProto(sess.ID, ev).GetDataChange())
				err = writeSSE(w, "data_change", "", string(b))
			}
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func (s *ClientService) writeNotification(w io.Writer, n notify.Notification) error {
	b, err := sseJSON.Marshal(toProto(n))
	if err != nil {
		return err
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.StreamEventSent(string(notify.EventNotification))
	}
	return writeSSE(w, "notification", strconv.FormatInt(n.CreatedAtMs, 10)+"."+n.ID, string(b))
}

// missedSince returns the caller's rows created at or after since (but not
// the one the client last saw), oldest first, and whether that is all of
// them.
func (s *ClientService) missedSince(r *http.Request, id notify.Identity, since int64, sinceID string) ([]notify.Notification, bool, error) {
	page, err := s.cfg.Engine.ListInbox(r.Context(), id.TenantID, id.UserID, 0, sseReplayLimit, false)
	if err != nil {
		return nil, false, err
	}
	var out []notify.Notification
	complete := page.NextBefore == 0
	for _, n := range page.Items {
		if n.CreatedAtMs < since {
			complete = true
			break
		}
		if n.ID != sinceID {
			out = append(out, n)
		}
	}
	slices.Reverse(out)
	return out, complete, nil
}

// parseLastEventID reads "<createdAtMs>.<id>" (or a bare createdAtMs).
func parseLastEventID(v string) (int64, string, error) {
	if v == "" {
		return 0, "", nil
	}
	ms, rowID, _ := strings.Cut(v, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n <= 0 || len(v) > 128 {
		return 0, "", errors.New("Last-Event-ID must be an event id this server sent")
	}
	return n, rowID, nil
}

// writeSSE writes one event; data never holds a newline (compact JSON).
func writeSSE(w io.Writer, event, id, data string) error {
	var b strings.Builder
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteByte('\n')
	if id != "" {
		b.WriteString("id: ")
		b.WriteString(id)
		b.WriteByte('\n')
	}
	b.WriteString("data: ")
	b.WriteString(data)
	b.WriteString("\n\n")
	_, err := io.WriteString(w, b.String())
	return err
}
