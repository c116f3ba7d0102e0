package file

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// Direct uploads: on a store that signs requests (S3), the client sends a
// file's bytes to the store itself, then asks for them to become a file.
const (
	presignTTL = 15 * time.Minute // how long the signed PUT is valid
	directTTL  = time.Hour        // how long the upload may then be completed
)

// CodeDirectUploadUnavailable answers a presign on a store that cannot
// take uploads directly (the local directory).
const CodeDirectUploadUnavailable = "DIRECT_UPLOAD_UNAVAILABLE"

// DirectStorage is a Storage that clients can upload to with a request
// the service signed.
type DirectStorage interface {
	Storage
	// PresignPut signs a request that stores exactly size bytes at key,
	// once: it cannot replace an object that is there.
	PresignPut(ctx context.Context, key string, size int64, ttl time.Duration) (Presigned, error)
}

// Presigned is a signed request: send the bytes as its body, with its
// headers.
type Presigned struct {
	URL     string
	Method  string
	Headers map[string]string
}

// PresignRequest declares a direct upload.
type PresignRequest struct {
	WorkspaceID string `json:"workspaceId"`
	ChannelID   string `json:"channelId"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	// ContentType is what the client believes; what the file is will be
	// read from its bytes, so it is checked for form only.
	ContentType string `json:"contentType,omitempty"`
}

// DirectUpload is where to send a file's bytes, and how.
type DirectUpload struct {
	ID        string            `json:"id"`
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// Presign begins a direct upload of size bytes: the same checks as any
// upload (where it goes, who may, the limits), then a signed request.
func (s *Service) Presign(ctx context.Context, actor access.Actor, in PresignRequest) (DirectUpload, error) {
	ds, ok := s.Storage.(DirectStorage)
	if !ok {
		return DirectUpload{}, httpapi.New(http.StatusBadRequest, CodeDirectUploadUnavailable,
			"direct upload needs S3 storage (QUIKAPP_S3_ENDPOINT); upload with POST /api/v1/files or /api/v1/uploads instead")
	}
	workspaceID, err := s.uploadTarget(ctx, actor, in.WorkspaceID, in.ChannelID)
	if err != nil {
		return DirectUpload{}, err
	}
	if in.Size <= 0 {
		return DirectUpload{}, httpapi.InvalidField("size", "must be the file's size in bytes")
	}
	if ct := in.ContentType; len(ct) > 255 || (ct != "" && !validMediaType(ct)) {
		return DirectUpload{}, httpapi.InvalidField("contentType", "must be a media type such as image/png")
	}
	if in.Size > s.Limits.MaxFile {
		return DirectUpload{}, errTooLarge(s.Limits.MaxFile)
	}
	room, err := s.room(ctx, workspaceID)
	if err != nil {
		return DirectUpload{}, err
	}
	if in.Size > room {
		return DirectUpload{}, errWorkspaceFull()
	}
	id := uuid.Must(uuid.NewV7()).String()
	p, err := ds.PresignPut(ctx, strings.ToLower(id), in.Size, presignTTL)
	if err != nil {
		return DirectUpload{}, err
	}
	now := s.now()
	if _, err := s.DB.ExecContext(ctx, "INSERT INTO direct_uploads (id, workspace_id, channel_id, user_id, name, size, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		id, workspaceID, in.ChannelID, actor.UserID, CleanName(in.Name), in.Size, now.UnixMilli(), now.Add(directTTL).UnixMilli()); err != nil {
		return DirectUpload{}, fmt.Errorf("file: presign: %w", err)
	}
	return DirectUpload{ID: id, UploadURL: p.URL, Method: p.Method, Headers: p.Headers,
		ExpiresAt: now.Add(presignTTL).UTC().Truncate(time.Second)}, nil
}

// validMediaType accepts type/subtype, parameters allowed.
func validMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	typ, sub, ok := strings.Cut(mt, "/")
	return err == nil && ok && typ != "" && sub != ""
}

// CompleteDirect turns the bytes uploaded for a direct upload into a file,
// as an upload through the API would be: what it is comes from its first
// bytes, the limits hold (an object over them is deleted), and images
// wait for the thumbnail worker.
func (s *Service) CompleteDirect(ctx context.Context, actor access.Actor, id string) (File, error) {
	var workspaceID, channelID, user, name string
	var exp int64
	err := s.DB.QueryRowContext(ctx, "SELECT workspace_id, channel_id, user_id, name, expires_ms FROM direct_uploads WHERE id = ?", id).
		Scan(&workspaceID, &channelID, &user, &name, &exp)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (user != actor.UserID || exp <= s.now().UnixMilli())) {
		return File{}, httpapi.NotFound("upload")
	}
	if err != nil {
		return File{}, fmt.Errorf("file: load direct upload: %w", err)
	}
	key := strings.ToLower(id)
	size, err := s.Storage.Stat(ctx, key)
	if errors.Is(err, ErrNoObject) {
		return File{}, &httpapi.Error{Status: http.StatusConflict, Code: httpapi.CodeConflict,
			Message: "nothing has been uploaded yet: send the bytes to the upload URL first"}
	}
	if err != nil {
		return File{}, err
	}
	refuse := func(e error) (File, error) { // the upload is over: its row and bytes go
		res, err := s.DB.ExecContext(ctx, "DELETE FROM direct_uploads WHERE id = ?", id)
		if err != nil {
			return File{}, fmt.Errorf("file: forget direct upload: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return File{}, httpapi.NotFound("upload") // a completion at the same time took it
		}
		if err := s.Storage.Delete(ctx, key); err != nil {
			s.Log.WarnContext(ctx, "file_bytes_not_deleted", "upload", id, "error", err)
		}
		return File{}, e
	}
	// Still allowed? One may have left the channel or workspace since.
	if _, err := s.uploadTarget(ctx, actor, workspaceID, channelID); err != nil {
		if e, ok := httpapi.As(err); ok && e.Status < 500 {
			return refuse(err)
		}
		return File{}, err // a fault, not a refusal: the upload may be completed again
	}
	if size == 0 {
		return refuse(httpapi.InvalidField("file", "is empty"))
	}
	if size > s.Limits.MaxFile {
		return refuse(errTooLarge(s.Limits.MaxFile))
	}
	room, err := s.room(ctx, workspaceID)
	if err != nil {
		return File{}, err
	}
	if size > room {
		return refuse(errWorkspaceFull())
	}
	rc, err := s.Storage.Open(ctx, key)
	if err != nil {
		return File{}, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(rc, head)
	rc.Close()
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return File{}, fmt.Errorf("file: read upload: %w", err)
	}
	f := s.newFile(id, workspaceID, actor.UserID, name, detect(head[:n]), size)
	err = s.DB.InTx(ctx, func(tx *store.Tx) error {
		// Claiming the row makes a second completion (or the sweeper) lose.
		res, err := tx.ExecContext(ctx, "DELETE FROM direct_uploads WHERE id = ? AND expires_ms > ?", id, s.now().UnixMilli())
		if err != nil {
			return fmt.Errorf("file: claim direct upload: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return httpapi.NotFound("upload")
		}
		if err := insertFile(ctx, tx, f, key); err != nil {
			return err
		}
		if channelID != "" {
			return s.shareNew(ctx, tx, f.ID, channelID)
		}
		return nil
	})
	if err != nil {
		return File{}, err
	}
	return f, nil
}

// SweepDirectUploads forgets direct uploads that were never completed, and
// deletes what was uploaded for them; it returns how many it swept.
func (s *Service) SweepDirectUploads(ctx context.Context) (int, error) {
	now := s.now().UnixMilli()
	ids, err := s.ids(ctx, "SELECT id FROM direct_uploads WHERE expires_ms <= ? LIMIT 100", now)
	if err != nil {
		return 0, fmt.Errorf("file: expired direct uploads: %w", err)
	}
	swept := 0
	for _, id := range ids {
		// The row goes first: once it is gone no completion can take the
		// bytes, so deleting them cannot pull them from under a new file.
		res, err := s.DB.ExecContext(ctx, "DELETE FROM direct_uploads WHERE id = ? AND expires_ms <= ?", id, now)
		if err != nil {
			return swept, fmt.Errorf("file: sweep direct upload: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}
		if err := s.Storage.Delete(ctx, strings.ToLower(id)); err != nil {
			s.Log.WarnContext(ctx, "file_bytes_not_deleted", "upload", id, "error", err)
		}
		swept++
	}
	return swept, nil
}
