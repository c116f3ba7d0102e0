package notifyd

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// Identity is the authenticated client: user, tenant and optional email.
// It is notify's type so the Authenticator plugs into the RPC layer as is.
type Identity = notify.Identity

// ErrUnauthenticated is wrapped by every authentication failure; the RPC
// layer maps it to the unauthenticated code. Messages carry a short reason
// and never the token or a secret.
var ErrUnauthenticated = errors.New("notify: unauthenticated")

func unauthenticated(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}

// maxTokenLen bounds what is decoded and hashed per request; real tokens
// are well under 2 KiB.
const maxTokenLen = 8 << 10

// AuthConfig configures an Authenticator (contract §3).
type AuthConfig struct {
	JWTSecret     []byte        // HS256 key; empty: dev tokens (dev mode) or nothing
	Issuer        string        // when set, iss must equal it
	Audience      string        // when set, aud must contain it
	Leeway        time.Duration // slack for exp and nbf
	DevMode       bool
	InternalToken string           // empty: internal port open only in dev mode
	Now           func() time.Time // nil: time.Now
}

// Authenticator checks both ports' credentials. It is safe for concurrent
// use.
type Authenticator struct {
	secret        []byte
	issuer        string
	audience      string
	leeway        time.Duration
	devMode       bool
	internalToken string
	now           func() time.Time
}

// NewAuthenticator returns an Authenticator for cfg. A negative leeway is
// treated as none.
func NewAuthenticator(cfg AuthConfig) *Authenticator {
	a := &Authenticator{
		secret:        append([]byte(nil), cfg.JWTSecret...),
		issuer:        cfg.Issuer,
		audience:      cfg.Audience,
		leeway:        max(cfg.Leeway, 0),
		devMode:       cfg.DevMode,
		internalToken: cfg.InternalToken,
		now:           cfg.Now,
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Client authenticates an Authorization header value of the client port.
func (a *Authenticator) Client(authorization string) (Identity, error) {
	const prefix = "bearer "
	if len(authorization) < len(prefix) || !strings.EqualFold(authorization[:len(prefix)], prefix) {
		return Identity{}, unauthenticated("missing bearer token")
	}
	token := strings.TrimSpace(authorization[len(prefix):])
	switch {
	case token == "":
		return Identity{}, unauthenticated("missing bearer token")
	case len(token) > maxTokenLen:
		return Identity{}, unauthenticated("token too long")
	case len(a.secret) > 0:
		// A configured secret wins even in dev mode, so a dev token can
		// never pass in a deployment that has real keys.
		return a.verifyJWT(token)
	case a.devMode:
		return parseDevToken(token)
	}
	return Identity{}, unauthenticated("no client authentication configured")
}

// parseDevToken reads dev:<user>:<tenant>[:<email>].
func parseDevToken(token string) (Identity, error) {
	p := strings.Split(token, ":")
	if (len(p) != 3 && len(p) != 4) || p[0] != "dev" || p[1] == "" || p[2] == "" {
		return Identity{}, unauthenticated("malformed dev token")
	}
	id := Identity{UserID: p[1], TenantID: p[2]}
	if len(p) == 4 {
		id.Email = p[3]
	}
	return id, nil
}

// Internal checks an X-Notify-Internal-Token header value of the internal
// port.
func (a *Authenticator) Internal(token string) error {
	if a.internalToken == "" {
		if a.devMode {
			return nil
		}
		return unauthenticated("no internal token configured")
	}
	if token == "" {
		return unauthenticated("missing internal token")
	}
	// Hashing first makes the comparison constant-time in the length too.
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(a.internalToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return unauthenticated("bad internal token")
	}
	return nil
}
