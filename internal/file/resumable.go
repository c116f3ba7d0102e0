package file

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Resumable upload limits.
const (
	MaxChunk  = 8 << 20
	uploadTTL = 24 * time.Hour
)

// Upload is a resumable upload in progress.
type Upload struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	Received  int64     `json:"received"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (s *Service) partPath(id string) string {
	return filepath.Join(s.PartsDir, id+".part")
}

// StartUpload begins a resumable upload of size bytes.
func (s *Service) StartUpload(ctx context.Context, actor access.Actor, workspaceID, channelID, name string, size int64) (Upload, error) {
	workspaceID, err := s.uploadTarget(ctx, actor, workspaceID, channelID)
	if err != nil {
		return Upload{}, err
	}
	if size <= 0 {
		return Upload{}, httpapi.InvalidField("size", "must be the file's size in bytes")
	}
	if size > s.Limits.MaxFile {
		return Upload{}, errTooLarge(s.Limits.MaxFile)
	}
	u := Upload{ID: uuid.Must(uuid.NewV7()).String(), Name: CleanName(name), Size: size, ExpiresAt: s.now().Add(uploadTTL).UTC().Truncate(time.Millisecond)}
	if err := os.MkdirAll(s.PartsDir, 0o700); err != nil {
		return Upload{}, fmt.Errorf("file: parts dir: %w", err)
	}
	if err := os.WriteFile(s.partPath(u.ID), nil, 0o600); err != nil {
		return Upload{}, fmt.Errorf("file: start upload: %w", err)
	}
	_, err = s.DB.ExecContext(ctx, "INSERT INTO uploads (id, workspace_id, channel_id, user_id, name, size, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, workspaceID, channelID, actor.UserID, u.Name, size, s.now().UnixMilli(), u.ExpiresAt.UnixMilli())
	if err != nil {
		return Upload{}, fmt.Errorf("file: start upload: %w", err)
	}
	return u, nil
}

type pendingUpload struct {
	Upload
	workspaceID, channelID string
}

func (s *Service) pending(ctx context.Context, actor access.Actor, id string) (pendingUpload, error) {
	var p pendingUpload
	var user string
	var exp int64
	err := s.DB.QueryRowContext(ctx, "SELECT id, workspace_id, channel_id, user_id, name, size, received, expires_ms FROM uploads WHERE id = ?", id).
		Scan(&p.ID, &p.workspaceID, &p.channelID, &user, &p.Name, &p.Size, &p.Received, &exp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (user != actor.UserID || exp <= s.now().UnixMilli())) {
		return p, httpapi.NotFound("upload")
	}
	if err != nil {
		return p, fmt.Errorf("file: load upload: %w", err)
	}
	p.ExpiresAt = time.UnixMilli(exp).UTC()
	return p, nil
}

// GetUpload says how much of an upload arrived (to resume after a drop).
func (s *Service) GetUpload(ctx context.Context, actor access.Actor, id string) (Upload, error) {
	p, err := s.pending(ctx, actor, id)
	return p.Upload, err
}

// AppendChunk adds bytes at offset, which must be what was received so
// far (a resent chunk after a drop is answered with the real position).
func (s *Service) AppendChunk(ctx context.Context, actor access.Actor, id string, offset int64, r io.Reader) (Upload, error) {
	p, err := s.pending(ctx, actor, id)
	if err != nil {
		return Upload{}, err
	}
	if offset != p.Received {
		return p.Upload, &httpapi.Error{Status: http.StatusConflict, Code: httpapi.CodeConflict,
			Message: "the upload is at byte " + strconv.FormatInt(p.Received, 10) + "; send from there",
			Extra:   map[string]any{"received": p.Received}}
	}
	room := p.Size - p.Received
	if room > MaxChunk {
		room = MaxChunk
	}
	f, err := os.OpenFile(s.partPath(id), os.O_WRONLY, 0o600)
	if err != nil {
		return Upload{}, fmt.Errorf("file: open part: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(p.Received, io.SeekStart); err != nil {
		return Upload{}, fmt.Errorf("file: seek part: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, room+1))
	if n > room {
		_ = f.Truncate(p.Received)
		return Upload{}, &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: httpapi.CodePayloadTooLarge,
			Message: "a chunk may be at most 8 MiB and may not go past the declared size"}
	}
	if err != nil {
		_ = f.Truncate(p.Received) // a half chunk is dropped; the client resends it
		return Upload{}, httpapi.Invalid("the chunk did not arrive whole; send it again")
	}
	if err := f.Sync(); err != nil {
		return Upload{}, fmt.Errorf("file: sync part: %w", err)
	}
	res, err := s.DB.ExecContext(ctx, "UPDATE uploads SET received = ? WHERE id = ? AND received = ?", p.Received+n, id, p.Received)
	if err != nil {
		return Upload{}, fmt.Errorf("file: record chunk: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return Upload{}, httpapi.Conflict("another chunk arrived at the same time; ask for the upload's state and resume")
	}
	p.Received += n
	return p.Upload, nil
}

// CompleteUpload turns a fully received upload into a file.
func (s *Service) CompleteUpload(ctx context.Context, actor access.Actor, id string) (File, error) {
	p, err := s.pending(ctx, actor, id)
	if err != nil {
		return File{}, err
	}
	if p.Received != p.Size {
		return File{}, &httpapi.Error{Status: http.StatusConflict, Code: httpapi.CodeConflict,
			Message: fmt.Sprintf("%d of %d bytes arrived; send the rest first", p.Received, p.Size), Extra: map[string]any{"received": p.Received}}
	}
	part, err := os.Open(s.partPath(id))
	if err != nil {
		return File{}, fmt.Errorf("file: open part: %w", err)
	}
	f, err := s.Upload(ctx, actor, p.workspaceID, p.Name, part)
	part.Close()
	if err != nil {
		return File{}, err
	}
	if p.channelID != "" {
		if err := s.shareNew(ctx, s.DB, f.ID, p.channelID); err != nil {
			return File{}, err
		}
	}
	_, _ = s.DB.ExecContext(ctx, "DELETE FROM uploads WHERE id = ?", id)
	_ = os.Remove(s.partPath(id))
	return f, nil
}
