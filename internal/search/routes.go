package search

import (
	"log/slog"
	"net/http"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Routes serves search.
type Routes struct {
	Svc *Service
	Log *slog.Logger
}

// Mount registers the route.
func (h *Routes) Mount(rt *gateway.Router) {
	rt.Authed("GET /api/v1/search", httpapi.Handle(h.Log, h.search),
		gateway.Summary(`Search: ?workspaceId=&q=&type=messages|channels|users|files&sort=newest|relevance&cursor=&limit= (q: words, "phrases", -word, from:@name, in:#channel, in:@name, before:/after:/on:YYYY-MM-DD, has:link|reaction|file, is:thread|pinned)`),
		gateway.Response(200, httpapi.List[Result]{}))
}

func (h *Routes) search(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	q := r.URL.Query()
	if q.Get("workspaceId") == "" {
		return 0, nil, httpapi.InvalidField("workspaceId", "is required")
	}
	limit, err := httpapi.Limit(r, 20, 100)
	if err != nil {
		return 0, nil, err
	}
	items, next, err := h.Svc.Search(r.Context(), a, Request{WorkspaceID: q.Get("workspaceId"), Query: q.Get("q"), Type: q.Get("type"),
		Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: limit})
	return http.StatusOK, httpapi.List[Result]{Items: items, NextCursor: next}, err
}
