package channel

import (
	"log/slog"
	"net/http"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Routes serves channels.
type Routes struct {
	Svc *Service
	Log *slog.Logger
}

// Mount registers the routes.
func (h *Routes) Mount(rt *gateway.Router) {
	rt.Authed("GET /api/v1/workspaces/{id}/channels", httpapi.Handle(h.Log, h.list),
		gateway.Summary("Channels the caller can see: every public one and their private ones"), gateway.Response(200, httpapi.List[Channel]{}))
	rt.Authed("POST /api/v1/workspaces/{id}/channels", httpapi.Handle(h.Log, h.create),
		gateway.Summary("Create a channel"), gateway.Request(CreateRequest{}), gateway.Response(201, Channel{}))
	rt.Authed("GET /api/v1/channels/{id}", httpapi.Handle(h.Log, h.get),
		gateway.Summary("A channel"), gateway.Response(200, Channel{}))
	rt.Authed("PATCH /api/v1/channels/{id}", httpapi.Handle(h.Log, h.update),
		gateway.Summary("Rename (creator or admin) or set topic and purpose (members)"), gateway.Request(Patch{}), gateway.Response(200, Channel{}))
	rt.Authed("POST /api/v1/channels/{id}/archive", httpapi.Handle(h.Log, h.archive(true)),
		gateway.Summary("Archive a channel (creator or admin)"), gateway.Response(200, Channel{}))
	rt.Authed("POST /api/v1/channels/{id}/unarchive", httpapi.Handle(h.Log, h.archive(false)),
		gateway.Summary("Unarchive a channel"), gateway.Response(200, Channel{}))
	rt.Authed("GET /api/v1/channels/{id}/members", httpapi.Handle(h.Log, h.members),
		gateway.Summary("A channel's members"), gateway.Response(200, httpapi.List[string]{}))
	rt.Authed("GET /api/v1/channels/{id}/preferences", httpapi.Handle(h.Log, h.getPrefs),
		gateway.Summary("The caller's mute, notification level, star and section"), gateway.Response(200, Preferences{}))
	rt.Authed("PATCH /api/v1/channels/{id}/preferences", httpapi.Handle(h.Log, h.setPrefs),
		gateway.Summary("Change the caller's channel preferences"), gateway.Request(PreferencesPatch{}), gateway.Response(200, Preferences{}))
	rt.Authed("POST /api/v1/dms", httpapi.Handle(h.Log, h.openDM),
		gateway.Summary("Open the direct conversation with people (found or created)"), gateway.Request(DMRequest{}), gateway.Response(200, Channel{}))
	rt.Authed("GET /api/v1/workspaces/{id}/dms", httpapi.Handle(h.Log, h.dms),
		gateway.Summary("The caller's direct conversations"), gateway.Response(200, httpapi.List[Channel]{}))
	rt.Authed("POST /api/v1/channels/{id}/join", httpapi.Handle(h.Log, h.join),
		gateway.Summary("Join a public channel"), gateway.Response(200, Channel{}))
	rt.Authed("POST /api/v1/channels/{id}/leave", httpapi.Handle(h.Log, h.leave),
		gateway.Summary("Leave a channel"), gateway.Response(204, nil))
	rt.Authed("POST /api/v1/channels/{id}/members", httpapi.Handle(h.Log, h.addMembers),
		gateway.Summary("Add workspace members to a channel"), gateway.Request(AddMembersRequest{}), gateway.Response(204, nil))
	rt.Authed("DELETE /api/v1/channels/{id}/members/{userId}", httpapi.Handle(h.Log, h.removeMember),
		gateway.Summary("Remove someone from a channel (admins), or leave"), gateway.Response(204, nil))
}

// AddMembersRequest lists whom to add.
type AddMembersRequest struct {
	UserIDs []string `json:"userIds"`
}

func (h *Routes) join(r *http.Request) (int, any, error) {
	c, err := h.Svc.Join(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, c, err
}

func (h *Routes) leave(r *http.Request) (int, any, error) {
	a := actor(r)
	return http.StatusNoContent, nil, h.Svc.RemoveMember(r.Context(), a, r.PathValue("id"), a.UserID)
}

func (h *Routes) addMembers(r *http.Request) (int, any, error) {
	var in AddMembersRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, h.Svc.AddMembers(r.Context(), actor(r), r.PathValue("id"), in.UserIDs)
}

func (h *Routes) removeMember(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.RemoveMember(r.Context(), actor(r), r.PathValue("id"), r.PathValue("userId"))
}

func actor(r *http.Request) access.Actor {
	a, _ := access.ActorFrom(r.Context())
	return a
}

// CreateRequest is the body of POST /api/v1/workspaces/{id}/channels.
type CreateRequest struct {
	Name  string `json:"name"`
	Type  string `json:"type"` // public (default) or private
	Topic string `json:"topic"`
}

func (h *Routes) list(r *http.Request) (int, any, error) {
	l, err := h.Svc.List(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[Channel]{Items: l}, err
}

func (h *Routes) create(r *http.Request) (int, any, error) {
	var in CreateRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	c, err := h.Svc.Create(r.Context(), actor(r), r.PathValue("id"), in.Name, in.Type, in.Topic)
	return http.StatusCreated, c, err
}

func (h *Routes) get(r *http.Request) (int, any, error) {
	c, err := h.Svc.Get(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, c, err
}

// DMRequest names the other people.
type DMRequest struct {
	UserIDs     []string `json:"userIds"`
	WorkspaceID string   `json:"workspaceId"`
}

func (h *Routes) update(r *http.Request) (int, any, error) {
	var p Patch
	if err := httpapi.Decode(r, &p, 0); err != nil {
		return 0, nil, err
	}
	c, err := h.Svc.Update(r.Context(), actor(r), r.PathValue("id"), p)
	return http.StatusOK, c, err
}

func (h *Routes) archive(archived bool) httpapi.HandlerFunc {
	return func(r *http.Request) (int, any, error) {
		c, err := h.Svc.SetArchived(r.Context(), actor(r), r.PathValue("id"), archived)
		return http.StatusOK, c, err
	}
}

func (h *Routes) members(r *http.Request) (int, any, error) {
	l, err := h.Svc.Members(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[string]{Items: l}, err
}

func (h *Routes) getPrefs(r *http.Request) (int, any, error) {
	a := actor(r)
	if _, err := h.Svc.Get(r.Context(), a, r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	p, err := h.Svc.Preferences(r.Context(), h.Svc.db, r.PathValue("id"), a.UserID)
	return http.StatusOK, p, err
}

func (h *Routes) setPrefs(r *http.Request) (int, any, error) {
	var p PreferencesPatch
	if err := httpapi.Decode(r, &p, 0); err != nil {
		return 0, nil, err
	}
	out, err := h.Svc.SetPreferences(r.Context(), actor(r), r.PathValue("id"), p)
	return http.StatusOK, out, err
}

func (h *Routes) openDM(r *http.Request) (int, any, error) {
	var in DMRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	c, err := h.Svc.OpenDM(r.Context(), actor(r), in.WorkspaceID, in.UserIDs)
	return http.StatusOK, c, err
}

func (h *Routes) dms(r *http.Request) (int, any, error) {
	a := actor(r)
	if err := h.Svc.access.Can(r.Context(), a, access.WorkspaceRead, access.Resource{Kind: "workspace", ID: r.PathValue("id"), WorkspaceID: r.PathValue("id")}); err != nil {
		return 0, nil, err
	}
	l, err := h.Svc.Conversations(r.Context(), a, r.PathValue("id"))
	return http.StatusOK, httpapi.List[Channel]{Items: l}, err
}
