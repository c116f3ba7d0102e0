package message

import (
	"log/slog"
	"net/http"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Routes serves messages.
type Routes struct {
	Svc *Service
	Log *slog.Logger
}

// Mount registers the routes.
func (h *Routes) Mount(rt *gateway.Router) {
	r := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Authed(pattern, httpapi.Handle(h.Log, fn), append(opts, gateway.Summary(summary))...)
	}
	r("GET /api/v1/channels/{id}/messages", "History: ?before=|after=|around=<messageId>|cursor=&limit= (oldest first)",
		h.history, gateway.Response(200, httpapi.List[Message]{}))
	r("POST /api/v1/channels/{id}/messages", "Send a message (the same clientMessageId twice gives the first back)",
		h.post, gateway.Request(PostRequest{}), gateway.Response(201, Message{}))
	r("GET /api/v1/messages/{id}", "A message", h.get, gateway.Response(200, Message{}))
	r("PATCH /api/v1/messages/{id}", "Edit a message (its author)", h.edit, gateway.Request(EditRequest{}), gateway.Response(200, Message{}))
	r("DELETE /api/v1/messages/{id}", "Delete a message (its author, or moderators)", h.delete, gateway.Response(204, nil))
	r("GET /api/v1/messages/{id}/replies", "A thread's replies, oldest first", h.replies, gateway.Response(200, httpapi.List[Message]{}))
	r("POST /api/v1/messages/{id}/reactions", "Add an emoji reaction (again: no change)", h.react(true),
		gateway.Request(ReactionRequest{}), gateway.Response(200, Message{}))
	r("DELETE /api/v1/messages/{id}/reactions", "Remove one's emoji reaction (body {emoji} or ?emoji=)", h.react(false),
		gateway.Response(200, Message{}))
	r("POST /api/v1/channels/{id}/read", "Mark read up to a message (unread: true marks unread from it)", h.read,
		gateway.Request(ReadRequest{}), gateway.Response(200, ReadState{}))
	r("GET /api/v1/workspaces/{id}/sidebar", "The caller's channels with unread and mention counts, and totals", h.sidebar,
		gateway.Response(200, SidebarResponse{}))
}

// ReactionRequest names an emoji.
type ReactionRequest struct {
	Emoji string `json:"emoji"`
}

// ReadRequest moves a read position.
type ReadRequest struct {
	MessageID string `json:"messageId"`
	Unread    bool   `json:"unread"`
}

// SidebarResponse is the caller's channels with counts.
type SidebarResponse struct {
	Items  []SidebarChannel `json:"items"`
	Totals ReadState        `json:"totals"`
}

func (h *Routes) react(add bool) httpapi.HandlerFunc {
	return func(r *http.Request) (int, any, error) {
		var in ReactionRequest
		if e := r.URL.Query().Get("emoji"); !add && e != "" && r.ContentLength <= 0 {
			in.Emoji = e
		} else if err := httpapi.Decode(r, &in, 0); err != nil {
			return 0, nil, err
		}
		m, err := h.Svc.React(r.Context(), actor(r), r.PathValue("id"), in.Emoji, add)
		return http.StatusOK, m, err
	}
}

func (h *Routes) read(r *http.Request) (int, any, error) {
	var in ReadRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	st, err := h.Svc.MarkRead(r.Context(), actor(r), r.PathValue("id"), in.MessageID, in.Unread)
	return http.StatusOK, st, err
}

func (h *Routes) sidebar(r *http.Request) (int, any, error) {
	items, totals, err := h.Svc.Sidebar(r.Context(), actor(r), r.PathValue("id"))
	totals.ChannelID = ""
	return http.StatusOK, SidebarResponse{Items: items, Totals: totals}, err
}

func actor(r *http.Request) access.Actor {
	a, _ := access.ActorFrom(r.Context())
	return a
}

// PostRequest is a message to send.
type PostRequest struct {
	Text            string `json:"text"`
	ClientMessageID string `json:"clientMessageId"`
	ThreadID        string `json:"threadId"`
}

// EditRequest is a message's new text.
type EditRequest struct {
	Text string `json:"text"`
}

func page(r *http.Request) (Page, error) {
	q := r.URL.Query()
	limit, err := httpapi.Limit(r, 50, MaxPage)
	return Page{Before: q.Get("before"), After: q.Get("after"), Around: q.Get("around"), Cursor: q.Get("cursor"), Limit: limit}, err
}

func (h *Routes) history(r *http.Request) (int, any, error) {
	p, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	items, next, err := h.Svc.History(r.Context(), actor(r), r.PathValue("id"), p)
	return http.StatusOK, httpapi.List[Message]{Items: items, NextCursor: next}, err
}

func (h *Routes) post(r *http.Request) (int, any, error) {
	var in PostRequest
	if err := httpapi.Decode(r, &in, 256<<10); err != nil {
		return 0, nil, err
	}
	m, created, err := h.Svc.Post(r.Context(), actor(r), r.PathValue("id"), in.Text, in.ClientMessageID, in.ThreadID)
	if !created {
		return http.StatusOK, m, err
	}
	return http.StatusCreated, m, err
}

func (h *Routes) get(r *http.Request) (int, any, error) {
	m, _, err := h.Svc.Get(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, m, err
}

func (h *Routes) edit(r *http.Request) (int, any, error) {
	var in EditRequest
	if err := httpapi.Decode(r, &in, 256<<10); err != nil {
		return 0, nil, err
	}
	m, err := h.Svc.Edit(r.Context(), actor(r), r.PathValue("id"), in.Text)
	return http.StatusOK, m, err
}

func (h *Routes) delete(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.Delete(r.Context(), actor(r), r.PathValue("id"))
}

func (h *Routes) replies(r *http.Request) (int, any, error) {
	p, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	items, next, err := h.Svc.Replies(r.Context(), actor(r), r.PathValue("id"), p)
	return http.StatusOK, httpapi.List[Message]{Items: items, NextCursor: next}, err
}
