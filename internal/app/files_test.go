package app

import (
	"bytes"
	"errors"
	"image/jpeg"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/message"
)

// uploadFile posts a multipart upload and returns the file (failing the
// test unless it was created).
func (s *api) uploadFile(t *testing.T, u user, query, name string, data []byte) file.File {
	t.Helper()
	r := s.uploadRaw(t, u, query, name, data)
	if r.Status != 201 {
		t.Fatalf("upload %s: %s", name, r)
	}
	var f file.File
	r.JSON(t, &f)
	return f
}

func (s *api) uploadRaw(t *testing.T, u user, query, name string, data []byte) resp {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", s.base+"/api/v1/files"+query, &b)
	req.Header.Set("Authorization", "Bearer "+u.Access)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func TestFilesUploadShareDownload(t *testing.T) {
	eachAPI(t, func(c *Config) { c.MaxUpload = 64 << 10 }, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-files")
		pic := pngBytes(t, 32, 16)
		f := s.uploadFile(t, tm.ann, "?workspaceId="+tm.ws.ID, "../../etc/pass\u202ewd.png", pic)
		if f.ContentType != "image/png" || f.Size != int64(len(pic)) || f.Name != "pass"+"wd.png" {
			t.Fatalf("uploaded: %+v", f)
		}
		// Not shared yet: only the uploader sees it.
		s.must(404, "GET", "/api/v1/files/"+f.ID, tm.bob.Access, nil)
		var m message.Message
		s.must(201, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.ann.Access, map[string]any{"text": "", "fileIds": []string{f.ID}}).JSON(t, &m)
		if len(m.Files) != 1 || m.Files[0].ID != f.ID {
			t.Fatalf("message files: %+v", m.Files)
		}
		r := s.must(200, "GET", "/api/v1/files/"+f.ID+"/content", tm.bob.Access, nil)
		if r.Body != string(pic) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("download: %v", r.Header)
		}
		var hist struct{ Items []message.Message }
		s.must(200, "GET", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, nil).JSON(t, &hist)
		if len(hist.Items) != 1 || len(hist.Items[0].Files) != 1 {
			t.Fatalf("history files: %+v", hist.Items)
		}
		if got := find(t, s, tm.bob, tm.ws.ID, "has:file"); len(got) != 1 {
			t.Fatalf("has:file: %d results", len(got))
		}
		// Files are found by name, within what one may download.
		if got := find(t, s, tm.bob, tm.ws.ID, "pass", "&type=files"); len(got) != 1 || got[0].File.ID != f.ID {
			t.Fatalf("file search: %+v", got)
		}
		// An HTML page named .png is not served as a page.
		evil := s.uploadFile(t, tm.ann, "?channelId="+tm.general.ID, "cat.png", []byte("<!DOCTYPE html><script>alert(document.cookie)</script>"))
		r = s.must(200, "GET", "/api/v1/files/"+evil.ID+"/content", tm.bob.Access, nil)
		if ct := r.Header.Get("Content-Type"); strings.Contains(ct, "html") || strings.Contains(ct, "image") ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("spoofed image served as %q, %q", ct, r.Header.Get("Content-Disposition"))
		}
		// Private channel files stay private.
		var secret channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "legal", "type": "private"}).JSON(t, &secret)
		hidden := s.uploadFile(t, tm.ann, "?channelId="+secret.ID, "contract.pdf", []byte("%PDF-1.4 secret"))
		s.must(404, "GET", "/api/v1/files/"+hidden.ID+"/content", tm.bob.Access, nil)
		if got := find(t, s, tm.bob, tm.ws.ID, "contract", "&type=files"); len(got) != 0 {
			t.Fatalf("a private channel's file found by a non-member: %+v", got)
		}
		if got := find(t, s, tm.ann, tm.ws.ID, "contract", "&type=files"); len(got) != 1 {
			t.Fatalf("a member cannot find her file: %+v", got)
		}
		s.must(404, "GET", "/api/v1/files/"+hidden.ID, tm.bob.Access, nil)
		s.must(400, "POST", "/api/v1/channels/"+tm.general.ID+"/messages", tm.bob.Access, map[string]any{"text": "look", "fileIds": []string{hidden.ID}})
		if r := s.uploadRaw(t, tm.bob, "?channelId="+secret.ID, "x.txt", []byte("x")); r.Status != 404 {
			t.Fatalf("upload into a private channel one is not in: %s", r)
		}
		// Limits and bad uploads.
		if r := s.uploadRaw(t, tm.ann, "?workspaceId="+tm.ws.ID, "big.bin", make([]byte, 65<<10)); r.Status != 413 || r.Code() != "PAYLOAD_TOO_LARGE" {
			t.Fatalf("oversized: %s", r)
		}
		if r := s.uploadRaw(t, tm.ann, "?workspaceId="+tm.ws.ID, "empty.txt", nil); r.Status != 400 {
			t.Fatalf("empty: %s", r)
		}
		if r := s.do("POST", "/api/v1/files?workspaceId="+tm.ws.ID, tm.ann.Access, `{"not":"multipart"}`); r.Status != 415 {
			t.Fatalf("JSON body: %s", r)
		}
		guest := s.signUp("Gus")
		joinWorkspace(t, s, tm.ann, guest, tm.ws.ID, "guest")
		if r := s.uploadRaw(t, guest, "?workspaceId="+tm.ws.ID, "g.txt", []byte("hi")); r.Status != 403 {
			t.Fatalf("guest upload: %s", r)
		}
		// Delete: the uploader (or an admin); then it is gone everywhere.
		s.must(403, "DELETE", "/api/v1/files/"+f.ID, tm.bob.Access, nil)
		s.must(204, "DELETE", "/api/v1/files/"+f.ID, tm.ann.Access, nil)
		s.must(404, "GET", "/api/v1/files/"+f.ID+"/content", tm.ann.Access, nil)
		s.must(200, "GET", "/api/v1/messages/"+m.ID, tm.bob.Access, nil).JSON(t, &m)
		if len(m.Files) != 0 {
			t.Fatalf("a deleted file still shows on its message: %+v", m.Files)
		}
	})
}

// An upload cut off half way leaves neither a row nor bytes behind.
func TestInterruptedUploadLeavesNothing(t *testing.T) {
	s := startAPI(t, "sqlite", nil)
	tm := newTeam(t, s, "acme-cut")
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("file", "half.bin")
		fw.Write(bytes.Repeat([]byte("x"), 10000))
		pw.CloseWithError(io.ErrUnexpectedEOF) // the client goes away mid-upload
	}()
	req, _ := http.NewRequest("POST", s.base+"/api/v1/files?workspaceId="+tm.ws.ID, pr)
	req.Header.Set("Authorization", "Bearer "+tm.ann.Access)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode == 201 {
			t.Fatal("a cut-off upload was accepted")
		}
	}
	// The server notices the cut when its read fails, a moment after the
	// client gave up; give it that moment.
	leftovers := func() (rows, files int) {
		_ = s.run.app.deps.DB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM files").Scan(&rows)
		_ = filepath.WalkDir(filepath.Join(s.cfg.DataDir, "files"), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
			}
			return nil
		})
		return rows, files
	}
	rows, files := leftovers()
	for deadline := time.Now().Add(5 * time.Second); (rows != 0 || files != 0) && time.Now().Before(deadline); rows, files = leftovers() {
		time.Sleep(20 * time.Millisecond)
	}
	if rows != 0 || files != 0 {
		t.Fatalf("after a cut-off upload: %d rows, %d files on disk", rows, files)
	}
}

func TestThumbnails(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-thumbs")
		f := s.uploadFile(t, tm.ann, "?channelId="+tm.general.ID, "wide.png", pngBytes(t, 1000, 500))
		if f.Thumbnails != "pending" {
			t.Fatalf("new image: %+v", f)
		}
		deadline := time.Now().Add(5 * time.Second)
		for f.Thumbnails == "pending" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			s.must(200, "GET", "/api/v1/files/"+f.ID, tm.bob.Access, nil).JSON(t, &f)
		}
		if f.Thumbnails != "done" || f.Width != 1000 || f.Height != 500 {
			t.Fatalf("after the worker: %+v", f)
		}
		for size, side := range map[string]int{"small": 64, "medium": 360, "large": 720} {
			r := s.must(200, "GET", "/api/v1/files/"+f.ID+"/thumbnail?size="+size, tm.bob.Access, nil)
			img, err := jpeg.Decode(strings.NewReader(r.Body))
			if err != nil || r.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("%s thumbnail: %v %v", size, err, r.Header)
			}
			if b := img.Bounds(); b.Dx() != side || b.Dy() != side/2 {
				t.Fatalf("%s thumbnail is %v, want %d×%d", size, b, side, side/2)
			}
		}
		s.must(400, "GET", "/api/v1/files/"+f.ID+"/thumbnail?size=huge", tm.bob.Access, nil)
		doc := s.uploadFile(t, tm.ann, "?channelId="+tm.general.ID, "notes.txt", []byte("plain text"))
		if doc.Thumbnails != "none" {
			t.Fatalf("text file thumbnails: %q", doc.Thumbnails)
		}
		s.must(404, "GET", "/api/v1/files/"+doc.ID+"/thumbnail", tm.bob.Access, nil)
	})
}

func TestResumableUpload(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-resume")
		data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320,000 bytes
		var u file.Upload
		s.must(201, "POST", "/api/v1/uploads", tm.ann.Access, map[string]any{"channelId": tm.general.ID, "name": "big.log", "size": len(data)}).JSON(t, &u)
		put := func(who user, off int, chunk []byte) resp {
			req, _ := http.NewRequest("PUT", s.base+"/api/v1/uploads/"+u.ID+"?offset="+strconv.Itoa(off), bytes.NewReader(chunk))
			req.Header.Set("Authorization", "Bearer "+who.Access)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return resp{Status: res.StatusCode, Body: string(b)}
		}
		if r := put(tm.ann, 0, data[:100000]); r.Status != 200 {
			t.Fatalf("first chunk: %s", r)
		}
		// The connection dropped and the client resends the same chunk: it
		// is told where the upload really is.
		r := put(tm.ann, 0, data[:100000])
		if r.Status != 409 || !strings.Contains(r.Body, `"received":100000`) {
			t.Fatalf("resent chunk: %s", r)
		}
		s.must(200, "GET", "/api/v1/uploads/"+u.ID, tm.ann.Access, nil).JSON(t, &u)
		if u.Received != 100000 {
			t.Fatalf("state: %+v", u)
		}
		s.must(404, "GET", "/api/v1/uploads/"+u.ID, tm.bob.Access, nil)
		if r := put(tm.bob, 100000, data[100000:]); r.Status != 404 {
			t.Fatalf("someone else's chunk: %s", r)
		}
		s.must(409, "POST", "/api/v1/uploads/"+u.ID+"/complete", tm.ann.Access, nil)
		if r := put(tm.ann, 100000, append(append([]byte{}, data[100000:]...), 'x')); r.Status != 413 {
			t.Fatalf("chunk past the declared size: %s", r)
		}
		if r := put(tm.ann, 100000, data[100000:]); r.Status != 200 {
			t.Fatalf("last chunk: %s", r)
		}
		var f file.File
		s.must(201, "POST", "/api/v1/uploads/"+u.ID+"/complete", tm.ann.Access, nil).JSON(t, &f)
		if f.Size != int64(len(data)) || f.Name != "big.log" {
			t.Fatalf("file: %+v", f)
		}
		got := s.must(200, "GET", "/api/v1/files/"+f.ID+"/content", tm.bob.Access, nil)
		if got.Body != string(data) {
			t.Fatalf("content differs: %d bytes", len(got.Body))
		}
		s.must(404, "GET", "/api/v1/uploads/"+u.ID, tm.ann.Access, nil)
		s.must(400, "POST", "/api/v1/uploads", tm.ann.Access, map[string]any{"workspaceId": tm.ws.ID, "name": "x", "size": 0})
		if keys := chunkKeys(t, s); len(keys) != 0 {
			t.Fatalf("chunks left after completion: %q", keys)
		}

		// An upload left unfinished is swept when it expires, chunks and all.
		s.must(201, "POST", "/api/v1/uploads", tm.ann.Access, map[string]any{"workspaceId": tm.ws.ID, "name": "left.log", "size": 10}).JSON(t, &u)
		if r := put(tm.ann, 0, []byte("01234")); r.Status != 200 {
			t.Fatalf("chunk: %s", r)
		}
		if r := put(tm.ann, 5, nil); r.Status != 200 || !strings.Contains(r.Body, `"received":5`) {
			t.Fatalf("an empty chunk: %s", r)
		}
		keys := chunkKeys(t, s)
		if len(keys) != 1 {
			t.Fatalf("chunks of the unfinished upload: %q", keys)
		}
		svc := newFiles(s.run.app.deps)
		if n, err := svc.SweepUploads(t.Context()); err != nil || n != 0 {
			t.Fatalf("sweep before expiry: %d, %v", n, err)
		}
		s.clock.Add(25 * time.Hour)
		s.login(&tm.ann) // a day on, the access token has expired too
		s.must(404, "GET", "/api/v1/uploads/"+u.ID, tm.ann.Access, nil)
		if r := put(tm.ann, 5, []byte("56789")); r.Status != 404 {
			t.Fatalf("a chunk after expiry: %s", r)
		}
		if n, err := svc.SweepUploads(t.Context()); err != nil || n != 1 {
			t.Fatalf("sweep after expiry: %d, %v", n, err)
		}
		if _, err := svc.Storage.Stat(t.Context(), keys[0]); !errors.Is(err, file.ErrNoObject) {
			t.Fatalf("a swept upload's chunk is still stored: %v", err)
		}
		if keys := chunkKeys(t, s); len(keys) != 0 {
			t.Fatalf("chunk rows left after the sweep: %q", keys)
		}
	})
}

// chunkKeys are the storage keys of every resumable-upload chunk recorded.
func chunkKeys(t *testing.T, s *api) []string {
	t.Helper()
	rows, err := s.run.app.deps.DB.QueryContext(t.Context(), "SELECT storage_key FROM upload_chunks")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}
