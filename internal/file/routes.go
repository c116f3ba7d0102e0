package file

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Mount registers the file routes.
func (s *Service) Mount(rt *gateway.Router) {
	rt.Authed("POST /api/v1/files", httpapi.Handle(s.Log, s.upload),
		gateway.Summary("Upload a file: multipart field file; workspaceId or channelId (to share it there) as query or earlier form fields"),
		gateway.Response(201, File{}))
	rt.Authed("GET /api/v1/files/{id}", httpapi.Handle(s.Log, s.meta), gateway.Summary("A file's metadata"), gateway.Response(200, File{}))
	rt.Authed("GET /api/v1/files/{id}/content", http.HandlerFunc(s.content), gateway.TokenInQuery(), gateway.Summary("A file's bytes"))
	rt.Authed("GET /api/v1/files/{id}/thumbnail", http.HandlerFunc(s.thumb), gateway.TokenInQuery(),
		gateway.Summary("A JPEG thumbnail of an image: ?size=small|medium|large (404 until it is made)"))
	rt.Authed("POST /api/v1/uploads", httpapi.Handle(s.Log, s.startUpload),
		gateway.Summary("Begin a resumable upload"), gateway.Request(StartUploadRequest{}), gateway.Response(201, Upload{}))
	rt.Authed("GET /api/v1/uploads/{id}", httpapi.Handle(s.Log, s.getUpload),
		gateway.Summary("How much of a resumable upload arrived"), gateway.Response(200, Upload{}))
	rt.Authed("PUT /api/v1/uploads/{id}", httpapi.Handle(s.Log, s.putChunk),
		gateway.Summary("Send a chunk (raw bytes, at most 8 MiB) at ?offset="), gateway.Response(200, Upload{}))
	rt.Authed("POST /api/v1/uploads/{id}/complete", httpapi.Handle(s.Log, s.completeUpload),
		gateway.Summary("Finish a resumable upload: it becomes a file"), gateway.Response(201, File{}))
	rt.Authed("POST /api/v1/files/presign", httpapi.Handle(s.Log, s.presign),
		gateway.Summary("Begin a direct upload (S3 storage only, else 400 DIRECT_UPLOAD_UNAVAILABLE): send exactly size bytes to uploadUrl with method and headers, then complete it"),
		gateway.Request(PresignRequest{}), gateway.Response(201, DirectUpload{}))
	rt.Authed("POST /api/v1/files/{id}/complete", httpapi.Handle(s.Log, s.completeDirect),
		gateway.Summary("Finish a direct upload: the uploaded bytes become a file (409 until they are uploaded)"), gateway.Response(201, File{}))
	rt.Authed("DELETE /api/v1/files/{id}", httpapi.Handle(s.Log, s.remove), gateway.Summary("Delete a file (uploader or admin)"), gateway.Response(204, nil))
}

func actor(r *http.Request) access.Actor {
	a, _ := access.ActorFrom(r.Context())
	return a
}

func (s *Service) upload(r *http.Request) (int, any, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return 0, nil, &httpapi.Error{Status: http.StatusUnsupportedMediaType, Code: httpapi.CodeUnsupportedMedia,
			Message: "send the file as multipart/form-data in the field file"}
	}
	if r.ContentLength > s.Limits.MaxFile+1<<20 {
		return 0, nil, errTooLarge(s.Limits.MaxFile)
	}
	q := r.URL.Query()
	workspaceID, channelID := q.Get("workspaceId"), q.Get("channelId")
	mr, err := r.MultipartReader()
	if err != nil {
		return 0, nil, httpapi.Invalid("the multipart body could not be read")
	}
	a := actor(r)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return 0, nil, httpapi.InvalidField("file", "is missing: send the file in the multipart field file")
		}
		if err != nil {
			return 0, nil, httpapi.Invalid("the multipart body could not be read")
		}
		switch part.FormName() {
		case "workspaceId", "channelId":
			v, _ := io.ReadAll(io.LimitReader(part, 100))
			if part.FormName() == "workspaceId" {
				workspaceID = string(v)
			} else {
				channelID = string(v)
			}
			continue
		case "file":
		default:
			continue
		}
		ws, err := s.uploadTarget(r.Context(), a, workspaceID, channelID)
		if err != nil {
			return 0, nil, err
		}
		f, err := s.Upload(r.Context(), a, ws, part.FileName(), part)
		if err != nil {
			return 0, nil, err
		}
		if channelID != "" {
			if err := s.shareNew(r.Context(), s.DB, f.ID, channelID); err != nil {
				return 0, nil, err
			}
		}
		return http.StatusCreated, f, nil
	}
}

func (s *Service) meta(r *http.Request) (int, any, error) {
	f, _, err := s.Get(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, f, err
}

func (s *Service) remove(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, s.Delete(r.Context(), actor(r), r.PathValue("id"))
}

// inline types are shown in the page; everything else is downloaded.
var inline = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// content serves the bytes so that nothing uploaded can run on our
// origin: the sniffed type (markup as plain bytes), nosniff, a sandboxing
// CSP, and a download disposition for anything but images.
func (s *Service) content(w http.ResponseWriter, r *http.Request) {
	f, key, err := s.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		httpapi.Fail(w, r, s.Log, err)
		return
	}
	body, err := s.Content(r.Context(), key)
	if err != nil {
		httpapi.Fail(w, r, s.Log, err)
		return
	}
	defer body.Close()
	ctype := f.ContentType
	if strings.Contains(ctype, "html") || strings.Contains(ctype, "xml") || strings.Contains(ctype, "javascript") {
		ctype = "application/octet-stream"
	}
	disposition := "attachment"
	if inline[ctype] {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", disposition+"; filename*=UTF-8''"+url.PathEscape(f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	_, _ = io.Copy(w, body)
}

func (s *Service) thumb(w http.ResponseWriter, r *http.Request) {
	size := r.URL.Query().Get("size")
	if size == "" {
		size = "medium"
	}
	if _, ok := ThumbSizes[size]; !ok {
		httpapi.Fail(w, r, s.Log, httpapi.InvalidField("size", "must be small, medium or large"))
		return
	}
	f, key, err := s.Get(r.Context(), actor(r), r.PathValue("id"))
	if err != nil {
		httpapi.Fail(w, r, s.Log, err)
		return
	}
	if f.Thumbnails != "done" {
		httpapi.Fail(w, r, s.Log, httpapi.NotFound("thumbnail"))
		return
	}
	body, err := s.Content(r.Context(), key+"-"+size)
	if err != nil {
		httpapi.Fail(w, r, s.Log, httpapi.NotFound("thumbnail"))
		return
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	_, _ = io.Copy(w, body)
}

// StartUploadRequest declares a resumable upload.
type StartUploadRequest struct {
	WorkspaceID string `json:"workspaceId"`
	ChannelID   string `json:"channelId"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
}

func (s *Service) startUpload(r *http.Request) (int, any, error) {
	var in StartUploadRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	u, err := s.StartUpload(r.Context(), actor(r), in.WorkspaceID, in.ChannelID, in.Name, in.Size)
	return http.StatusCreated, u, err
}

func (s *Service) getUpload(r *http.Request) (int, any, error) {
	u, err := s.GetUpload(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusOK, u, err
}

func (s *Service) putChunk(r *http.Request) (int, any, error) {
	if _, err := s.GetUpload(r.Context(), actor(r), r.PathValue("id")); err != nil {
		return 0, nil, err // someone else's or unknown: not found, before anything else
	}
	off, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || off < 0 {
		return 0, nil, httpapi.InvalidField("offset", "must be the byte position the chunk starts at")
	}
	if r.ContentLength > MaxChunk {
		return 0, nil, &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: httpapi.CodePayloadTooLarge, Message: "a chunk may be at most 8 MiB"}
	}
	u, err := s.AppendChunk(r.Context(), actor(r), r.PathValue("id"), off, r.Body)
	return http.StatusOK, u, err
}

func (s *Service) completeUpload(r *http.Request) (int, any, error) {
	f, err := s.CompleteUpload(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusCreated, f, err
}

func (s *Service) presign(r *http.Request) (int, any, error) {
	var in PresignRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	u, err := s.Presign(r.Context(), actor(r), in)
	return http.StatusCreated, u, err
}

func (s *Service) completeDirect(r *http.Request) (int, any, error) {
	f, err := s.CompleteDirect(r.Context(), actor(r), r.PathValue("id"))
	return http.StatusCreated, f, err
}
