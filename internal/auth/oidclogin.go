package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

const (
	oidcStateTTL     = 10 * time.Minute
	oidcLoginCodeTTL = time.Minute
)

// Providers lists the configured external sign-in providers.
func (s *Service) Providers() []string {
	out := make([]string, 0, len(s.cfg.OIDC))
	for name := range s.cfg.OIDC {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// safeRedirect accepts only a path on our own site, so the sign-in flow
// cannot be used to send people elsewhere.
func safeRedirect(r string) (string, bool) {
	if r == "" {
		return "/", true
	}
	if len(r) > 512 || !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "//") || strings.ContainsAny(r, "\\\r\n\t") {
		return "", false
	}
	u, err := url.Parse(r)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "", false
	}
	return r, true
}

// StartOIDC begins a sign-in at provider and returns where to send the
// browser.
func (s *Service) StartOIDC(ctx context.Context, provider, redirect string) (string, error) {
	p, ok := s.cfg.OIDC[provider]
	if !ok {
		return "", httpapi.NotFound("sign-in provider")
	}
	redirect, ok = safeRedirect(redirect)
	if !ok {
		return "", httpapi.InvalidField("redirect", "must be a path on this site, such as /")
	}
	state, nonce, verifier := oidc.Secrets()
	u, err := p.AuthCodeURL(ctx, state, nonce, verifier)
	if err != nil {
		return "", httpapi.New(502, "PROVIDER_UNAVAILABLE", "sign-in with "+provider+" is not available right now").Wrap(err)
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM oidc_states WHERE expires_ms < ?", ms(now)); err != nil {
			return fmt.Errorf("auth: sweep states: %w", err)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO oidc_states (state_hash, provider, nonce, verifier, redirect, expires_ms) VALUES (?, ?, ?, ?, ?, ?)",
			hashSecret(state), provider, nonce, verifier, redirect, ms(now.Add(oidcStateTTL)))
		if err != nil {
			return fmt.Errorf("auth: store state: %w", err)
		}
		return nil
	})
	return u, err
}

// FinishOIDC completes the provider's callback: the state must be ours,
// unused and fresh; the identity is linked to an account (found by the
// provider's subject, or by a verified email, or created). It returns the
// path to send the browser to, carrying a one-minute single-use login
// code that the web client exchanges for tokens.
func (s *Service) FinishOIDC(ctx context.Context, provider, code, state string) (string, error) {
	p, ok := s.cfg.OIDC[provider]
	if !ok {
		return "", httpapi.NotFound("sign-in provider")
	}
	if state == "" || len(state) > 200 {
		return "", httpapi.InvalidField("state", "is missing; start the sign-in again")
	}
	var nonce, verifier, redirect, prov string
	var expires int64
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT provider, nonce, verifier, redirect, expires_ms FROM oidc_states WHERE state_hash = ?",
			hashSecret(state)).Scan(&prov, &nonce, &verifier, &redirect, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return httpapi.InvalidField("state", "this sign-in is unknown or was already used; start again")
		}
		if err != nil {
			return fmt.Errorf("auth: load state: %w", err)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM oidc_states WHERE state_hash = ?", hashSecret(state))
		return err
	})
	if err != nil {
		return "", err
	}
	if prov != provider || expires <= ms(s.now()) {
		return "", httpapi.InvalidField("state", "this sign-in has expired; start again")
	}
	id, err := p.Exchange(ctx, code, verifier, nonce)
	if err != nil {
		return "", httpapi.New(401, httpapi.CodeInvalidCredentials, "sign-in with "+provider+" failed; try again").Wrap(err)
	}
	userID, err := s.linkIdentity(ctx, provider, id)
	if err != nil {
		return "", err
	}
	loginCode, hash := newSecret("qlc_")
	now := s.now()
	_, err = s.db.ExecContext(ctx, "INSERT INTO login_codes (id, user_id, code_hash, channel, expires_ms) VALUES (?, ?, ?, ?, ?)",
		newID(), userID, hash, "oidc", ms(now.Add(oidcLoginCodeTTL)))
	if err != nil {
		return "", fmt.Errorf("auth: store login code: %w", err)
	}
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	return redirect + sep + "loginCode=" + url.QueryEscape(loginCode), nil
}

func (s *Service) linkIdentity(ctx context.Context, provider string, id oidc.Identity) (string, error) {
	var userID string
	err := s.db.QueryRowContext(ctx, "SELECT user_id FROM user_identities WHERE provider = ? AND subject = ?", provider, id.Subject).Scan(&userID)
	if err == nil {
		return userID, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("auth: find identity: %w", err)
	}
	// Only an address the provider verified may claim an account.
	addr, ok := normalizeEmail(id.Email)
	if !ok || !id.EmailVerified {
		return "", httpapi.New(401, httpapi.CodeInvalidCredentials,
			"your "+provider+" account has no verified email address; verify one there first")
	}
	now := ms(s.now())
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT id FROM users WHERE email = ?", addr).Scan(&userID)
		created := false
		if errors.Is(err, sql.ErrNoRows) {
			var p httpapi.Problems
			name := cleanName(&p, "displayName", id.Name)
			if p.Err() != nil {
				name = strings.SplitN(addr, "@", 2)[0]
			}
			userID, created = newID(), true
			// No password: "!" is not a PHC string, so password sign-in
			// fails until the user sets one through a reset link.
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO users (id, email, display_name, password_hash, email_verified, created_ms, updated_ms)
				 VALUES (?, ?, ?, '!', 1, ?, ?)`, userID, addr, name, now, now); err != nil {
				return fmt.Errorf("auth: create account: %w", err)
			}
			if err := claimFirstAdmin(ctx, tx, userID); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("auth: find account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_identities (provider, subject, user_id, created_ms) VALUES (?, ?, ?, ?)",
			provider, id.Subject, userID, now); err != nil {
			return fmt.Errorf("auth: link identity: %w", err)
		}
		action := "auth.identity_linked"
		if created {
			action = "auth.register"
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: action, TargetKind: "user", TargetID: userID,
			Result: audit.Success, Detail: "via " + provider})
	})
	return userID, err
}

// ExchangeLoginCode turns the code FinishOIDC handed the browser into
// tokens (or TWO_FACTOR_REQUIRED).
func (s *Service) ExchangeLoginCode(ctx context.Context, code string) (Tokens, error) {
	bad := httpapi.Unauthenticated("this sign-in link is not valid or has expired; sign in again")
	if code == "" || len(code) > 200 {
		return Tokens{}, bad
	}
	now := s.now()
	var userID string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx,
			"UPDATE login_codes SET used_ms = ? WHERE code_hash = ? AND channel = 'oidc' AND used_ms = 0 AND expires_ms > ? RETURNING user_id",
			ms(now), hashSecret(code), ms(now)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return bad
		}
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	var banned bool
	if err := s.db.QueryRowContext(ctx, "SELECT banned FROM users WHERE id = ?", userID).Scan(&banned); err != nil {
		return Tokens{}, fmt.Errorf("auth: load account: %w", err)
	}
	if banned {
		return Tokens{}, errBannedLogin
	}
	if on, err := s.totpEnabled(ctx, s.db, userID); err != nil {
		return Tokens{}, err
	} else if on {
		return Tokens{}, s.twoFactorRequired(userID)
	}
	var t Tokens
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = s.openSession(ctx, tx, userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: userID, Action: "auth.login", TargetKind: "user", TargetID: userID,
			Result: audit.Success, Detail: "with an identity provider"})
	})
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.user(ctx, s.db, userID)
	if err != nil {
		return Tokens{}, err
	}
	t.User = &u
	return t, nil
}
