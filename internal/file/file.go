// Package file is uploads and downloads: bytes kept by a Storage (a local
// directory by default), metadata and sharing in the database, and every
// download checked against who may see it — the uploader, or members of
// a channel it was shared in. What a file is comes from its bytes, never
// from the name or the type the client claimed.
package file

import (
	"bufio"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the file tables.
var Migrations = store.Migrations{Domain: "file", FS: store.MigrationsFS(migrationFiles, "migrations")}

// File is a file's metadata as the API shows it.
type File struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	UploaderID  string    `json:"uploaderId"`
	Name        string    `json:"name"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"createdAt"`
	// Width and Height are an image's pixels, once its thumbnails exist.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Thumbnails is pending, done, failed or none.
	Thumbnails string `json:"thumbnails"`
}

// Limits configures sizes.
type Limits struct {
	MaxFile      int64 // bytes per file
	MaxWorkspace int64 // bytes per workspace, all files together
}

// Service implements files.
type Service struct {
	DB       *store.DB
	Log      *slog.Logger
	Access   *access.Checker
	Channels *channel.Service
	Storage  Storage
	Limits   Limits
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CleanName makes an uploaded name safe to store and show: the last path
// element, no control or bidirectional-override characters, at most 200
// characters; "file" when nothing is left.
func CleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '/' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.Trim(name, " .")
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

var errTooLarge = func(limit int64) error {
	return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: httpapi.CodePayloadTooLarge,
		Message: fmt.Sprintf("a file may be at most %d MiB", limit>>20)}
}

// limitedReader fails once its source holds more than n bytes; a source
// of exactly n bytes reads to a plain EOF.
type limitedReader struct {
	r   io.Reader
	n   int64
	hit bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// At the limit: only a source with more to give is too large.
		var probe [1]byte
		for {
			n, err := l.r.Read(probe[:])
			if n > 0 {
				l.hit = true
				return 0, errors.New("file: too large")
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// countingReader counts what passes.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Upload stores r as a new file of the workspace. The bytes go to storage
// first; the row is written only when all of them arrived, so an
// interrupted upload leaves nothing behind.
func (s *Service) Upload(ctx context.Context, actor access.Actor, workspaceID, name string, r io.Reader) (File, error) {
	if err := s.Access.Can(ctx, actor, access.FileUpload, access.Resource{Kind: "workspace", ID: workspaceID, WorkspaceID: workspaceID}); err != nil {
		return File{}, err
	}
	room, err := s.room(ctx, workspaceID)
	if err != nil {
		return File{}, err
	}
	if room <= 0 {
		return File{}, errWorkspaceFull()
	}
	br := bufio.NewReaderSize(r, 512)
	head, _ := br.Peek(512)
	id := uuid.Must(uuid.NewV7()).String()
	key := strings.ToLower(id)
	lim := &limitedReader{r: br, n: room}
	cnt := &countingReader{r: lim}
	if err := s.Storage.Put(ctx, key, cnt); err != nil {
		if lim.hit {
			return File{}, errTooLarge(s.Limits.MaxFile)
		}
		return File{}, httpapi.Invalid("the upload did not complete; send it again").Wrap(err)
	}
	if cnt.n == 0 {
		_ = s.Storage.Delete(ctx, key)
		return File{}, httpapi.InvalidField("file", "is empty")
	}
	f := s.newFile(id, workspaceID, actor.UserID, name, detect(head), cnt.n)
	if err := insertFile(ctx, s.DB, f, key); err != nil {
		_ = s.Storage.Delete(ctx, key)
		return File{}, err
	}
	return f, nil
}

// room is how many bytes one more file of the workspace may have: the
// per-file limit, or what is left of the workspace's storage if less
// (none: zero or below).
func (s *Service) room(ctx context.Context, workspaceID string) (int64, error) {
	var used int64
	if err := s.DB.QueryRowContext(ctx, "SELECT COALESCE(SUM(size), 0) FROM files WHERE workspace_id = ? AND deleted_ms = 0", workspaceID).Scan(&used); err != nil {
		return 0, fmt.Errorf("file: usage: %w", err)
	}
	return min(s.Limits.MaxFile, s.Limits.MaxWorkspace-used), nil
}

func errWorkspaceFull() error {
	return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: httpapi.CodePayloadTooLarge,
		Message: "this workspace has used all its file storage; delete files to make room"}
}

// newFile is the metadata of a file just stored; images wait for the
// thumbnail worker.
func (s *Service) newFile(id, workspaceID, uploaderID, name, ctype string, size int64) File {
	f := File{ID: id, WorkspaceID: workspaceID, UploaderID: uploaderID, Name: CleanName(name), ContentType: ctype, Size: size,
		Thumbnails: "none", CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if thumbable[ctype] {
		f.Thumbnails = "pending"
	}
	return f
}

// insertFile records f, its bytes stored under key.
func insertFile(ctx context.Context, q store.Querier, f File, key string) error {
	_, err := q.ExecContext(ctx, "INSERT INTO files (id, workspace_id, uploader_id, name, content_type, size, storage_key, created_ms, thumbs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		f.ID, f.WorkspaceID, f.UploaderID, f.Name, f.ContentType, f.Size, key, f.CreatedAt.UnixMilli(), f.Thumbnails)
	if err != nil {
		return fmt.Errorf("file: record: %w", err)
	}
	return nil
}

// shareNew shares a just-uploaded file in the channel it was sent to.
func (s *Service) shareNew(ctx context.Context, q store.Querier, fileID, channelID string) error {
	_, err := q.ExecContext(ctx, "INSERT INTO file_shares (file_id, channel_id, message_id, shared_ms) VALUES (?, ?, '', ?) ON CONFLICT DO NOTHING",
		fileID, channelID, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("file: share: %w", err)
	}
	return nil
}

// uploadTarget is the workspace an upload goes to — the channel's, when
// one is named, which the actor must be a member of — once the actor is
// known to be allowed to upload there.
func (s *Service) uploadTarget(ctx context.Context, actor access.Actor, workspaceID, channelID string) (string, error) {
	if channelID != "" {
		c, err := s.Channels.Get(ctx, actor, channelID)
		if err != nil {
			return "", err
		}
		if !c.IsMember {
			return "", httpapi.Forbidden("join the channel to share files in it")
		}
		workspaceID = c.WorkspaceID
	}
	if workspaceID == "" {
		return "", httpapi.InvalidField("workspaceId", "is required (or a channelId)")
	}
	if err := s.Access.Can(ctx, actor, access.FileUpload, access.Resource{Kind: "workspace", ID: workspaceID, WorkspaceID: workspaceID}); err != nil {
		return "", err
	}
	return workspaceID, nil
}

// detect names the type of the bytes (the standard sniffing algorithm),
// with the parameters that would change how a browser treats it dropped.
func detect(head []byte) string {
	ct := http.DetectContentType(head)
	if i := strings.IndexByte(ct, ';'); i >= 0 && !strings.HasPrefix(ct, "text/") {
		ct = ct[:i]
	}
	return ct
}

func (s *Service) load(ctx context.Context, id string) (File, string, error) {
	var f File
	var key string
	var created int64
	err := s.DB.QueryRowContext(ctx, "SELECT id, workspace_id, uploader_id, name, content_type, size, storage_key, created_ms, width, height, thumbs FROM files WHERE id = ? AND deleted_ms = 0", id).
		Scan(&f.ID, &f.WorkspaceID, &f.UploaderID, &f.Name, &f.ContentType, &f.Size, &key, &created, &f.Width, &f.Height, &f.Thumbnails)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, "", httpapi.NotFound("file")
	}
	if err != nil {
		return File{}, "", fmt.Errorf("file: load %s: %w", id, err)
	}
	f.CreatedAt = time.UnixMilli(created).UTC()
	return f, key, nil
}

// Get returns a file the actor may see: theirs, or shared in a channel
// they can see. Anything else is not found.
func (s *Service) Get(ctx context.Context, actor access.Actor, id string) (File, string, error) {
	f, key, err := s.load(ctx, id)
	if err != nil {
		return File{}, "", err
	}
	if err := s.Access.Can(ctx, actor, access.WorkspaceRead, access.Resource{Kind: "file", ID: id, WorkspaceID: f.WorkspaceID}); err != nil {
		return File{}, "", httpapi.NotFound("file")
	}
	if f.UploaderID == actor.UserID || actor.SystemAdmin {
		return f, key, nil
	}
	rows, err := s.DB.QueryContext(ctx, "SELECT DISTINCT channel_id FROM file_shares WHERE file_id = ?", id)
	if err != nil {
		return File{}, "", fmt.Errorf("file: shares: %w", err)
	}
	var chans []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return File{}, "", err
		}
		chans = append(chans, c)
	}
	rows.Close()
	for _, c := range chans {
		if _, err := s.Channels.Get(ctx, actor, c); err == nil {
			return f, key, nil
		}
	}
	return File{}, "", httpapi.NotFound("file")
}

// Share records that a message in a channel carries the files; only
// files the actor may see can be shared.
func (s *Service) Share(ctx context.Context, tx *store.Tx, actor access.Actor, workspaceID, channelID, messageID string, ids []string) ([]File, error) {
	if len(ids) > 10 {
		return nil, httpapi.InvalidField("fileIds", "at most 10 files per message")
	}
	var out []File
	for _, id := range ids {
		f, _, err := s.Get(ctx, actor, id)
		if err != nil || f.WorkspaceID != workspaceID {
			return nil, httpapi.InvalidField("fileIds", "every file must be one you can see, in this workspace")
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO file_shares (file_id, channel_id, message_id, shared_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			id, channelID, messageID, s.now().UnixMilli()); err != nil {
			return nil, fmt.Errorf("file: share: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
}

// OfMessages returns the files attached to each of the messages.
func (s *Service) OfMessages(ctx context.Context, q store.Querier, messageIDs []string) (map[string][]File, error) {
	out := map[string][]File{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(messageIDs))
	for i, id := range messageIDs {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT s.message_id, f.id, f.workspace_id, f.uploader_id, f.name, f.content_type, f.size, f.created_ms
		FROM file_shares s JOIN files f ON f.id = s.file_id WHERE f.deleted_ms = 0 AND s.message_id IN (?`+strings.Repeat(",?", len(messageIDs)-1)+`)
		ORDER BY s.message_id, s.shared_ms, f.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("file: of messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		var f File
		var c int64
		if err := rows.Scan(&mid, &f.ID, &f.WorkspaceID, &f.UploaderID, &f.Name, &f.ContentType, &f.Size, &c); err != nil {
			return nil, fmt.Errorf("file: of messages: %w", err)
		}
		f.CreatedAt = time.UnixMilli(c).UTC()
		out[mid] = append(out[mid], f)
	}
	return out, rows.Err()
}

// Delete removes a file (its uploader, or a workspace admin).
func (s *Service) Delete(ctx context.Context, actor access.Actor, id string) error {
	f, key, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if f.UploaderID != actor.UserID {
		if err := s.Access.Can(ctx, actor, access.ChannelManage, access.Resource{Kind: "file", ID: id, WorkspaceID: f.WorkspaceID}); err != nil {
			return err
		}
	}
	if _, err := s.DB.ExecContext(ctx, "UPDATE files SET deleted_ms = ? WHERE id = ?", s.now().UnixMilli(), id); err != nil {
		return fmt.Errorf("file: delete: %w", err)
	}
	for _, k := range []string{key, key + "-small", key + "-medium", key + "-large"} {
		if err := s.Storage.Delete(ctx, k); err != nil {
			s.Log.WarnContext(ctx, "file_bytes_not_deleted", "file", id, "error", err)
		}
	}
	return nil
}

// Content opens a file's bytes.
func (s *Service) Content(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.Storage.Open(ctx, key)
}
