package app

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/audit"
	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/auth/oidc"
	"github.com/quikapp/quikapp/internal/auth/token"
	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/smtp"
	"github.com/quikapp/quikapp/internal/notify/provider/twilio"
	"github.com/quikapp/quikapp/internal/ratelimit"
	"github.com/quikapp/quikapp/internal/store"
	"github.com/quikapp/quikapp/internal/workspace"
)

// Identity is what every module shares: who the user is, which
// workspaces and channels they are in, and what they may do. Every process builds it,
// whatever services it runs, because every API route authenticates.
type Identity struct {
	Auth       *auth.Service
	Workspaces *workspace.Service
	Channels   *channel.Service
	Access     *access.Checker
	Limiter    ratelimit.Limiter
	Router     *gateway.Router
	// Now is the clock every module reads (tests control it).
	Now func() time.Time
	// Mailer sends account and notification email.
	Mailer auth.Mailer
}

// identityMigrations are applied by every process.
var identityMigrations = []store.Migrations{auth.Migrations, workspace.Migrations, channel.Migrations, audit.Migrations, ratelimit.Migrations}

func init() {
	moduleDefs["auth"] = moduleDef{build: func(d *Deps) (Module, error) {
		return routesModule{&auth.Routes{Svc: d.Identity.Auth, Access: d.Identity.Access, Log: d.Log}}, nil
	}}
	moduleDefs["workspace"] = moduleDef{build: func(d *Deps) (Module, error) {
		return routesModule{&workspace.Routes{Svc: d.Identity.Workspaces, Log: d.Log}}, nil
	}}
	moduleDefs["channel"] = moduleDef{build: func(d *Deps) (Module, error) {
		return routesModule{&channel.Routes{Svc: d.Identity.Channels, Log: d.Log}}, nil
	}}
	moduleDefs["audit"] = moduleDef{build: func(d *Deps) (Module, error) {
		return routesModule{&audit.Routes{DB: d.DB, Access: d.Identity.Access, Log: d.Log}}, nil
	}}
	moduleDefs["admin"] = moduleDef{build: func(d *Deps) (Module, error) {
		return routesModule{&auth.AdminRoutes{Svc: d.Identity.Auth, Access: d.Identity.Access, Log: d.Log,
			Config: func() []auth.ConfigEntry { return configEntries(d.Config) }}}, nil
	}}
	// The permission service's decisions are made in-process by
	// access.Checker; it has no routes of its own.
	moduleDefs["access"] = moduleDef{build: func(d *Deps) (Module, error) { return routesModule{}, nil }}
}

// mounter is a module that only has routes.
type mounter interface{ Mount(*gateway.Router) }

type routesModule struct{ m mounter }

func (r routesModule) Mount(rt *gateway.Router) {
	if r.m != nil {
		r.m.Mount(rt)
	}
}

func (routesModule) Run(context.Context) error { return nil }

// newIdentity builds the shared identity parts.
func (a *App) newIdentity(d *Deps) (*Identity, error) {
	c := d.Config.Identity
	signing, retired, err := signingKeys(d.Config)
	if err != nil {
		return nil, err
	}
	var mailer auth.Mailer = auth.DirMailer{Dir: filepath.Join(d.Config.DataDir, "mail"), Log: d.Log}
	if c.SMTP.Host != "" {
		sender, err := smtp.New(smtp.Config{Host: c.SMTP.Host, Port: c.SMTP.Port, Username: c.SMTP.Username,
			Password: c.SMTP.Password, From: c.SMTP.From, TLS: c.SMTP.TLS, TLSConfig: a.smtpTLS})
		if err != nil {
			return nil, fmt.Errorf("invalid SMTP settings: %w", err)
		}
		mailer = auth.SMTPMailer{Sender: sender}
	}
	var sms auth.SMSSender = auth.DirSMS{Dir: filepath.Join(d.Config.DataDir, "sms"), Log: d.Log}
	if t := c.Twilio; t.AccountSID != "" {
		sender, err := twilio.New(twilio.Config{AccountSID: t.AccountSID, AuthToken: t.AuthToken, From: t.From,
			MessagingServiceSID: t.MessagingServiceSID, BaseURL: t.BaseURL, Channel: notify.ChannelSMS})
		if err != nil {
			return nil, fmt.Errorf("invalid Twilio settings: %w", err)
		}
		sms = auth.TwilioSMS{Sender: sender}
	}
	providers := map[string]*oidc.Provider{}
	for _, pc := range c.OIDC {
		p, err := oidc.New(pc)
		if err != nil {
			return nil, err
		}
		providers[pc.Name] = p
	}
	acfg := auth.Config{DB: d.DB, Log: d.Log, Signing: signing, Retired: retired, Mailer: mailer, SMS: sms, OIDC: providers,
		RequireEmailVerification: c.RequireEmailVerification, PublicURL: c.PublicURL}
	if a.tuneAuth != nil {
		a.tuneAuth(&acfg)
	}
	authSvc, err := auth.New(acfg)
	if err != nil {
		return nil, err
	}
	ws := workspace.New(workspace.Config{DB: d.DB, Log: d.Log, People: authSvc, Mailer: inviteMailer{mailer},
		Now: acfg.Now, PublicURL: c.PublicURL})
	checker := access.NewChecker(ws)
	ws.SetChecker(checker)
	// Channels hook into workspace creation (#general), joining and
	// deletion, so they are built wherever workspaces are.
	channels := channel.New(d.DB, d.Log, checker, ws, acfg.Now)
	channels.SetBlocks(authSvc)
	var limiter ratelimit.Limiter = ratelimit.NewMemory(acfg.Now, 0)
	if c.RateLimitStore == "database" {
		limiter = ratelimit.NewSQL(d.DB, acfg.Now)
	}
	rt := gateway.New(gateway.Config{Log: d.Log, Auth: authSvc, Limiter: limiter, TrustedProxies: c.TrustedProxies,
		IPRule:   ratelimit.Rule{Name: "auth-ip", Limit: c.AuthRate.Limit, Window: c.AuthRate.Window},
		UserRule: ratelimit.Rule{Name: "user", Limit: c.UserRate.Limit, Window: c.UserRate.Window}})
	return &Identity{Now: acfg.Now, Mailer: mailer, Auth: authSvc, Workspaces: ws, Channels: channels, Access: checker, Limiter: limiter, Router: rt}, nil
}

func signingKeys(cfg Config) (token.Key, []token.Key, error) {
	c := cfg.Identity
	var signing token.Key
	var err error
	if len(c.JWTPrivateKey) > 0 {
		signing, err = token.ParsePrivateKeyPEM(c.JWTPrivateKey)
		if err != nil {
			return token.Key{}, nil, fmt.Errorf("QUIKAPP_JWT_PRIVATE_KEY: %w", err)
		}
	} else if signing, err = auth.LocalKey(filepath.Join(cfg.DataDir, "keys")); err != nil {
		return token.Key{}, nil, err
	}
	var retired []token.Key
	if len(c.JWTRetiredKeys) > 0 {
		if retired, err = token.ParsePublicKeysPEM(c.JWTRetiredKeys); err != nil {
			return token.Key{}, nil, fmt.Errorf("QUIKAPP_JWT_RETIRED_KEYS_FILE: %w", err)
		}
	}
	return signing, retired, nil
}

// inviteMailer words invitation emails.
type inviteMailer struct{ m auth.Mailer }

func (i inviteMailer) SendInvitation(ctx context.Context, to, wsName, inviter, link string) error {
	if inviter == "" {
		inviter = "Someone"
	}
	return i.m.SendMail(ctx, auth.Mail{To: to, Subject: inviter + " invited you to " + wsName + " on QuikApp",
		Text: inviter + " invited you to join the " + wsName + " workspace on QuikApp.\n\nAccept by opening:\n" + link +
			"\n\nThe link works once, for seven days, for the account with this email address.\n"})
}

// configEntries is the runtime configuration as admins may see it:
// secrets are shown only as set or not.
func configEntries(cfg Config) []auth.ConfigEntry {
	out := make([]auth.ConfigEntry, 0, len(Vars))
	for _, v := range Vars {
		val, ok := cfg.set[v.Name]
		switch {
		case !ok:
			val = v.Default
		case isSecretVar(v.Name):
			val = "(set, hidden)"
		case strings.Contains(val, "://"):
			if u, err := url.Parse(val); err == nil {
				val = u.Redacted()
			} else {
				val = "(set, hidden)"
			}
		}
		out = append(out, auth.ConfigEntry{Name: v.Name, Value: val, Default: v.Default, Help: v.Help})
	}
	return out
}

func isSecretVar(name string) bool {
	return strings.Contains(name, "PASSWORD") || strings.Contains(name, "PRIVATE_KEY") || strings.Contains(name, "SECRET")
}

// httpAPIError reports whether err is a public API refusal (403/404…).
func httpAPIError(err error) (*httpapi.Error, bool) {
	e, ok := httpapi.As(err)
	return e, ok && e.Status < 500
}
