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
