// Package auth is accounts and sessions: registration, sign-in with
// lockout, access and refresh tokens, sessions, password change and reset,
// email verification, user profiles and the system administrator's user
// management. Other packages see the signed-in user only as an
// access.Actor, which Authenticate produces from a bearer token.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/auth/token"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the account tables.
var Migrations = store.Migrations{Domain: "auth", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Policy numbers (product.md, "Accounts and sessions").
const (
	AccessTTL        = 15 * time.Minute
	RefreshTTL       = 30 * 24 * time.Hour
	MaxFailedLogins  = 5
	LockoutDuration  = 30 * time.Minute
	MinPasswordLen   = 12
	MaxPasswordBytes = 1024
	verifyTTL        = 48 * time.Hour
	resetTTL         = time.Hour
	issuer           = "quikapp"
	audience         = "quikapp-api"
)

// Config builds a Service.
type Config struct {
	DB  *store.DB
	Log *slog.Logger
	// Signing signs new access tokens; Retired keys still verify.
	Signing token.Key
	Retired []token.Key
	Hash    HashParams // DefaultHashParams when zero
	Now     func() time.Time
	// RequireEmailVerification refuses sign-in until the address is
	// verified (production overlays set QUIKAPP_REQUIRE_EMAIL_VERIFICATION).
	RequireEmailVerification bool
	Mailer                   Mailer
	// SMS sends sign-in codes by text message; nil: not offered.
	SMS SMSSender
	// OIDC are the external sign-in providers by name.
	OIDC map[string]*oidc.Provider
	// PublicURL is where links in emails point (http://localhost:3000).
	PublicURL string
}

// Service implements accounts and sessions.
type Service struct {
	cfg      Config
	db       *store.DB
	log      *slog.Logger
	now      func() time.Time
	verifier *token.Verifier
	// hashSlots bounds concurrent password hashes: each takes the hash's
	// memory, and a burst of sign-ins must not exhaust the machine.
	hashSlots chan struct{}
	// dummyHash is made on first need, not at start: computing it costs
	// a full password hash (tens of milliseconds and its memory) that a
	// process starting up should not pay.
	dummyOnce sync.Once
	dummyHash string
}

// dummy returns a hash to check wrong sign-ins against, so an unknown
// address takes as long as a known one.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = hashPassword("dummy password for timing", s.cfg.Hash)
	})
	return s.dummyHash
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Log == nil {
		return nil, errors.New("auth: Config needs DB and Log")
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Mailer == nil {
		cfg.Mailer = discardMailer{}
	}
	if _, err := token.Sign(cfg.Signing, token.Claims{Subject: "probe", ExpiresAt: 1}); err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	keys := append([]token.Key{cfg.Signing}, cfg.Retired...)
	s := &Service{
		cfg: cfg, db: cfg.DB, log: cfg.Log, now: cfg.Now,
		verifier:  token.NewVerifier(issuer, audience, cfg.Now, keys...),
		hashSlots: make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	return s, nil
}

// Tokens is what sign-in and refresh return.
type Tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"` // seconds
	TokenType    string `json:"tokenType"`
	User         *User  `json:"user,omitempty"`
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.slot(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSlots }()
	return hashPassword(password, s.cfg.Hash)
}

func (s *Service) check(ctx context.Context, password, phc string) (ok, rehash bool, err error) {
	if err := s.slot(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-s.hashSlots }()
	return checkPassword(password, phc, s.cfg.Hash)
}

func (s *Service) slot(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newSecret returns a random URL-safe secret and its storage hash.
func newSecret(prefix string) (secret, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func ms(t time.Time) int64 { return t.UnixMilli() }

// Authenticate implements gateway.Authenticator: the token must verify,
// and its session must still be open (so sign-out, revocation and bans
// take effect at once, not when the token expires).
func (s *Service) Authenticate(r *http.Request, bearer string) (access.Actor, error) {
	c, err := s.verifier.Verify(bearer, "")
	if errors.Is(err, token.ErrExpired) {
		return access.Actor{}, &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeTokenExpired,
			Message: "the access token has expired; refresh it"}
	}
	if err != nil {
		return access.Actor{}, httpapi.Unauthenticated("the access token is not valid")
	}
	var revoked, expires int64
	var banned, admin bool
	err = s.db.QueryRowContext(r.Context(),
		`SELECT s.revoked_ms, s.expires_ms, u.banned, u.system_admin FROM sessions s JOIN users u ON u.id = s.user_id
		 WHERE s.id = ? AND s.user_id = ?`, c.SessionID, c.Subject).Scan(&revoked, &expires, &banned, &admin)
	if errors.Is(err, sql.ErrNoRows) {
		return access.Actor{}, httpapi.Unauthenticated("this session has ended; sign in again")
	}
	if err != nil {
		return access.Actor{}, fmt.Errorf("auth: load session %s: %w", c.SessionID, err)
	}
	if revoked != 0 || expires <= ms(s.now()) {
		return access.Actor{}, httpapi.Unauthenticated("this session has ended; sign in again")
	}
	return access.Actor{UserID: c.Subject, SessionID: c.SessionID, SystemAdmin: admin, Banned: banned}, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
