package file

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
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
// The chunk becomes an object in the file store, so the next one may go to
// any node.
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
	key := strings.ToLower(uuid.Must(uuid.NewV7()).String())
	lim := &limitedReader{r: r, n: min(p.Size-p.Received, MaxChunk)}
	body := &errReader{r: lim}
	cnt := &countingReader{r: body}
	if err := s.Storage.Put(ctx, key, cnt); err != nil {
		switch {
		case lim.hit:
			return Upload{}, &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: httpapi.CodePayloadTooLarge,
				Message: "a chunk may be at most 8 MiB and may not go past the declared size"}
		case body.err != nil: // a half chunk is dropped; the client resends it
			return Upload{}, httpapi.Invalid("the chunk did not arrive whole; send it again").Wrap(err)
		}
		return Upload{}, fmt.Errorf("file: store chunk: %w", err)
	}
	drop := func() {
		if err := s.Storage.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.Log.WarnContext(ctx, "file_bytes_not_deleted", "upload", id, "error", err)
		}
	}
	if cnt.n == 0 {
		drop()
		return p.Upload, nil
	}
	err = s.DB.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE uploads SET received = ? WHERE id = ? AND received = ? AND expires_ms > ?",
			p.Received+cnt.n, id, p.Received, s.now().UnixMilli())
		if err != nil {
			return fmt.Errorf("file: record chunk: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return httpapi.Conflict("another chunk arrived at the same time; ask for the upload's state and resume")
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO upload_chunks (upload_id, start_byte, size, storage_key) VALUES (?, ?, ?, ?)",
			id, p.Received, cnt.n, key)
		if err != nil {
			return fmt.Errorf("file: record chunk: %w", err)
		}
		return nil
	})
	if err != nil {
		drop()
		return Upload{}, err
	}
	p.Received += cnt.n
	return p.Upload, nil
}

// errReader remembers the error its source gave, to tell a client that
// hung up mid-chunk from a store that failed.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// chunk is one stored piece of a resumable upload.
type chunk struct {
	start, size int64
	key         string
}

func (s *Service) chunks(ctx context.Context, id string) ([]chunk, error) {
	rows, err := s.DB.QueryContext(ctx, "SELECT start_byte, size, storage_key FROM upload_chunks WHERE upload_id = ? ORDER BY start_byte", id)
	if err != nil {
		return nil, fmt.Errorf("file: upload chunks: %w", err)
	}
	defer rows.Close()
	var out []chunk
	for rows.Next() {
		var c chunk
		if err := rows.Scan(&c.start, &c.size, &c.key); err != nil {
			return nil, fmt.Errorf("file: upload chunks: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// chunksReader reads the chunks one after another, opening each when the
// one before is done, and checks each is as long as recorded.
type chunksReader struct {
	ctx     context.Context
	storage Storage
	left    []chunk
	cur     io.ReadCloser
	curLeft int64
}

func (c *chunksReader) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if len(c.left) == 0 {
				return 0, io.EOF
			}
			rc, err := c.storage.Open(c.ctx, c.left[0].key)
			if err != nil {
				return 0, fmt.Errorf("file: open chunk at %d: %w", c.left[0].start, err)
			}
			c.cur, c.curLeft, c.left = rc, c.left[0].size, c.left[1:]
		}
		n, err := c.cur.Read(p)
		c.curLeft -= int64(n)
		if c.curLeft < 0 {
			return n, errors.New("file: a chunk is longer than recorded")
		}
		if err == io.EOF {
			c.cur.Close()
			c.cur = nil
			if c.curLeft != 0 {
				return n, errors.New("file: a chunk is shorter than recorded")
			}
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (c *chunksReader) Close() {
	if c.cur != nil {
		c.cur.Close()
	}
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
	chunks, err := s.chunks(ctx, id)
	if err != nil {
		return File{}, err
	}
	next := int64(0)
	for _, c := range chunks {
		if c.start != next {
			return File{}, fmt.Errorf("file: upload %s has a gap at byte %d", id, next)
		}
		next += c.size
	}
	if next != p.Size {
		return File{}, fmt.Errorf("file: upload %s holds %d of %d bytes", id, next, p.Size)
	}
	rd := &chunksReader{ctx: ctx, storage: s.Storage, left: chunks}
	f, err := s.Upload(ctx, actor, p.workspaceID, p.Name, rd)
	rd.Close()
	if err != nil {
		return File{}, err
	}
	if p.channelID != "" {
		if err := s.shareNew(ctx, s.DB, f.ID, p.channelID); err != nil {
			return File{}, err
		}
	}
	if _, err := s.DB.ExecContext(ctx, "DELETE FROM uploads WHERE id = ?", id); err != nil {
		s.Log.WarnContext(ctx, "upload_not_forgotten", "upload", id, "error", err) // the sweeper takes it when it expires
		return f, nil
	}
	s.dropChunks(ctx, id, chunks)
	return f, nil
}

// dropChunks deletes a forgotten upload's chunk objects (the rows went
// with the upload's).
func (s *Service) dropChunks(ctx context.Context, id string, chunks []chunk) {
	for _, c := range chunks {
		if err := s.Storage.Delete(ctx, c.key); err != nil {
			s.Log.WarnContext(ctx, "file_bytes_not_deleted", "upload", id, "error", err)
		}
	}
}

// SweepUploads forgets resumable uploads past their expiry and deletes
// their chunks; it returns how many it swept.
func (s *Service) SweepUploads(ctx context.Context) (int, error) {
	now := s.now().UnixMilli()
	ids, err := s.ids(ctx, "SELECT id FROM uploads WHERE expires_ms <= ? LIMIT 100", now)
	if err != nil {
		return 0, fmt.Errorf("file: expired uploads: %w", err)
	}
	swept := 0
	for _, id := range ids {
		chunks, err := s.chunks(ctx, id)
		if err != nil {
			return swept, err
		}
		// Expired, no chunk can be added any more (AppendChunk's update
		// needs the upload unexpired), so the list is final.
		res, err := s.DB.ExecContext(ctx, "DELETE FROM uploads WHERE id = ? AND expires_ms <= ?", id, now)
		if err != nil {
			return swept, fmt.Errorf("file: sweep upload: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}
		s.dropChunks(ctx, id, chunks)
		swept++
	}
	return swept, nil
}
