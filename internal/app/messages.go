package app

import (
	"context"
	"time"

	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/store"
)

func init() {
	moduleDefs["message"] = moduleDef{
		migrations: []store.Migrations{message.Migrations},
		build: func(d *Deps) (Module, error) {
			svc := message.New(d.DB, d.Log, d.Identity.Access, d.Identity.Channels, d.Identity.Now)
			svc.SetActors(d.Identity.Auth)
			return &messageModule{routes: &message.Routes{Svc: svc, Log: d.Log}, svc: svc}, nil
		},
	}
}

// messageModule serves messages and runs the scheduled-item worker.
type messageModule struct {
	routes *message.Routes
	svc    *message.Service
}

func (m *messageModule) Mount(rt *gateway.Router) { m.routes.Mount(rt) }

// scheduledInterval is how often due scheduled messages and reminders
// are looked for: a query on an index, cheap enough to run often.
const scheduledInterval = 250 * time.Millisecond

func (m *messageModule) Run(ctx context.Context) error { return m.svc.Run(ctx, scheduledInterval) }
