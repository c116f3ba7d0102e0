package app

import (
	"context"
	"path/filepath"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/store"
)

func init() {
	moduleDefs["file"] = moduleDef{
		migrations: []store.Migrations{file.Migrations},
		build: func(d *Deps) (Module, error) {
			return fileModule{newFiles(d)}, nil
		},
	}
}

// newFiles is the file service on local storage in the data dir.
func newFiles(d *Deps) *file.Service {
	return &file.Service{DB: d.DB, Log: d.Log, Access: d.Identity.Access, Channels: d.Identity.Channels, Now: d.Identity.Now,
		Storage: file.Local{Dir: filepath.Join(d.Config.DataDir, "files")}, PartsDir: filepath.Join(d.Config.DataDir, "uploads"),
		Limits: file.Limits{MaxFile: d.Config.MaxUpload, MaxWorkspace: d.Config.MaxWorkspaceStorage}}
}

// messageFiles adapts the file service to what messages need.
type messageFiles struct{ f *file.Service }

func (m messageFiles) Share(ctx context.Context, tx *store.Tx, actor access.Actor, ws, ch, msg string, ids []string) ([]message.Attachment, error) {
	fs, err := m.f.Share(ctx, tx, actor, ws, ch, msg, ids)
	return attachments(fs), err
}

func (m messageFiles) OfMessages(ctx context.Context, q store.Querier, ids []string) (map[string][]message.Attachment, error) {
	byMsg, err := m.f.OfMessages(ctx, q, ids)
	out := make(map[string][]message.Attachment, len(byMsg))
	for k, v := range byMsg {
		out[k] = attachments(v)
	}
	return out, err
}

func attachments(fs []file.File) []message.Attachment {
	out := make([]message.Attachment, len(fs))
	for i, f := range fs {
		out[i] = message.Attachment{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size}
	}
	return out
}

// fileModule serves files and makes thumbnails.
type fileModule struct{ svc *file.Service }

func (m fileModule) Mount(rt *gateway.Router) { m.svc.Mount(rt) }

func (m fileModule) Run(ctx context.Context) error {
	every(ctx, m.svc.Log, scheduledInterval, "thumbnails_failed", m.svc.RunThumbnails)
	return nil
}
