package audit

import (
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// Routes serves the log to workspace admins and system admins.
type Routes struct {
	DB     *store.DB
	Access *access.Checker
	Log    *slog.Logger
}

// Mount registers the routes.
func (h *Routes) Mount(rt *gateway.Router) {
	rt.Authed("GET /api/v1/workspaces/{id}/audit", http.HandlerFunc(h.workspaceLog),
		gateway.Summary("Audit log of a workspace (admins); ?format=csv|json exports"),
		gateway.Response(200, httpapi.List[Entry]{}))
	rt.Authed("GET /api/v1/admin/audit", http.HandlerFunc(h.systemLog),
		gateway.Summary("Audit log of the whole system (system admins)"),
		gateway.Response(200, httpapi.List[Entry]{}))
}

func (h *Routes) workspaceLog(w http.ResponseWriter, r *http.Request) {
	actor, _ := access.ActorFrom(r.Context())
	ws := r.PathValue("id")
	if err := h.Access.Can(r.Context(), actor, access.AuditRead, access.Resource{Kind: "workspace", ID: ws, WorkspaceID: ws}); err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	h.serve(w, r, Filter{WorkspaceID: ws})
}

func (h *Routes) systemLog(w http.ResponseWriter, r *http.Request) {
	actor, _ := access.ActorFrom(r.Context())
	if err := h.Access.Can(r.Context(), actor, access.AdminAudit, access.Resource{Kind: "audit log"}); err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	f := Filter{AllWorkspaces: true, WorkspaceID: r.URL.Query().Get("workspaceId")}
	h.serve(w, r, f)
}

// maxExport bounds one export; larger ranges are paged with since/until.
const maxExport = 10_000

func (h *Routes) serve(w http.ResponseWriter, r *http.Request, f Filter) {
	q := r.URL.Query()
	var p httpapi.Problems
	f.ActorID, f.Action, f.TargetID, f.Result, f.Cursor = q.Get("actorId"), q.Get("action"), q.Get("targetId"), q.Get("result"), q.Get("cursor")
	for _, tv := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if s := q.Get(tv.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				p.Add(tv.name, "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z")
			}
			*tv.dst = t
		}
	}
	if f.Result != "" && f.Result != Success && f.Result != Failure && f.Result != Denied {
		p.Add("result", "must be success, failure or denied")
	}
	format := q.Get("format")
	if format != "" && format != "csv" && format != "json" {
		p.Add("format", "must be csv or json")
	}
	limit, err := httpapi.Limit(r, 50, 500)
	if err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	if err := p.Err(); err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	f.Limit = limit
	if format != "" {
		f.Limit, f.Cursor = maxExport, ""
	}
	entries, next, err := Query(r.Context(), h.DB, f)
	if err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	if entries == nil {
		entries = []Entry{}
	}
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		writeCSV(w, entries)
	case "json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.json"`)
		_ = json.NewEncoder(w).Encode(entries)
	default:
		httpapi.Respond(w, http.StatusOK, httpapi.List[Entry]{Items: entries, NextCursor: next})
	}
}

func writeCSV(w http.ResponseWriter, entries []Entry) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "at", "workspaceId", "actorId", "action", "targetKind", "targetId", "result", "ip", "userAgent", "requestId", "detail"})
	for _, e := range entries {
		_ = cw.Write([]string{e.ID, e.At.Format(time.RFC3339Nano), e.WorkspaceID, e.ActorID, csvSafe(e.Action),
			e.TargetKind, e.TargetID, e.Result, csvSafe(e.IP), csvSafe(e.UserAgent), e.RequestID, csvSafe(e.Detail)})
	}
	cw.Flush()
}

// csvSafe defuses spreadsheet formulas: a user agent such as
// "=HYPERLINK(...)" must open as text, not run.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
