package app

import (
	"context"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/inbox"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/store"
)

func init() {
	moduleDefs["message"] = moduleDef{
		migrations: []store.Migrations{message.Migrations, inbox.Migrations},
		build: func(d *Deps) (Module, error) {
			svc := message.New(d.DB, d.Log, d.Identity.Access, d.Identity.Channels, d.Identity.Now)
			svc.SetActors(d.Identity.Auth)
			svc.SetPreviewClient(d.Outbound.Client(5 * time.Second))
			svc.SetReceiptPolicy(func(ctx context.Context, userID string) bool {
				st, err := d.Identity.Auth.Settings(ctx, userID)
				return err == nil && st.Privacy.ReadReceipts
			})
			in := &inbox.Service{DB: d.DB, Log: d.Log, Now: d.Identity.Now, Visible: func(ctx context.Context, userID, channelID string) bool {
				return d.Identity.Channels.CanFollow(ctx, userID, channelID) == nil
			}}
			digest := &inbox.Digest{Service: in, Delay: d.Config.DigestDelay, PublicURL: d.Config.Identity.PublicURL,
				Recipient: func(ctx context.Context, userID string) (inbox.Recipient, error) {
					return recipient(ctx, d.Identity.Auth, userID)
				},
				Send: func(ctx context.Context, to, subject, text string) error {
					return d.Identity.Mailer.SendMail(ctx, auth.Mail{To: to, Subject: subject, Text: text})
				}}
			return &messageModule{routes: &message.Routes{Svc: svc, Log: d.Log}, svc: svc, inbox: in, digest: digest}, nil
		},
	}
}

// messageModule serves messages and runs the scheduled-item worker.
type messageModule struct {
	routes *message.Routes
	svc    *message.Service
	inbox  *inbox.Service
	digest *inbox.Digest
}

func (m *messageModule) Mount(rt *gateway.Router) {
	m.routes.Mount(rt)
	m.inbox.Mount(rt)
}

// scheduledInterval is how often due scheduled messages and reminders
// are looked for: a query on an index, cheap enough to run often.
const scheduledInterval = 250 * time.Millisecond

func (m *messageModule) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(digestInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := m.digest.Run(ctx); err != nil && ctx.Err() == nil {
					m.inbox.Log.WarnContext(ctx, "digest_run_failed", "error", err)
				}
			}
		}
	}()
	err := m.svc.Run(ctx, scheduledInterval)
	<-done
	return err
}

// digestInterval is how often digests are looked for (a variable so the
// tests need not wait a minute).
var digestInterval = time.Minute

// recipient gathers what the digest needs from the account.
func recipient(ctx context.Context, a *auth.Service, userID string) (inbox.Recipient, error) {
	st, err := a.Settings(ctx, userID)
	if err != nil {
		return inbox.Recipient{}, err
	}
	email, err := a.Email(ctx, userID)
	if err != nil {
		return inbox.Recipient{}, err
	}
	last, err := a.LastActive(ctx, userID)
	if err != nil {
		return inbox.Recipient{}, err
	}
	r := inbox.Recipient{Email: email, Level: st.Notifications.Email, QuietFrom: st.Notifications.QuietFrom,
		QuietTo: st.Notifications.QuietTo, LastActive: last, Location: time.UTC}
	if u, err := a.ActorFor(ctx, userID); err == nil && u.Banned {
		r.Level = "none" // nothing goes to banned accounts
	}
	if tz, err := a.TimeZone(ctx, userID); err == nil && tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			r.Location = loc
		}
	}
	return r, nil
}
