package app

import (
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/store"
)

func init() {
	moduleDefs["message"] = moduleDef{
		migrations: []store.Migrations{message.Migrations},
		build: func(d *Deps) (Module, error) {
			svc := message.New(d.DB, d.Log, d.Identity.Access, d.Identity.Channels, d.Identity.Now)
			return routesModule{&message.Routes{Svc: svc, Log: d.Log}}, nil
		},
	}
}
