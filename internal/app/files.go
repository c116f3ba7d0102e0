package app

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

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
			svc := newFiles(d)
			if err := prepareStorage(d, svc.Storage); err != nil {
				return nil, err
			}
			return fileModule{svc}, nil
		},
	}
}

// newFiles is the file service on the configured storage: S3 when it has
// an endpoint, else the data dir. It contacts nothing (prepareStorage does).
func newFiles(d *Deps) *file.Service {
	var storage file.Storage = file.Local{Dir: filepath.Join(d.Config.DataDir, "files")}
	if d.Config.S3.Endpoint != "" {
		s3, err := file.NewS3(d.Config.S3)
		if err != nil {
			panic(err) // LoadConfig refuses any configuration NewS3 would
		}
		storage = s3
	}
	return &file.Service{DB: d.DB, Log: d.Log, Access: d.Identity.Access, Channels: d.Identity.Channels, Now: d.Identity.Now,
		Storage: storage, Limits: file.Limits{MaxFile: d.Config.MaxUpload, MaxWorkspace: d.Config.MaxWorkspaceStorage}}
}

// prepareStorage makes the bucket if it is missing and reports the store
// in /health.
func prepareStorage(d *Deps, storage file.Storage) error {
	switch st := storage.(type) {
	case *file.S3:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.EnsureBucket(ctx); err != nil {
			return fmt.Errorf("S3 storage at %s: %w", d.Config.S3.Endpoint, err)
		}
		d.Health.AddCheck("storage", st.Ping)
	case file.Local:
		d.Health.AddCheck("storage", st.Ping)
	}
	return nil
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
	var wg sync.WaitGroup
	if _, direct := m.svc.Storage.(file.DirectStorage); direct {
		wg.Go(func() { every(ctx, m.svc.Log, time.Minute, "direct_uploads_sweep_failed", m.svc.SweepDirectUploads) })
	}
	wg.Go(func() { every(ctx, m.svc.Log, time.Minute, "uploads_sweep_failed", m.svc.SweepUploads) })
	every(ctx, m.svc.Log, scheduledInterval, "thumbnails_failed", m.svc.RunThumbnails)
	wg.Wait()
	return nil
}
