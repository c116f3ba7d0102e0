package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// User is an account as the API shows it. Email is shown to the user
// themself and to system administrators only.
type User struct {
	ID            string `json:"id"`
	Email         string `json:"email,omitempty"`
	DisplayName   string `json:"displayName"`
	EmailVerified bool   `json:"emailVerified"`
	SystemAdmin   bool   `json:"systemAdmin,omitempty"`
	Banned        bool   `json:"banned,omitempty"`
	Title         string `json:"title"`
	TimeZone      string `json:"timeZone"`
	Locale        string `json:"locale"`
	Phone         string `json:"phone,omitempty"`
	// Status is the custom status, absent when unset or cleared.
	Status    *CustomStatus `json:"status,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
}

const userColumns = "id, email, display_name, email_verified, system_admin, banned, title, time_zone, locale, phone, created_ms, status_emoji, status_text, status_clear_ms"

// scanUser reads userColumns; a custom status past its clearAfter (now)
// reads as none.
func scanUser(row interface{ Scan(...any) error }, now time.Time) (User, error) {
	var u User
	var created, clear int64
	var st CustomStatus
	err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &u.EmailVerified, &u.SystemAdmin, &u.Banned,
		&u.Title, &u.TimeZone, &u.Locale, &u.Phone, &created, &st.Emoji, &st.Text, &clear)
	u.CreatedAt = time.UnixMilli(created).UTC()
	if (st.Emoji != "" || st.Text != "") && (clear == 0 || clear > now.UnixMilli()) {
		if clear != 0 {
			t := time.UnixMilli(clear).UTC()
			st.ClearAfter = &t
		}
		u.Status = &st
	}
	return u, err
}

// Errors of the account flows.
var (
	errBadCredentials = &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeInvalidCredentials,
		Message: "the email or password is wrong"}
	errEmailTaken = httpapi.Conflict("an account with this email already exists")
	errUnverified = &httpapi.Error{Status: http.StatusForbidden, Code: "EMAIL_NOT_VERIFIED",
		Message: "verify your email address first: follow the link we sent you"}
)

// normalizeEmail checks and lower-cases an address. Only a bare address is
// accepted ("Ann <ann@example.com>" is not an email field's value).
func normalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 254 || s == "" {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", false
	}
	return strings.ToLower(s), true
}

func checkPasswordRules(p *httpapi.Problems, field, pw string) {
	switch {
	case len(pw) > MaxPasswordBytes:
		p.Add(field, "must be at most "+strconv.Itoa(MaxPasswordBytes)+" bytes")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		p.Add(field, "must be at least "+strconv.Itoa(MinPasswordLen)+" characters")
	case !utf8.ValidString(pw):
		p.Add(field, "must be valid UTF-8")
	}
}

// cleanName checks a display name: 1 to 80 characters, no control
// characters; surrounding space is trimmed.
func cleanName(p *httpapi.Problems, field, s string) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		p.Add(field, "is required")
	case n > 80:
		p.Add(field, "must be at most 80 characters")
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		p.Add(field, "must not contain control characters")
	}
	return s
}

// Register creates an account. The first account on a fresh installation
// is its system administrator.
func (s *Service) Register(ctx context.Context, email, password, displayName string) (User, error) {
	var p httpapi.Problems
	addr, ok := normalizeEmail(email)
	if !ok {
		p.Add("email", "must be an email address like ann@example.com")
	}
	checkPasswordRules(&p, "password", password)
	name := cleanName(&p, "displayName", displayName)
	if err := p.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := ms(s.now())
	id := newID()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO users (id, email, display_name, password_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)`,
			id, addr, name, hash, now, now)
		if tx.Dialect().IsUniqueViolation(err) {
			return errEmailTaken
		}
		if err != nil {
			return fmt.Errorf("auth: insert user: %w", err)
		}
		if err := claimFirstAdmin(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: id, Action: "auth.register", TargetKind: "user", TargetID: id, Result: audit.Success})
	})
	if err != nil {
		return User{}, err
	}
	u, err := s.user(ctx, s.db, id)
	if err != nil {
		return User{}, err
	}
	if err := s.sendVerification(ctx, u); err != nil {
		s.log.WarnContext(ctx, "verification_mail_failed", "user", id, "error", err)
	}
	return u, nil
}

func (s *Service) user(ctx context.Context, q store.Querier, id string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, httpapi.NotFound("user")
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: load user %s: %w", id, err)
	}
	return u, nil
}

// Login checks a password and opens a session. Five wrong passwords in a
// row lock the account for 30 minutes.
func (s *Service) Login(ctx context.Context, email, password string) (Tokens, error) {
	var p httpapi.Problems
	addr, ok := normalizeEmail(email)
	if !ok {
		p.Add("email", "must be an email address like ann@example.com")
	}
	if password == "" {
		p.Add("password", "is required")
	} else if len(password) > MaxPasswordBytes {
		p.Add("password", "must be at most "+strconv.Itoa(MaxPasswordBytes)+" bytes")
	}
	if err := p.Err(); err != nil {
		return Tokens{}, err
	}
	var id, hash string
	var lockedUntil int64
	var banned, verified bool
	err := s.db.QueryRowContext(ctx,
		"SELECT id, password_hash, locked_until_ms, banned, email_verified FROM users WHERE email = ?", addr).
		Scan(&id, &hash, &lockedUntil, &banned, &verified)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as for a real account, so timing does not
		// tell which addresses have one.
		_, _, _ = s.check(ctx, password, s.dummy())
		return Tokens{}, errBadCredentials
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: load account: %w", err)
	}
	now := s.now()
	if lockedUntil > ms(now) {
		return Tokens{}, lockedError(time.UnixMilli(lockedUntil).Sub(now))
	}
	good, rehash, err := s.check(ctx, password, hash)
	if err != nil && !errors.Is(err, errBadHash) {
		return Tokens{}, err
	}
	if !good {
		return Tokens{}, s.loginFailed(ctx, id, now)
	}
	if banned {
		return Tokens{}, errBannedLogin
	}
	if s.cfg.RequireEmailVerification && !verified {
		return Tokens{}, errUnverified
	}
	if on, err := s.totpEnabled(ctx, s.db, id); err != nil {
		return Tokens{}, err
	} else if on {
		return Tokens{}, s.twoFactorRequired(id)
	}
	if rehash {
		if h, err := s.hash(ctx, password); err == nil {
			_, _ = s.db.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", h, id)
		}
	}
	var t Tokens
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET failed_logins = 0, locked_until_ms = 0 WHERE id = ?", id); err != nil {
			return fmt.Errorf("auth: reset failures: %w", err)
		}
		var err error
		if t, err = s.openSession(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: id, Action: "auth.login", TargetKind: "user", TargetID: id, Result: audit.Success})
	})
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.user(ctx, s.db, id)
	if err != nil {
		return Tokens{}, err
	}
	t.User = &u
	return t, nil
}

var errBannedLogin = &httpapi.Error{Status: http.StatusForbidden, Code: httpapi.CodeUserBanned, Message: "this account is banned"}

func lockedError(left time.Duration) *httpapi.Error {
	secs := int(left.Seconds() + 0.999)
	return &httpapi.Error{Status: http.StatusLocked, Code: httpapi.CodeAccountLocked,
		Message: fmt.Sprintf("too many wrong passwords: this account is locked for %d more minutes", (secs+59)/60),
		Header:  http.Header{"Retry-After": {strconv.Itoa(secs)}}}
}

// loginFailed counts a wrong password and locks the account at the limit.
func (s *Service) loginFailed(ctx context.Context, id string, now time.Time) error {
	var locked bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx,
			"UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins", id).Scan(&n); err != nil {
			return fmt.Errorf("auth: count failure: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Entry{ActorID: id, Action: "auth.login", TargetKind: "user", TargetID: id,
			Result: audit.Failure, Detail: "wrong password"}); err != nil {
			return err
		}
		if n < MaxFailedLogins {
			return nil
		}
		locked = true
		if _, err := tx.ExecContext(ctx, "UPDATE users SET failed_logins = 0, locked_until_ms = ? WHERE id = ?",
			ms(now.Add(LockoutDuration)), id); err != nil {
			return fmt.Errorf("auth: lock: %w", err)
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "auth.locked", TargetKind: "user", TargetID: id, Result: audit.Success,
			Detail: fmt.Sprintf("%d wrong passwords", n)})
	})
	if err != nil {
		return err
	}
	if locked {
		return lockedError(LockoutDuration)
	}
	return errBadCredentials
}

// claimFirstAdmin makes userID the system administrator if it is the
// installation's first account. The bootstrap row's primary key decides
// between concurrent first sign-ups: exactly one inserts it.
func claimFirstAdmin(ctx context.Context, tx *store.Tx, userID string) error {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO auth_bootstrap (id, user_id) SELECT 1, ? WHERE NOT EXISTS (SELECT 1 FROM users WHERE id <> ?)
		 ON CONFLICT DO NOTHING`, userID, userID)
	if err != nil {
		return fmt.Errorf("auth: bootstrap: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET system_admin = 1 WHERE id = ?", userID); err != nil {
			return fmt.Errorf("auth: make first admin: %w", err)
		}
	}
	return nil
}
