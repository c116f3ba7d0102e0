package auth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// mountMe registers the signed-in user's own settings, status, blocks,
// devices and avatar.
func (h *Routes) mountMe(rt *gateway.Router) {
	r := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Authed(pattern, httpapi.Handle(h.Log, fn), append(opts, gateway.Summary(summary))...)
	}
	r("GET /api/v1/users/me/settings", "Preferences", h.getSettings, gateway.Response(200, Settings{}))
	r("PUT /api/v1/users/me/settings", "Replace preferences", h.putSettings, gateway.Request(Settings{}), gateway.Response(200, Settings{}))
	r("PUT /api/v1/users/me/status", "Set the custom status", h.putStatus, gateway.Request(CustomStatus{}), gateway.Response(200, User{}))
	r("DELETE /api/v1/users/me/status", "Clear the custom status", h.deleteStatus, gateway.Response(200, User{}))
	r("GET /api/v1/users/me/blocks", "Blocked users", h.blocks, gateway.Response(200, httpapi.List[BlockedUser]{}))
	r("POST /api/v1/users/me/blocks", "Block a user", h.block, gateway.Request(BlockedUser{}), gateway.Response(204, nil))
	r("DELETE /api/v1/users/me/blocks/{userId}", "Unblock a user", h.unblock, gateway.Response(204, nil))
	r("GET /api/v1/users/me/devices", "Push devices", h.devices, gateway.Response(200, httpapi.List[Device]{}))
	r("POST /api/v1/users/me/devices", "Register a push device (at most 10 kept)", h.registerDevice,
		gateway.Request(DeviceRequest{}), gateway.Response(201, Device{}))
	r("DELETE /api/v1/users/me/devices/{id}", "Forget a push device", h.removeDevice, gateway.Response(204, nil))
	r("PUT /api/v1/users/me/avatar", "Upload an avatar (PNG, JPEG or GIF, raw body or multipart field avatar)", h.putAvatar, gateway.Response(204, nil))
	r("DELETE /api/v1/users/me/avatar", "Remove the avatar", h.deleteAvatar, gateway.Response(204, nil))
	rt.Authed("GET /api/v1/users/{id}/avatar", http.HandlerFunc(h.getAvatar), gateway.Summary("A user's avatar image"))
}

func me(r *http.Request) access.Actor {
	a, _ := access.ActorFrom(r.Context())
	return a
}

func (h *Routes) getSettings(r *http.Request) (int, any, error) {
	st, err := h.Svc.Settings(r.Context(), me(r).UserID)
	return http.StatusOK, st, err
}

func (h *Routes) putSettings(r *http.Request) (int, any, error) {
	in := DefaultSettings // fields left out keep their defaults
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	st, err := h.Svc.SaveSettings(r.Context(), me(r).UserID, in)
	return http.StatusOK, st, err
}

func (h *Routes) putStatus(r *http.Request) (int, any, error) {
	var in CustomStatus
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	u, err := h.Svc.SetStatus(r.Context(), me(r).UserID, in)
	return http.StatusOK, u, err
}

func (h *Routes) deleteStatus(r *http.Request) (int, any, error) {
	u, err := h.Svc.SetStatus(r.Context(), me(r).UserID, CustomStatus{})
	return http.StatusOK, u, err
}

// BlockedUser names a blocked account.
type BlockedUser struct {
	UserID string `json:"userId"`
}

func (h *Routes) blocks(r *http.Request) (int, any, error) {
	ids, err := h.Svc.Blocks(r.Context(), me(r).UserID)
	out := make([]BlockedUser, len(ids))
	for i, id := range ids {
		out[i] = BlockedUser{UserID: id}
	}
	return http.StatusOK, httpapi.List[BlockedUser]{Items: out}, err
}

func (h *Routes) block(r *http.Request) (int, any, error) {
	var in BlockedUser
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	if in.UserID == "" {
		return 0, nil, httpapi.InvalidField("userId", "is required")
	}
	return http.StatusNoContent, nil, h.Svc.Block(r.Context(), me(r).UserID, in.UserID)
}

func (h *Routes) unblock(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.Unblock(r.Context(), me(r).UserID, r.PathValue("userId"))
}

// DeviceRequest registers a push device.
type DeviceRequest struct {
	Platform string `json:"platform"`
	Token    string `json:"token"`
	Name     string `json:"name"`
}

func (h *Routes) devices(r *http.Request) (int, any, error) {
	l, err := h.Svc.Devices(r.Context(), me(r).UserID)
	return http.StatusOK, httpapi.List[Device]{Items: l}, err
}

func (h *Routes) registerDevice(r *http.Request) (int, any, error) {
	var in DeviceRequest
	if err := httpapi.Decode(r, &in, 16<<10); err != nil {
		return 0, nil, err
	}
	d, err := h.Svc.RegisterDevice(r.Context(), me(r).UserID, in.Platform, in.Token, in.Name)
	return http.StatusCreated, d, err
}

func (h *Routes) removeDevice(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.RemoveDevice(r.Context(), me(r).UserID, r.PathValue("id"))
}

var errAvatarTooLarge = &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: httpapi.CodePayloadTooLarge,
	Message: "an avatar may be at most " + strconv.Itoa(MaxAvatarBytes>>20) + " MiB"}

func (h *Routes) putAvatar(r *http.Request) (int, any, error) {
	if r.ContentLength > MaxAvatarBytes+64<<10 {
		return 0, nil, errAvatarTooLarge
	}
	body := http.MaxBytesReader(nil, r.Body, MaxAvatarBytes+64<<10)
	var data []byte
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if params["boundary"] == "" {
			return 0, nil, httpapi.Invalid("multipart body without a boundary")
		}
		r.Body = body
		if err := r.ParseMultipartForm(MaxAvatarBytes); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return 0, nil, errAvatarTooLarge
			}
			return 0, nil, httpapi.Invalid("the multipart body could not be read")
		}
		defer r.MultipartForm.RemoveAll()
		f, _, err := r.FormFile("avatar")
		if err != nil {
			return 0, nil, httpapi.InvalidField("avatar", "send the image in the multipart field avatar")
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, MaxAvatarBytes+1)); err != nil {
			return 0, nil, httpapi.Invalid("the upload could not be read")
		}
	} else {
		var err error
		if data, err = io.ReadAll(body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return 0, nil, errAvatarTooLarge
			}
			return 0, nil, httpapi.Invalid("the upload could not be read")
		}
	}
	if len(data) > MaxAvatarBytes {
		return 0, nil, errAvatarTooLarge
	}
	if len(data) == 0 {
		return 0, nil, httpapi.InvalidField("avatar", "is empty")
	}
	return http.StatusNoContent, nil, h.Svc.SetAvatar(r.Context(), me(r).UserID, data)
}

func (h *Routes) deleteAvatar(r *http.Request) (int, any, error) {
	return http.StatusNoContent, nil, h.Svc.DeleteAvatar(r.Context(), me(r).UserID)
}

func (h *Routes) getAvatar(w http.ResponseWriter, r *http.Request) {
	a := me(r)
	id := r.PathValue("id")
	if id == "me" {
		id = a.UserID
	}
	if err := h.Access.Can(r.Context(), a, access.UserRead, access.Resource{Kind: "user", ID: id, OwnerID: id}); err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	ctype, data, updated, err := h.Svc.Avatar(r.Context(), id)
	if err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	// User content: never sniffed into something else, never scripted.
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Last-Modified", updated.Format(http.TimeFormat))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !updated.Truncate(time.Second).After(t) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(data)
}
