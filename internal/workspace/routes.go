package workspace

import (
	"log/slog"
	"net/http"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Routes serves workspaces.
type Routes struct {
	Svc *Service
	Log *slog.Logger
}

// Mount registers the routes.
func (h *Routes) Mount(rt *gateway.Router) {
	r := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Authed(pattern, httpapi.Handle(h.Log, fn), append(opts, gateway.Summary(summary))...)
	}
	r("POST /api/v1/workspaces", "Create a workspace (the caller becomes owner)", h.create, gateway.Request(CreateWorkspaceRequest{}), gateway.Response(201, Workspace{}))
	r("GET /api/v1/workspaces", "The caller's workspaces", h.list, gateway.Response(200, httpapi.List[Workspace]{}))
	r("GET /api/v1/workspaces/{id}", "A workspace", h.get, gateway.Response(200, Workspace{}))
	r("PATCH /api/v1/workspaces/{id}", "Rename a workspace or change its slug (admins)", h.update, gateway.Request(Patch{}), gateway.Response(200, Workspace{}))
	r("DELETE /api/v1/workspaces/{id}", "Delete a workspace (owner)", h.delete, gateway.Response(204, nil))
	r("GET /api/v1/workspaces/{id}/members", "Members, a page at a time", h.members, gateway.Response(200, httpapi.List[Member]{}))
	r("PATCH /api/v1/workspaces/{id}/members/{userId}", "Change a member's role (admins)", h.setRole, gateway.Request(SetRoleRequest{}), gateway.Response(200, Member{}))
	r("DELETE /api/v1/workspaces/{id}/members/{userId}", "Remove a member, or leave", h.removeMember, gateway.Response(204, nil))
	r("POST /api/v1/workspaces/{id}/invitations", "Invite someone by email", h.invite, gateway.Request(InviteRequest{}), gateway.Response(201, Invitation{}))
	r("GET /api/v1/workspaces/{id}/invitations", "Open invitations (admins)", h.invitations, gateway.Response(200, httpapi.List[Invitation]{}))
	r("POST /api/v1/invitations/accept", "Accept an invitation with its token", h.accept, gateway.Request(AcceptInvitationRequest{}), gateway.Response(200, Workspace{}))
}

func actor(r *http.Request) access.Actor {
	a, _ := access.ActorFrom(r.Context())
	return a
}

func (h *Routes) create(r *http.Request) (int, any, error) {
	var in CreateWorkspaceRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	ws, err := h.Svc.Create(r.Context(), actor(r), in.Name, in.Slug)
	return http.StatusCreated, ws, err
}

func (h *Routes) list(r *http.Request) (int, any, error) {
	l, err := h.Svc.List(r.Context(), actor(r))
	return http.StatusOK, httpapi.List[Workspace]{Items: l}, err
}

func (h *Routes) get(r *http.Request) (int, any, error) {
	ws, err := h.Svc.Get(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, ws, err
}

func (h *Routes) update(r *http.Request) (int, any, error) {
	var p Patch
	if err := httpapi.Decode(r, &p, 0); err != nil {
		return 0, nil, err
	}
	ws, err := h.Svc.Update(r.Context(), actor(r), r.PathValue("id"), p)
	return http.StatusOK, ws, err
}

func (h *Routes) delete(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.Delete(r.Context(), actor(r), r.PathValue("id"))
}

func (h *Routes) members(r *http.Request) (int, any, error) {
	limit, err := httpapi.Limit(r, 100, 500)
	if err != nil {
		return 0, nil, err
	}
	items, next, err := h.Svc.Members(r.Context(), actor(r), r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	return http.StatusOK, httpapi.List[Member]{Items: items, NextCursor: next}, err
}

func (h *Routes) setRole(r *http.Request) (int, any, error) {
	var in SetRoleRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	m, err := h.Svc.ChangeRole(r.Context(), actor(r), r.PathValue("id"), r.PathValue("userId"), in.Role)
	return http.StatusOK, m, err
}

func (h *Routes) removeMember(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.RemoveMember(r.Context(), actor(r), r.PathValue("id"), r.PathValue("userId"))
}

func (h *Routes) invite(r *http.Request) (int, any, error) {
	var in InviteRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	inv, err := h.Svc.Invite(r.Context(), actor(r), r.PathValue("id"), in.Email, in.Role)
	return http.StatusCreated, inv, err
}

func (h *Routes) invitations(r *http.Request) (int, any, error) {
	l, err := h.Svc.Invitations(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[Invitation]{Items: l}, err
}

func (h *Routes) accept(r *http.Request) (int, any, error) {
	var in AcceptInvitationRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	ws, err := h.Svc.Accept(r.Context(), actor(r), in.Token)
	return http.StatusOK, ws, err
}

// CreateWorkspaceRequest is the body of create.
type CreateWorkspaceRequest struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// SetRoleRequest is the body of setRole.
type SetRoleRequest struct {
	Role string `json:"role"`
}

// InviteRequest is the body of invite.
type InviteRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// AcceptInvitationRequest is the body of accept.
type AcceptInvitationRequest struct {
	Token string `json:"token"`
}
