// Package access is the one place that decides who may do what. Every
// handler asks Checker.Can before it acts; the rules are the table in
// rules.go, so a reviewer reads the whole policy in one screen.
//
// The answers follow product.md's access rules: a banned user gets
// USER_BANNED everywhere; someone outside a workspace gets NOT_FOUND for
// anything in it (guessing an id tells nothing); a member without the role
// gets FORBIDDEN.
package access

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/quikapp/quikapp/internal/httpapi"
)

// Role is a workspace role. Higher includes lower.
type Role int

// Roles, lowest first. None is "not a member".
const (
	None Role = iota
	Guest
	Member
	Moderator
	Admin
	Owner
)

var roleNames = []string{"none", "guest", "member", "moderator", "admin", "owner"}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads a role name; None is not a role one can be given.
func ParseRole(s string) (Role, bool) {
	for i, n := range roleNames[1:] {
		if strings.EqualFold(s, n) {
			return Role(i + 1), true
		}
	}
	return None, false
}

// Actor is who is acting: the signed-in user as the auth layer found them.
type Actor struct {
	UserID      string
	SessionID   string
	SystemAdmin bool
	Banned      bool
}

type actorKey struct{}

// WithActor stores a in ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor stored in ctx and whether there is one.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok && a.UserID != ""
}

// Resource is what an action is done to. WorkspaceID scopes it; OwnerID,
// when set, is the user the resource belongs to (a profile, a session, a
// message's author), for rules that let people act on their own things.
type Resource struct {
	Kind        string
	ID          string
	WorkspaceID string
	OwnerID     string
}

// Memberships answers what role a user holds in a workspace (None when
// they are not a member, or the workspace does not exist).
type Memberships interface {
	RoleIn(ctx context.Context, workspaceID, userID string) (Role, error)
	// ShareWorkspace reports whether two users are members of at least one
	// common workspace (who may see whose profile).
	ShareWorkspace(ctx context.Context, userA, userB string) (bool, error)
}

// Checker decides.
type Checker struct {
	members Memberships
}

// NewChecker returns a Checker that reads roles from m.
func NewChecker(m Memberships) *Checker { return &Checker{members: m} }

// Errors Can returns, in the public shape.
var (
	ErrBanned = &httpapi.Error{Status: http.StatusForbidden, Code: httpapi.CodeUserBanned,
		Message: "this account is banned"}
	errSignIn = httpapi.Unauthenticated("sign in first")
)

// Can returns nil when actor may do action to res, or the public error to
// answer with.
func (c *Checker) Can(ctx context.Context, actor Actor, action Action, res Resource) error {
	if actor.UserID == "" {
		return errSignIn
	}
	if actor.Banned {
		return ErrBanned
	}
	rule, ok := rules[action]
	if !ok {
		// An action without a rule is a programming error; refuse rather
		// than guess.
		return httpapi.Forbidden("this action is not allowed").Wrap(fmt.Errorf("access: no rule for %q", action))
	}
	if actor.SystemAdmin {
		return nil
	}
	switch rule.scope {
	case scopeSystem:
		return notFoundOrForbidden(rule, res)
	case scopeSelf:
		if res.OwnerID != "" && res.OwnerID == actor.UserID {
			return nil
		}
		return httpapi.NotFound(kindName(res))
	case scopePeer:
		if res.OwnerID == actor.UserID {
			return nil
		}
		ok, err := c.members.ShareWorkspace(ctx, actor.UserID, res.OwnerID)
		if err != nil {
			return fmt.Errorf("access: do %s and %s share a workspace: %w", actor.UserID, res.OwnerID, err)
		}
		if ok {
			return nil
		}
		return httpapi.NotFound(kindName(res))
	}
	// Workspace scope: the actor's own resources may have a lower bar.
	role, err := c.members.RoleIn(ctx, res.WorkspaceID, actor.UserID)
	if err != nil {
		return fmt.Errorf("access: role of %s in %s: %w", actor.UserID, res.WorkspaceID, err)
	}
	if role == None {
		return httpapi.NotFound(kindName(res))
	}
	if rule.ownerMin != None && res.OwnerID == actor.UserID && role >= rule.ownerMin {
		return nil
	}
	if role >= rule.min {
		return nil
	}
	return httpapi.Forbidden(fmt.Sprintf("your role (%s) may not %s; it needs %s or above", role, rule.verb, rule.min))
}

// RoleIn exposes the membership lookup to handlers that shape answers by
// role (after Can allowed the action).
func (c *Checker) RoleIn(ctx context.Context, workspaceID, userID string) (Role, error) {
	return c.members.RoleIn(ctx, workspaceID, userID)
}

func notFoundOrForbidden(r rule, res Resource) error {
	if r.hide {
		return httpapi.NotFound(kindName(res))
	}
	return httpapi.Forbidden("only a system administrator may " + r.verb)
}

func kindName(res Resource) string {
	if res.Kind == "" {
		return "resource"
	}
	return res.Kind
}
