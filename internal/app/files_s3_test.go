package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth/token"
	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/file"
	"github.com/quikapp/quikapp/internal/file/s3test"
	"github.com/quikapp/quikapp/internal/platform/env"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// onS3 keeps the files of the QuikApp under test in a fresh bucket of
// srv (QuikApp makes the bucket at start).
func onS3(srv *s3test.Server, more func(*Config)) func(*Config) {
	return func(c *Config) {
		c.S3 = srv.Config(s3test.Bucket())
		if more != nil {
			more(c)
		}
	}
}

// bucket is the store the QuikApp under test keeps its files in.
func (s *api) bucket(t *testing.T) *file.S3 {
	t.Helper()
	st, err := file.NewS3(s.cfg.S3)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitThumbnails polls a file until the worker is done with it.
func waitThumbnails(t *testing.T, s *api, u user, f file.File) file.File {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); f.Thumbnails == "pending" && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		s.must(200, "GET", "/api/v1/files/"+f.ID, u.Access, nil).JSON(t, &f)
	}
	return f
}

// The upload paths the API has — multipart, resumable, thumbnails,
// download, delete — on S3.
func TestS3FilesUploadThumbnailsDownloadDelete(t *testing.T) {
	srv := s3test.Start(t)
	s := startAPI(t, "sqlite", onS3(srv, nil))
	tm := newTeam(t, s, "acme-s3")
	pic := pngBytes(t, 1000, 500)
	f := s.uploadFile(t, tm.ann, "?channelId="+tm.general.ID, "wide.png", pic)
	if f.ContentType != "image/png" || f.Thumbnails != "pending" {
		t.Fatalf("uploaded: %+v", f)
	}
	if got := s.must(200, "GET", "/api/v1/files/"+f.ID+"/content", tm.bob.Access, nil); got.Body != string(pic) {
		t.Fatalf("download: %d bytes, want %d", len(got.Body), len(pic))
	}
	if f = waitThumbnails(t, s, tm.bob, f); f.Thumbnails != "done" || f.Width != 1000 || f.Height != 500 {
		t.Fatalf("after the worker: %+v", f)
	}
	r := s.must(200, "GET", "/api/v1/files/"+f.ID+"/thumbnail?size=small", tm.bob.Access, nil)
	if img, err := jpeg.Decode(strings.NewReader(r.Body)); err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("small thumbnail: %v", err)
	}
	if keys := srv.Objects(t, s.cfg.S3.Bucket); len(keys) != 4 {
		t.Fatalf("bucket after an image and its thumbnails: %q", keys)
	}

	// Resumable: chunks on the node's disk, the whole into the bucket.
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: parts on S3
	var u file.Upload
	s.must(201, "POST", "/api/v1/uploads", tm.ann.Access, map[string]any{"channelId": tm.general.ID, "name": "big.log", "size": len(data)}).JSON(t, &u)
	for off := 0; off < len(data); off += file.MaxChunk {
		end := min(off+file.MaxChunk, len(data))
		s.must(200, "PUT", "/api/v1/uploads/"+u.ID+"?offset="+strconv.Itoa(off), tm.ann.Access, data[off:end])
	}
	var big file.File
	s.must(201, "POST", "/api/v1/uploads/"+u.ID+"/complete", tm.ann.Access, nil).JSON(t, &big)
	if got := s.must(200, "GET", "/api/v1/files/"+big.ID+"/content", tm.bob.Access, nil); got.Body != string(data) {
		t.Fatalf("resumable download: %d bytes, want %d", len(got.Body), len(data))
	}

	// Delete takes the bytes and the thumbnails out of the bucket.
	s.must(204, "DELETE", "/api/v1/files/"+f.ID, tm.ann.Access, nil)
	s.must(204, "DELETE", "/api/v1/files/"+big.ID, tm.ann.Access, nil)
	if keys := srv.Objects(t, s.cfg.S3.Bucket); len(keys) != 0 {
		t.Fatalf("bucket after deleting every file: %q", keys)
	}
}

// A multipart body that ends before its closing boundary (the client
// stopped sending; the request itself ended cleanly) stores nothing: the
// part's unexpected end is not taken for the end of the file.
func TestS3TruncatedUploadLeavesNothing(t *testing.T) {
	srv := s3test.Start(t)
	s := startAPI(t, "sqlite", onS3(srv, nil))
	tm := newTeam(t, s, "acme-s3-cut")
	for _, size := range []int{10000, 12 << 20} { // within one part, and past it
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "half.bin")
		fw.Write(bytes.Repeat([]byte("x"), size)) // and no mw.Close()
		req, _ := http.NewRequest("POST", s.base+"/api/v1/files?workspaceId="+tm.ws.ID, &b)
		req.Header.Set("Authorization", "Bearer "+tm.ann.Access)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Fatalf("a truncated upload of %d bytes: %d", size, res.StatusCode)
		}
	}
	var rows int
	_ = s.run.app.deps.DB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM files").Scan(&rows)
	if keys := srv.Objects(t, s.cfg.S3.Bucket); rows != 0 || len(keys) != 0 {
		t.Fatalf("after truncated uploads: %d rows, objects %q", rows, keys)
	}
}

// directPut sends bytes to a pre-signed upload as any client would: a
// plain HTTP request to the store, no QuikApp credentials.
func directPut(t *testing.T, d file.DirectUpload, body []byte) resp {
	t.Helper()
	req, err := http.NewRequest(d.Method, d.UploadURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range d.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func presign(t *testing.T, s *api, u user, in map[string]any) file.DirectUpload {
	t.Helper()
	var d file.DirectUpload
	s.must(201, "POST", "/api/v1/files/presign", u.Access, in).JSON(t, &d)
	return d
}

func TestPresignedDirectUpload(t *testing.T) {
	srv := s3test.Start(t)
	eachAPI(t, onS3(srv, func(c *Config) { c.MaxUpload = 256 << 10; c.MaxWorkspaceStorage = 1 << 20 }), func(t *testing.T, s *api) {
		tm := newTeam(t, s, "acme-direct")
		pic := pngBytes(t, 400, 200)
		d := presign(t, s, tm.ann, map[string]any{"channelId": tm.general.ID, "name": "../photo.png", "size": len(pic), "contentType": "image/png"})
		if d.ID == "" || d.Method != "PUT" || !strings.HasPrefix(d.UploadURL, "http://"+s.cfg.S3.Endpoint+"/") ||
			d.Headers["If-None-Match"] != "*" || time.Until(d.ExpiresAt) < 10*time.Minute || time.Until(d.ExpiresAt) > 20*time.Minute {
			t.Fatalf("presigned: %+v", d)
		}
		// Complete before the bytes are there: told to upload first.
		if r := s.do("POST", "/api/v1/files/"+d.ID+"/complete", tm.ann.Access, nil); r.Status != 409 || !strings.Contains(r.Body, "upload") {
			t.Fatalf("complete before upload: %s", r)
		}
		// The signature binds the size and the once-only condition.
		if r := directPut(t, d, append(append([]byte{}, pic...), 0)); r.Status != 403 {
			t.Fatalf("PUT of another size: %s", r)
		}
		if r := directPut(t, file.DirectUpload{Method: d.Method, UploadURL: d.UploadURL}, pic); r.Status/100 != 4 {
			t.Fatalf("PUT without the signed headers: %s", r)
		}
		if r := directPut(t, d, pic); r.Status != 200 {
			t.Fatalf("PUT: %s", r)
		}
		if r := directPut(t, d, bytes.Repeat([]byte("<"), len(pic))); r.Status != 412 {
			t.Fatalf("a second PUT replaced the object: %s", r)
		}
		// Someone else cannot complete it; its uploader makes it a file
		// like any upload.
		s.must(404, "POST", "/api/v1/files/"+d.ID+"/complete", tm.bob.Access, nil)
		var f file.File
		s.must(201, "POST", "/api/v1/files/"+d.ID+"/complete", tm.ann.Access, nil).JSON(t, &f)
		if f.ID != d.ID || f.Name != "photo.png" || f.ContentType != "image/png" || f.Size != int64(len(pic)) ||
			f.UploaderID != tm.ann.ID || f.WorkspaceID != tm.ws.ID || f.Thumbnails != "pending" {
			t.Fatalf("completed: %+v", f)
		}
		s.must(404, "POST", "/api/v1/files/"+d.ID+"/complete", tm.ann.Access, nil)    // once
		r := s.must(200, "GET", "/api/v1/files/"+f.ID+"/content", tm.bob.Access, nil) // shared in #general
		if r.Body != string(pic) || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("download: %d bytes, %v", len(r.Body), r.Header)
		}
		if f = waitThumbnails(t, s, tm.bob, f); f.Thumbnails != "done" || f.Width != 400 {
			t.Fatalf("thumbnails: %+v", f)
		}
		if got := find(t, s, tm.bob, tm.ws.ID, "photo", "&type=files"); len(got) != 1 || got[0].File.ID != f.ID {
			t.Fatalf("file search: %+v", got)
		}

		// An HTML page named .png is what its bytes say, and downloads as such.
		page := []byte("<!DOCTYPE html><script>alert(document.cookie)</script>")
		d = presign(t, s, tm.ann, map[string]any{"workspaceId": tm.ws.ID, "name": "cat.png", "size": len(page), "contentType": "image/png"})
		directPut(t, d, page)
		s.must(201, "POST", "/api/v1/files/"+d.ID+"/complete", tm.ann.Access, nil).JSON(t, &f)
		if !strings.HasPrefix(f.ContentType, "text/html") || f.Thumbnails != "none" {
			t.Fatalf("spoofed image recorded as %+v", f)
		}
		r = s.must(200, "GET", "/api/v1/files/"+f.ID+"/content", tm.ann.Access, nil)
		if ct := r.Header.Get("Content-Type"); strings.Contains(ct, "html") || strings.Contains(ct, "image") ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("spoofed image served as %q, %q", ct, r.Header.Get("Content-Disposition"))
		}

		// Too big: refused at presign; and at completion, if the bytes in the
		// bucket are over the limit however they got there, they are deleted.
		if r := s.do("POST", "/api/v1/files/presign", tm.ann.Access, map[string]any{"workspaceId": tm.ws.ID, "name": "big.bin", "size": 256<<10 + 1}); r.Status != 413 || r.Code() != "PAYLOAD_TOO_LARGE" {
			t.Fatalf("presign over the file limit: %s", r)
		}
		d = presign(t, s, tm.ann, map[string]any{"workspaceId": tm.ws.ID, "name": "grown.bin", "size": 10})
		if err := s.bucket(t).Put(t.Context(), strings.ToLower(d.ID), bytes.NewReader(make([]byte, 256<<10+1))); err != nil {
			t.Fatal(err)
		}
		if r := s.do("POST", "/api/v1/files/"+d.ID+"/complete", tm.ann.Access, nil); r.Status != 413 || r.Code() != "PAYLOAD_TOO_LARGE" {
			t.Fatalf("complete over the file limit: %s", r)
		}
		if _, err := s.bucket(t).Stat(t.Context(), strings.ToLower(d.ID)); !errors.Is(err, file.ErrNoObject) {
			t.Fatalf("the oversized object is still in the bucket: %v", err)
		}
		s.must(404, "POST", "/api/v1/files/"+d.ID+"/complete", tm.ann.Access, nil)

		// The workspace limit holds for uploads presigned while there was room.
		ws2 := newTeam(t, s, "acme-direct-full")
		chunk := bytes.Repeat([]byte("w"), 200<<10)
		var pending []file.DirectUpload
		for range 6 { // 6 × 200 KiB > 1 MiB
			d := presign(t, s, ws2.ann, map[string]any{"workspaceId": ws2.ws.ID, "name": "part.txt", "size": len(chunk)})
			if r := directPut(t, d, chunk); r.Status != 200 {
				t.Fatalf("PUT: %s", r)
			}
			pending = append(pending, d)
		}
		for i, d := range pending {
			want := 201
			if i == 5 {
				want = 413
			}
			if r := s.do("POST", "/api/v1/files/"+d.ID+"/complete", ws2.ann.Access, nil); r.Status != want {
				t.Fatalf("completion %d: %s, want %d", i+1, r, want)
			}
		}
		if _, err := s.bucket(t).Stat(t.Context(), strings.ToLower(pending[5].ID)); !errors.Is(err, file.ErrNoObject) {
			t.Fatalf("the object over the workspace limit is still in the bucket: %v", err)
		}
		if r := s.do("POST", "/api/v1/files/presign", ws2.ann.Access, map[string]any{"workspaceId": ws2.ws.ID, "name": "more.txt", "size": len(chunk)}); r.Status != 413 {
			t.Fatalf("presign in a full workspace: %s", r)
		}

		// Who may, and what is a request.
		guest := s.signUp("Gus")
		joinWorkspace(t, s, tm.ann, guest, tm.ws.ID, "guest")
		s.must(403, "POST", "/api/v1/files/presign", guest.Access, map[string]any{"workspaceId": tm.ws.ID, "name": "g.txt", "size": 2})
		outsider := s.signUp("Olga")
		s.must(404, "POST", "/api/v1/files/presign", outsider.Access, map[string]any{"workspaceId": tm.ws.ID, "name": "o.txt", "size": 2})
		for body, field := range map[string]string{
			`{"workspaceId":"` + tm.ws.ID + `","name":"x","size":0}`:                            "size",
			`{"workspaceId":"` + tm.ws.ID + `","name":"x","size":3,"contentType":"not a type"}`: "contentType",
			`{"name":"x","size":3}`: "workspaceId",
		} {
			if r := s.do("POST", "/api/v1/files/presign", tm.ann.Access, body); r.Status != 400 || !strings.Contains(r.Body, field) {
				t.Errorf("%s: %s", body, r)
			}
		}
		s.must(404, "POST", "/api/v1/files/no-such-upload/complete", tm.ann.Access, nil)
		// Leaving the channel before completing ends the upload.
		var random channel.Channel
		s.must(201, "POST", "/api/v1/workspaces/"+tm.ws.ID+"/channels", tm.ann.Access, map[string]string{"name": "random", "type": "public"}).JSON(t, &random)
		s.must(200, "POST", "/api/v1/channels/"+random.ID+"/join", tm.bob.Access, nil)
		d = presign(t, s, tm.bob, map[string]any{"channelId": random.ID, "name": "b.txt", "size": 2})
		directPut(t, d, []byte("hi"))
		s.must(204, "POST", "/api/v1/channels/"+random.ID+"/leave", tm.bob.Access, nil)
		s.must(403, "POST", "/api/v1/files/"+d.ID+"/complete", tm.bob.Access, nil)
		if _, err := s.bucket(t).Stat(t.Context(), strings.ToLower(d.ID)); !errors.Is(err, file.ErrNoObject) {
			t.Fatalf("the bytes of an upload refused at completion are still in the bucket: %v", err)
		}

		// Uploads never completed are swept, bytes and all.
		d = presign(t, s, tm.ann, map[string]any{"workspaceId": tm.ws.ID, "name": "left.txt", "size": 4})
		directPut(t, d, []byte("left"))
		svc := newFiles(s.run.app.deps)
		if n, err := svc.SweepDirectUploads(t.Context()); err != nil || n != 0 {
			t.Fatalf("sweep before expiry: %d, %v", n, err)
		}
		s.clock.Add(2 * time.Hour)
		if n, err := svc.SweepDirectUploads(t.Context()); err != nil || n != 1 {
			t.Fatalf("sweep after expiry: %d, %v", n, err)
		}
		if _, err := s.bucket(t).Stat(t.Context(), strings.ToLower(d.ID)); !errors.Is(err, file.ErrNoObject) {
			t.Fatalf("a swept upload's bytes are still in the bucket: %v", err)
		}
	})
}

// On local disk there is nothing to sign: presign says so and what to use.
func TestPresignNeedsS3(t *testing.T) {
	s := startAPI(t, "sqlite", nil)
	tm := newTeam(t, s, "acme-local")
	r := s.do("POST", "/api/v1/files/presign", tm.ann.Access, map[string]any{"workspaceId": tm.ws.ID, "name": "x.txt", "size": 3})
	if r.Status != 400 || r.Code() != file.CodeDirectUploadUnavailable || !strings.Contains(r.Body, "S3") {
		t.Fatalf("presign on local storage: %s", r)
	}
	s.must(404, "POST", "/api/v1/files/nope/complete", tm.ann.Access, nil)
}

// /health reports the store: ok on either driver, down when S3 is.
func TestS3StorageInHealth(t *testing.T) {
	storage := func(base string) (int, string) {
		code, body := httpGet(t, base+"/health")
		var rep struct{ Dependencies map[string]string }
		_ = json.Unmarshal([]byte(body), &rep)
		return code, rep.Dependencies["storage"]
	}
	if code, st := storage(startAPI(t, "sqlite", nil).base); code != 200 || st != "ok" {
		t.Fatalf("local storage in /health: %d %q", code, st)
	}
	srv := s3test.Start(t)
	s := startAPI(t, "sqlite", onS3(srv, nil))
	if code, st := storage(s.base); code != 200 || st != "ok" {
		t.Fatalf("S3 storage in /health: %d %q", code, st)
	}
	srv.Stop()
	if code, st := storage(s.base); code != 503 || st != "down" {
		t.Fatalf("/health with S3 stopped: %d %q", code, st)
	}
}

// A QuikApp whose S3 cannot be reached does not start, and says where it
// looked.
func TestS3UnreachableStopsStart(t *testing.T) {
	cfg := testConfig(t)
	cfg.S3 = file.S3Config{Endpoint: "127.0.0.1:1", Bucket: "quikapp", AccessKey: "k", SecretKey: "s", Region: "us-east-1"}
	a, err := New(cfg, testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(t.Context()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Fatalf("start with S3 unreachable: %v", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("start with S3 unreachable neither failed nor finished")
	}
}

func TestS3Config(t *testing.T) {
	cfg, err := LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_S3_ENDPOINT": "127.0.0.1:9000", "QUIKAPP_S3_ACCESS_KEY": "quikapp", "QUIKAPP_S3_SECRET_KEY": "hunter2-s3", "QUIKAPP_S3_TLS": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := file.S3Config{Endpoint: "127.0.0.1:9000", Bucket: "quikapp", AccessKey: "quikapp", SecretKey: "hunter2-s3", Region: "us-east-1"}
	if cfg.S3 != want {
		t.Fatalf("S3 config: %v", cfg.S3)
	}
	for _, shown := range []string{fmt.Sprint(cfg.S3), fmt.Sprintf("%+v", cfg.S3), fmt.Sprintf("%#v", cfg.S3)} {
		if strings.Contains(shown, "hunter2-s3") {
			t.Errorf("the S3 secret is printed: %s", shown)
		}
	}
	for _, e := range configEntries(cfg) {
		if e.Name == "QUIKAPP_S3_SECRET_KEY" && e.Value != "(set, hidden)" {
			t.Errorf("admin configuration shows the S3 secret as %q", e.Value)
		}
	}
	if cfg, err := LoadConfig(env.FromMap(nil)); err != nil || cfg.S3.Endpoint != "" {
		t.Fatalf("default is local disk: %v %v", cfg.S3, err)
	}

	_, err = LoadConfig(env.FromMap(map[string]string{
		"QUIKAPP_S3_ENDPOINT": "https://s3.example.com", "QUIKAPP_S3_BUCKET": "Bad_Bucket", "QUIKAPP_S3_SECRET_KEY": "hunter2-s3",
		"QUIKAPP_S3_REGION": "US East", "QUIKAPP_S3_TLS": "maybe",
	}))
	if err == nil {
		t.Fatal("bad S3 configuration accepted")
	}
	for _, want := range []string{"QUIKAPP_S3_ENDPOINT", "without a scheme", "QUIKAPP_S3_BUCKET", "QUIKAPP_S3_ACCESS_KEY", "QUIKAPP_S3_REGION", "QUIKAPP_S3_TLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error echoes the secret:\n%v", err)
	}
	for env0, want := range map[string]string{"127.0.0.1:99999": "port", "bucket.example.com/path": "host:port"} {
		_, err := LoadConfig(env.FromMap(map[string]string{"QUIKAPP_S3_ENDPOINT": env0, "QUIKAPP_S3_ACCESS_KEY": "k", "QUIKAPP_S3_SECRET_KEY": "s"}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("endpoint %q: %v", env0, err)
		}
	}
	// Credentials without an endpoint would be silently unused.
	_, err = LoadConfig(env.FromMap(map[string]string{"QUIKAPP_S3_BUCKET": "files", "QUIKAPP_S3_SECRET_KEY": "x"}))
	if err == nil || !strings.Contains(err.Error(), "QUIKAPP_S3_BUCKET") || !strings.Contains(err.Error(), "QUIKAPP_S3_SECRET_KEY") {
		t.Fatalf("S3 settings without an endpoint: %v", err)
	}
}

// Two nodes behind a load balancer share the database and the bucket but
// not their disks: a resumable upload's chunks may reach either, and either
// may complete it.
func TestS3ResumableUploadAcrossNodes(t *testing.T) {
	srv := s3test.Start(t)
	bucket := s3test.Bucket()
	key, err := token.GenerateEd25519()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := token.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.NewPostgresSchema(t)
	shared := func(c *Config) {
		c.DatabaseURL, c.S3, c.Identity.JWTPrivateKey = db, srv.Config(bucket), pemKey
	}
	a := startAPI(t, "postgres", shared)
	b := startAPI(t, "postgres", shared)
	tm := newTeam(t, a, "acme-nodes")

	data := bytes.Repeat([]byte("two nodes, one file. "), 1000)
	var u file.Upload
	a.must(201, "POST", "/api/v1/uploads", tm.ann.Access, map[string]any{"channelId": tm.general.ID, "name": "shared.txt", "size": len(data)}).JSON(t, &u)
	third := len(data) / 3
	a.must(200, "PUT", "/api/v1/uploads/"+u.ID+"?offset=0", tm.ann.Access, data[:third])
	b.must(200, "PUT", "/api/v1/uploads/"+u.ID+"?offset="+strconv.Itoa(third), tm.ann.Access, data[third:2*third])
	a.must(200, "PUT", "/api/v1/uploads/"+u.ID+"?offset="+strconv.Itoa(2*third), tm.ann.Access, data[2*third:])
	var f file.File
	b.must(201, "POST", "/api/v1/uploads/"+u.ID+"/complete", tm.ann.Access, nil).JSON(t, &f)
	if got := a.must(200, "GET", "/api/v1/files/"+f.ID+"/content", tm.bob.Access, nil); got.Body != string(data) {
		t.Fatalf("the file put together from both nodes' chunks differs: %d bytes, want %d", len(got.Body), len(data))
	}
	if keys := srv.Objects(t, bucket); len(keys) != 1 || keys[0] != strings.ToLower(f.ID) {
		t.Fatalf("bucket after completion: %q, want only the file", keys)
	}
}
