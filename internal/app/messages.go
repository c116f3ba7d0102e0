package app

import (
	"context"
	"time"

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
			return &messageModule{routes: &message.Routes{Svc: svc, Log: d.Log}, svc: svc, inbox: in}, nil
		},
	}
}

// messageModule serves messages and runs the scheduled-item worker.
type messageModule struct {
	routes *message.Routes
	svc    *message.Service
	inbox  *inbox.Service
}

func (m *messageModule) Mount(rt *gateway.Router) {
	m.routes.Mount(rt)
	m.inbox.Mount(rt)
}

// scheduledInterval is how often due scheduled messages and reminders
// are looked for: a query on an index, cheap enough to run often.
const scheduledInterval = 250 * time.Millisecond

func (m *messageModule) Run(ctx context.Context) error { return m.svc.Run(ctx, scheduledInterval) }
