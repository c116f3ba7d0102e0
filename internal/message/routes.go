package message

import (
	"log/slog"
	"net/http"
	"time"

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
	r("POST /api/v1/messages/{id}/pin", "Pin a message in its channel", h.pin(true), gateway.Response(204, nil))
	r("DELETE /api/v1/messages/{id}/pin", "Unpin a message", h.pin(false), gateway.Response(204, nil))
	r("GET /api/v1/channels/{id}/pins", "A channel's pinned messages", h.pins, gateway.Response(200, httpapi.List[Message]{}))
	r("POST /api/v1/messages/{id}/save", "Save a message for later", h.save(true), gateway.Response(204, nil))
	r("DELETE /api/v1/messages/{id}/save", "Forget a saved message", h.save(false), gateway.Response(204, nil))
	r("GET /api/v1/users/me/saved", "Saved messages", h.saved, gateway.Response(200, httpapi.List[Message]{}))
	r("GET /api/v1/channels/{id}/bookmarks", "A channel's bookmarked links", h.bookmarks, gateway.Response(200, httpapi.List[Bookmark]{}))
	r("POST /api/v1/channels/{id}/bookmarks", "Bookmark a link in a channel", h.addBookmark,
		gateway.Request(BookmarkRequest{}), gateway.Response(201, Bookmark{}))
	r("DELETE /api/v1/channels/{id}/bookmarks/{bookmarkId}", "Remove a bookmark", h.removeBookmark, gateway.Response(204, nil))
	r("POST /api/v1/messages/{id}/follow", "Follow a thread", h.follow(true), gateway.Response(204, nil))
	r("DELETE /api/v1/messages/{id}/follow", "Unfollow a thread", h.follow(false), gateway.Response(204, nil))
	r("POST /api/v1/messages/{id}/thread-read", "Mark a thread read to its end", h.threadRead, gateway.Response(204, nil))
	r("GET /api/v1/workspaces/{id}/threads", "Followed threads with unread replies", h.threads, gateway.Response(200, httpapi.List[ThreadSummary]{}))
	r("POST /api/v1/channels/{id}/scheduled", "Schedule a message", h.schedule, gateway.Request(ScheduleRequest{}), gateway.Response(201, Scheduled{}))
	r("GET /api/v1/users/me/scheduled", "Scheduled messages waiting (or failed)", h.listScheduled(KindMessage), gateway.Response(200, httpapi.List[Scheduled]{}))
	r("POST /api/v1/messages/{id}/reminders", "Remind me about this message", h.remind, gateway.Request(RemindRequest{}), gateway.Response(201, Scheduled{}))
	r("GET /api/v1/users/me/reminders", "Reminders waiting", h.listScheduled(KindReminder), gateway.Response(200, httpapi.List[Scheduled]{}))
	r("DELETE /api/v1/scheduled/{id}", "Cancel a scheduled message or reminder", h.cancel, gateway.Response(204, nil))
	r("GET /api/v1/channels/{id}/read-receipts", "How far the others in a direct conversation have read", h.receipts,
		gateway.Response(200, httpapi.List[Receipt]{}))
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
	// AlsoInChannel shows a reply in the channel too.
	AlsoInChannel bool `json:"alsoInChannel"`
	// FileIDs attaches uploaded files (POST /api/v1/files).
	FileIDs []string `json:"fileIds"`
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
	m, created, err := h.Svc.PostWithFiles(r.Context(), actor(r), r.PathValue("id"), in.Text, in.ClientMessageID, in.ThreadID, in.AlsoInChannel, in.FileIDs)
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

// BookmarkRequest is a link to keep.
type BookmarkRequest struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

func (h *Routes) pin(pinned bool) httpapi.HandlerFunc {
	return func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, h.Svc.SetPinned(r.Context(), actor(r), r.PathValue("id"), pinned)
	}
}

func (h *Routes) pins(r *http.Request) (int, any, error) {
	l, err := h.Svc.Pins(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[Message]{Items: l}, err
}

func (h *Routes) save(saved bool) httpapi.HandlerFunc {
	return func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, h.Svc.SetSaved(r.Context(), actor(r), r.PathValue("id"), saved)
	}
}

func (h *Routes) saved(r *http.Request) (int, any, error) {
	l, err := h.Svc.Saved(r.Context(), actor(r))
	return http.StatusOK, httpapi.List[Message]{Items: l}, err
}

func (h *Routes) bookmarks(r *http.Request) (int, any, error) {
	l, err := h.Svc.Bookmarks(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[Bookmark]{Items: l}, err
}

func (h *Routes) addBookmark(r *http.Request) (int, any, error) {
	var in BookmarkRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	b, err := h.Svc.AddBookmark(r.Context(), actor(r), r.PathValue("id"), in.Title, in.URL)
	return http.StatusCreated, b, err
}

func (h *Routes) removeBookmark(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.RemoveBookmark(r.Context(), actor(r), r.PathValue("id"), r.PathValue("bookmarkId"))
}

func (h *Routes) follow(on bool) httpapi.HandlerFunc {
	return func(r *http.Request) (int, any, error) {
		return http.StatusNoContent, nil, h.Svc.SetFollowing(r.Context(), actor(r), r.PathValue("id"), on)
	}
}

func (h *Routes) threadRead(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.MarkThreadRead(r.Context(), actor(r), r.PathValue("id"))
}

func (h *Routes) threads(r *http.Request) (int, any, error) {
	l, err := h.Svc.Threads(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[ThreadSummary]{Items: l}, err
}

// ScheduleRequest is a message to send later.
type ScheduleRequest struct {
	Text     string    `json:"text"`
	ThreadID string    `json:"threadId"`
	At       time.Time `json:"at"`
}

// RemindRequest says when.
type RemindRequest struct {
	At time.Time `json:"at"`
}

func (h *Routes) schedule(r *http.Request) (int, any, error) {
	var in ScheduleRequest
	if err := httpapi.Decode(r, &in, 256<<10); err != nil {
		return 0, nil, err
	}
	it, err := h.Svc.Schedule(r.Context(), actor(r), r.PathValue("id"), in.Text, in.ThreadID, in.At)
	return http.StatusCreated, it, err
}

func (h *Routes) remind(r *http.Request) (int, any, error) {
	var in RemindRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	it, err := h.Svc.Remind(r.Context(), actor(r), r.PathValue("id"), in.At)
	return http.StatusCreated, it, err
}

func (h *Routes) listScheduled(kind string) httpapi.HandlerFunc {
	return func(r *http.Request) (int, any, error) {
		l, err := h.Svc.ListScheduled(r.Context(), actor(r), kind)
		return http.StatusOK, httpapi.List[Scheduled]{Items: l}, err
	}
}

func (h *Routes) cancel(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.CancelScheduled(r.Context(), actor(r), r.PathValue("id"))
}

func (h *Routes) receipts(r *http.Request) (int, any, error) {
	l, err := h.Svc.Receipts(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, httpapi.List[Receipt]{Items: l}, err
}
