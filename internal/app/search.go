package app

import (
	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/search"
	"github.com/quikapp/quikapp/internal/store"
)

func init() {
	moduleDefs["search"] = moduleDef{
		// The index lives in the message tables' migrations.
		migrations: []store.Migrations{message.Migrations, file.Migrations},
		build: func(d *Deps) (Module, error) {
			msgs := message.New(d.DB, d.Log, d.Identity.Access, d.Identity.Channels, d.Identity.Now)
			return routesModule{&search.Routes{Svc: &search.Service{DB: d.DB, Access: d.Identity.Access, Messages: msgs}, Log: d.Log}}, nil
		},
	}
}
