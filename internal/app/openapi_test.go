package app

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/gateway"
)

// Routes that take no body although they are POSTs.
var noBody = []string{
	"POST /api/v1/auth/logout", "POST /api/v1/auth/verify-email/request",
	"POST /api/v1/admin/users/{id}/ban", "POST /api/v1/admin/users/{id}/unban", "POST /api/v1/admin/users/{id}/reset-2fa",
	"PUT /api/v1/users/me/avatar", // the image itself, not JSON
	"POST /api/v1/files",          // multipart
	"PUT /api/v1/uploads/{id}",    // raw chunk bytes
	"POST /api/v1/uploads/{id}/complete", "POST /api/v1/files/{id}/complete",
	"POST /api/v1/channels/{id}/join", "POST /api/v1/channels/{id}/leave",
	"POST /api/v1/channels/{id}/archive", "POST /api/v1/channels/{id}/unarchive",
	"POST /api/v1/messages/{id}/pin", "POST /api/v1/messages/{id}/save",
	"POST /api/v1/messages/{id}/follow", "POST /api/v1/messages/{id}/thread-read",
	"POST /api/v1/notifications/read-all", "POST /api/v1/notifications/{id}/read",
}

// TestOpenAPIAgreesWithHandlers: the served document lists exactly the
// registered routes, every body-taking route documents its body, each
// handler accepts every documented field and refuses any other.
func TestOpenAPIAgreesWithHandlers(t *testing.T) {
	s := startAPI(t, "sqlite", nil)
	root := s.signUp("Root") // a system administrator, so access checks do not hide the decoder
	r := s.must(200, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.JSON(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	routes := s.run.app.routes.Routes()
	documented := 0
	for _, ops := range doc.Paths {
		documented += len(ops)
	}
	if documented != len(routes) {
		t.Errorf("document has %d operations, router %d", documented, len(routes))
	}
	for _, rt := range routes {
		pattern := rt.Method + " " + rt.Path
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s is not in the document", pattern)
			continue
		}
		var o struct {
			Summary  string
			Security *[]any
		}
		_ = json.Unmarshal(op, &o)
		if o.Summary == "" {
			t.Errorf("%s has no summary", pattern)
		}
		if rt.Public != (o.Security != nil) {
			t.Errorf("%s: document and router disagree on whether it is public", pattern)
		}
		wantsBody := (rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT") && !slices.Contains(noBody, pattern)
		if wantsBody != rt.HasBody() {
			t.Errorf("%s: documents a body: %v, want %v", pattern, rt.HasBody(), wantsBody)
		}
		if !rt.HasBody() {
			continue
		}
		path := strings.NewReplacer("{id}", "no-such-id", "{userId}", "no-such-user").Replace(rt.Path)
		// Every documented field is known to the handler.
		body := map[string]any{}
		for _, f := range gateway.RequestFields(rt) {
			body[f] = nil // null decodes into any field type
		}
		s.login(&root)
		if ans := s.do(rt.Method, path, root.Access, body); strings.Contains(ans.Body, "unknown field") || ans.Status >= 500 {
			t.Errorf("%s refuses its documented fields: %s", pattern, ans)
		}
		// And nothing else is.
		body["zzUndocumented"] = 1
		s.login(&root)
		if ans := s.do(rt.Method, path, root.Access, body); ans.Status != 400 || !strings.Contains(ans.Body, "zzUndocumented") {
			t.Errorf("%s accepts an undocumented field: %s", pattern, ans)
		}
	}
}
