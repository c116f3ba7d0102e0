package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/realtime"
)

// maxPresenceUsers bounds one presence lookup.
const maxPresenceUsers = 100

// signalTimeout bounds the lookups behind one presence signal.
const signalTimeout = 5 * time.Second

// PresenceChoice is the body of PUT /api/v1/users/me/presence.
type PresenceChoice struct {
	// Status is auto (online while connected), away, dnd or invisible
	// (shown to others as offline).
	Status string `json:"status"`
}

// PresenceState is what others see of a user.
type PresenceState struct {
	UserID string `json:"userId"`
	Status string `json:"status"` // online, away, dnd or offline
}

func (m *realtimeModule) mountPresence(rt *gateway.Router) {
	rt.Authed("PUT /api/v1/users/me/presence", httpapi.Handle(m.d.Log, m.putPresence),
		gateway.Summary("Choose how others see you: auto, away, dnd or invisible"),
		gateway.Request(PresenceChoice{}), gateway.Response(200, PresenceState{}))
	rt.Authed("GET /api/v1/presence", httpapi.Handle(m.d.Log, m.getPresence),
		gateway.Summary("Presence of up to 100 people you share a workspace with: ?users=id,id"),
		gateway.Response(200, httpapi.List[PresenceState]{}))
}

func (m *realtimeModule) putPresence(r *http.Request) (int, any, error) {
	var in PresenceChoice
	if err := httpapi.Decode(r, &in, 1<<10); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	if err := m.presence.SetStatus("", a.UserID, in.Status); err != nil {
		return 0, nil, httpapi.InvalidField("status", "status is auto, away, dnd or invisible")
	}
	// You see your own choice; others see invisible as offline.
	up := m.presence.Get("", a.UserID)
	st := PresenceState{UserID: a.UserID, Status: up.Status}
	if in.Status == realtime.ChoiceInvisible {
		st.Status = realtime.ChoiceInvisible
	}
	return http.StatusOK, st, nil
}

func (m *realtimeModule) getPresence(r *http.Request) (int, any, error) {
	raw := r.URL.Query().Get("users")
	if raw == "" {
		return 0, nil, httpapi.InvalidField("users", "name the people: ?users=id,id")
	}
	ids := strings.Split(raw, ",")
	if len(ids) > maxPresenceUsers {
		return 0, nil, httpapi.InvalidField("users", "at most 100 people per lookup")
	}
	a, _ := access.ActorFrom(r.Context())
	seen := map[string]bool{}
	out := httpapi.List[PresenceState]{Items: []PresenceState{}}
	for _, id := range ids {
		if id == "" || len(id) > 64 || seen[id] {
			continue
		}
		seen[id] = true
		// People you share no workspace with are left out, not refused,
		// so a lookup cannot probe who exists.
		err := m.d.Identity.Access.Can(r.Context(), a, access.UserRead, access.Resource{Kind: "user", OwnerID: id})
		if err != nil {
			if _, public := httpAPIError(err); !public {
				return 0, nil, err
			}
			continue
		}
		up := m.presence.Get("", id)
		out.Items = append(out.Items, PresenceState{UserID: id, Status: up.Status})
	}
	return http.StatusOK, out, nil
}

// presenceChanged tells the user's workspaces, on every node.
func (m *realtimeModule) presenceChanged(up realtime.PresenceUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	wss, err := m.d.Identity.Workspaces.List(ctx, access.Actor{UserID: up.UserID})
	if err != nil {
		m.d.Log.Warn("realtime: workspaces for a presence change", "user", up.UserID, "err", err)
		return
	}
	data, _ := json.Marshal(PresenceState{UserID: up.UserID, Status: up.Status})
	for _, ws := range wss {
		m.hub.Signal(ctx, "workspace:"+ws.ID, realtime.Event{Type: "presence.updated", Data: data})
	}
}

// typingChanged tells the topic's subscribers, on every node.
func (m *realtimeModule) typingChanged(tu realtime.TypingUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	data, _ := json.Marshal(tu)
	m.hub.Signal(ctx, tu.Topic, realtime.Event{Type: "typing", Data: data})
}
