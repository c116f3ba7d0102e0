package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/inbox"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/memstore"
	"github.com/quikapp/quikapp/internal/store"
)

func init() {
	moduleDefs["message"] = moduleDef{
		migrations: []store.Migrations{message.Migrations, inbox.Migrations, file.Migrations},
		build: func(d *Deps) (Module, error) {
			svc := message.New(d.DB, d.Log, d.Identity.Access, d.Identity.Channels, d.Identity.Now)
			svc.SetActors(d.Identity.Auth)
			svc.SetKeywords(d.Identity.Auth)
			svc.SetFiles(messageFiles{newFiles(d)})
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
			push, err := newPush(d, in)
			if err != nil {
				return nil, err
			}
			return &messageModule{routes: &message.Routes{Svc: svc, Log: d.Log}, svc: svc, inbox: in, digest: digest, push: push}, nil
		},
	}
}

// messageModule serves messages and runs the scheduled-item worker.
type messageModule struct {
	routes *message.Routes
	svc    *message.Service
	inbox  *inbox.Service
	digest *inbox.Digest
	push   *inbox.Push
}

func (m *messageModule) Mount(rt *gateway.Router) {
	m.routes.Mount(rt)
	m.inbox.Mount(rt)
}

// scheduledInterval is how often due scheduled messages and reminders
// are looked for: a query on an index, cheap enough to run often.
const scheduledInterval = 250 * time.Millisecond

func (m *messageModule) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { every(ctx, m.inbox.Log, digestInterval, "digest_run_failed", m.digest.Run) })
	wg.Go(func() { every(ctx, m.inbox.Log, scheduledInterval, "push_run_failed", m.push.Run) })
	err := m.svc.Run(ctx, scheduledInterval)
	wg.Wait()
	return err
}

func every(ctx context.Context, log *slog.Logger, interval time.Duration, failure string, fn func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := fn(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, failure, "error", err)
			}
		}
	}
}

// newPush delivers new notifications to devices through the notify
// engine (the same pipeline notifyd runs) and its configured providers.
func newPush(d *Deps, in *inbox.Service) (*inbox.Push, error) {
	senders := d.PushSenders
	if senders == nil {
		all, err := d.Config.Notify.Senders()
		if err != nil {
			return nil, err
		}
		senders = map[string]notify.Sender{}
		for _, ch := range []string{notify.ChannelWebPush, notify.ChannelMobilePush} {
			if s, ok := all[ch]; ok {
				senders[ch] = s
			}
		}
	}
	engine, err := notify.NewEngine(notify.EngineConfig{Store: memstore.New(), Senders: senders, Log: d.Log, Now: d.Identity.Now})
	if err != nil {
		return nil, err
	}
	return &inbox.Push{Service: in,
		Prefs: func(ctx context.Context, userID string) (inbox.PushPrefs, error) {
			return pushPrefs(ctx, d.Identity.Auth, userID)
		},
		Deliver: func(ctx context.Context, dev inbox.Device, userID, title string, n inbox.Notification) error {
			ch := notify.ChannelMobilePush
			if dev.Platform == "web" {
				ch = notify.ChannelWebPush
			}
			if _, ok := senders[ch]; !ok {
				return nil // no provider for this kind of device
			}
			counts, err := engine.Notify(ctx, notify.Request{TenantID: n.WorkspaceID, NotificationID: n.ID + "." + dev.Platform,
				UserIDs: []string{userID}, Channels: []string{ch}, SubjectRef: n.MessageID, SubjectType: "message",
				Title: title, Body: n.Snippet, Addresses: map[string]map[string]string{userID: {ch: dev.Token}}})
			if err != nil {
				return err
			}
			if counts.Failed > 0 {
				return fmt.Errorf("push to a %s device failed", dev.Platform)
			}
			return nil
		}}, nil
}

func pushPrefs(ctx context.Context, a *auth.Service, userID string) (inbox.PushPrefs, error) {
	st, err := a.Settings(ctx, userID)
	if err != nil {
		return inbox.PushPrefs{}, err
	}
	targets, err := a.PushTargets(ctx, userID)
	if err != nil {
		return inbox.PushPrefs{}, err
	}
	p := inbox.PushPrefs{Level: st.Notifications.Mobile, QuietFrom: st.Notifications.QuietFrom, QuietTo: st.Notifications.QuietTo, Location: time.UTC}
	if st.Notifications.PausedUntil != nil {
		p.PausedUntil = *st.Notifications.PausedUntil
	}
	if tz, err := a.TimeZone(ctx, userID); err == nil && tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			p.Location = loc
		}
	}
	for _, t := range targets {
		p.Devices = append(p.Devices, inbox.Device{Platform: t.Platform, Token: t.Token})
	}
	return p, nil
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
	if st.Notifications.PausedUntil != nil {
		r.PausedUntil = *st.Notifications.PausedUntil
	}
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
