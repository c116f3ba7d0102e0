package access

import (
	"context"
	"testing"

	"github.com/quikapp/quikapp/internal/httpapi"
)

type fakeMembers map[string]Role // userID → role in workspace "w1"

func (f fakeMembers) RoleIn(_ context.Context, ws, user string) (Role, error) {
	if ws != "w1" {
		return None, nil
	}
	return f[user], nil
}

func (f fakeMembers) ShareWorkspace(_ context.Context, a, b string) (bool, error) {
	return f[a] != None && f[b] != None, nil
}

func code(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := httpapi.As(err); ok {
		return e.Code
	}
	return "error: " + err.Error()
}

func TestCanFollowsTheRoleLadder(t *testing.T) {
	c := NewChecker(fakeMembers{"owner": Owner, "admin": Admin, "mod": Moderator, "member": Member, "guest": Guest})
	ws := Resource{Kind: "workspace", ID: "w1", WorkspaceID: "w1"}
	cases := []struct {
		user   string
		action Action
		res    Resource
		want   string
	}{
		{"owner", WorkspaceDelete, ws, "ok"},
		{"admin", WorkspaceDelete, ws, "FORBIDDEN"},
		{"member", WorkspaceDelete, ws, "FORBIDDEN"},
		{"admin", WorkspaceUpdate, ws, "ok"},
		{"mod", WorkspaceUpdate, ws, "FORBIDDEN"},
		{"guest", WorkspaceRead, ws, "ok"},
		{"stranger", WorkspaceRead, ws, "NOT_FOUND"},
		{"owner", WorkspaceRead, Resource{Kind: "workspace", WorkspaceID: "w2"}, "NOT_FOUND"},
		{"guest", ChannelCreate, ws, "FORBIDDEN"},
		{"guest", FileUpload, ws, "FORBIDDEN"},
		{"guest", CallStart, ws, "FORBIDDEN"},
		{"member", ChannelCreate, ws, "ok"},
		{"guest", MessagePost, ws, "ok"},
		{"mod", MessageDelete, Resource{WorkspaceID: "w1", OwnerID: "member"}, "ok"},
		{"member", MessageDelete, Resource{WorkspaceID: "w1", OwnerID: "guest"}, "FORBIDDEN"},
		{"guest", MessageDelete, Resource{WorkspaceID: "w1", OwnerID: "guest"}, "ok"},
		{"member", MemberRemove, Resource{WorkspaceID: "w1", OwnerID: "member"}, "ok"},
		{"member", MemberRemove, Resource{WorkspaceID: "w1", OwnerID: "guest"}, "FORBIDDEN"},
		{"mod", ReportHandle, ws, "ok"},
		{"member", ReportHandle, ws, "FORBIDDEN"},
		{"member", UserUpdate, Resource{Kind: "user", OwnerID: "member"}, "ok"},
		{"member", UserUpdate, Resource{Kind: "user", OwnerID: "guest"}, "NOT_FOUND"},
		{"member", UserRead, Resource{Kind: "user", OwnerID: "guest"}, "ok"},
		{"stranger", UserRead, Resource{Kind: "user", OwnerID: "guest"}, "NOT_FOUND"},
		{"stranger", UserRead, Resource{Kind: "user", OwnerID: "stranger"}, "ok"},
		{"owner", AdminBan, Resource{Kind: "user"}, "FORBIDDEN"},
		{"owner", Action("no.such.action"), ws, "FORBIDDEN"},
	}
	for _, tc := range cases {
		got := code(c.Can(context.Background(), Actor{UserID: tc.user}, tc.action, tc.res))
		if got != tc.want {
			t.Errorf("%s %s %+v = %s, want %s", tc.user, tc.action, tc.res, got, tc.want)
		}
	}
}

func TestBannedAndAnonymousAndSystemAdmin(t *testing.T) {
	c := NewChecker(fakeMembers{"owner": Owner})
	ws := Resource{WorkspaceID: "w1"}
	if got := code(c.Can(context.Background(), Actor{UserID: "owner", Banned: true}, WorkspaceRead, ws)); got != "USER_BANNED" {
		t.Errorf("banned owner: %s", got)
	}
	if got := code(c.Can(context.Background(), Actor{}, WorkspaceRead, ws)); got != "UNAUTHENTICATED" {
		t.Errorf("anonymous: %s", got)
	}
	if got := code(c.Can(context.Background(), Actor{UserID: "root", SystemAdmin: true}, WorkspaceDelete, ws)); got != "ok" {
		t.Errorf("system admin: %s", got)
	}
	if got := code(c.Can(context.Background(), Actor{UserID: "root", SystemAdmin: true, Banned: true}, AdminBan, ws)); got != "USER_BANNED" {
		t.Errorf("banned system admin: %s", got)
	}
}

func TestEveryActionHasARule(t *testing.T) {
	for a, r := range rules {
		if r.verb == "" {
			t.Errorf("%s has no verb for its message", a)
		}
		if r.scope == scopeWorkspace && r.min == None {
			t.Errorf("%s has no minimum role", a)
		}
	}
	if _, ok := ParseRole("none"); ok {
		t.Error("none parsed as a role")
	}
	if r, ok := ParseRole("Moderator"); !ok || r != Moderator {
		t.Error("ParseRole(Moderator)")
	}
}
