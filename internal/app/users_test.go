package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/auth"
)

func TestSettings(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		var st auth.Settings
		s.must(200, "GET", "/api/v1/users/me/settings", ann.Access, nil).JSON(t, &st)
		if !reflect.DeepEqual(st, auth.DefaultSettings) {
			t.Fatalf("defaults: %+v", st)
		}
		s.must(200, "PUT", "/api/v1/users/me/settings", ann.Access, `{"theme":"dark","notifications":{"desktop":"mentions","mobile":"none","email":"none","emailDigest":"weekly","quietFrom":"22:00","quietTo":"07:30"}}`)
		s.must(200, "GET", "/api/v1/users/me/settings", ann.Access, nil).JSON(t, &st)
		if st.Theme != "dark" || st.Notifications.Mobile != "none" || st.Notifications.QuietTo != "07:30" || !st.Privacy.ShowPresence {
			t.Fatalf("saved: %+v", st)
		}
		for body, field := range map[string]string{
			`{"theme":"neon"}`: "theme",
			`{"notifications":{"desktop":"sometimes","mobile":"all","email":"all","emailDigest":"daily"}}`:               "notifications.desktop",
			`{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily","quietFrom":"25:00"}}`: "notifications.quietFrom",
			`{"notifications":{"desktop":"all","mobile":"all","email":"all","emailDigest":"daily","quietFrom":"22:00"}}`: "notifications.quietTo",
			`{"privacy":{"showPresence":"yes"}}`: "privacy.showPresence",
			`{"colour":"red"}`:                   "colour",
		} {
			r := s.do("PUT", "/api/v1/users/me/settings", ann.Access, body)
			if r.Status != 400 || !strings.Contains(r.Body, field) {
				t.Errorf("%s: %s", body, r)
			}
		}
	})
}

func TestCustomStatus(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann := s.signUp("Ann")
		until := s.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		var u auth.User
		s.must(200, "PUT", "/api/v1/users/me/status", ann.Access, `{"emoji":":palm_tree:","text":"On holiday","clearAfter":"`+until+`"}`).JSON(t, &u)
		if u.Status == nil || u.Status.Text != "On holiday" || u.Status.ClearAfter == nil {
			t.Fatalf("status: %+v", u.Status)
		}
		for _, bad := range []string{`{"emoji":"<b>x</b>","text":""}`, `{"emoji":"","text":"` + strings.Repeat("x", 101) + `"}`,
			`{"emoji":"🌴","text":"past","clearAfter":"2000-01-01T00:00:00Z"}`, `{"emoji":"🌴","text":"bad","clearAfter":"tomorrow"}`} {
			if r := s.do("PUT", "/api/v1/users/me/status", ann.Access, bad); r.Status != 400 {
				t.Errorf("%s: %s", bad, r)
			}
		}
		s.must(200, "PUT", "/api/v1/users/me/status", ann.Access, `{"emoji":"🌴","text":"Away"}`)
		s.clock.Add(2 * time.Hour)
		s.login(&ann) // the access token expired meanwhile
		var after auth.User
		s.must(200, "GET", "/api/v1/users/me", ann.Access, nil).JSON(t, &after)
		if after.Status == nil || after.Status.Emoji != "🌴" {
			t.Fatalf("status without clearAfter expired: %+v", after.Status)
		}
		s.must(200, "PUT", "/api/v1/users/me/status", ann.Access, `{"emoji":"🌴","text":"Lunch","clearAfter":"`+s.clock.Now().Add(time.Minute).UTC().Format(time.RFC3339)+`"}`)
		s.clock.Add(2 * time.Minute)
		var cleared auth.User
		s.must(200, "GET", "/api/v1/users/me", ann.Access, nil).JSON(t, &cleared)
		if cleared.Status != nil {
			t.Fatalf("status past clearAfter still shown: %+v", cleared.Status)
		}
		s.must(200, "DELETE", "/api/v1/users/me/status", ann.Access, nil)
	})
}

func TestBlocksAndDevices(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann, bob := s.signUp("Ann"), s.signUp("Bob")
		s.must(400, "POST", "/api/v1/users/me/blocks", ann.Access, map[string]string{"userId": ann.ID})
		s.must(404, "POST", "/api/v1/users/me/blocks", ann.Access, map[string]string{"userId": "nobody"})
		s.must(204, "POST", "/api/v1/users/me/blocks", ann.Access, map[string]string{"userId": bob.ID})
		s.must(204, "POST", "/api/v1/users/me/blocks", ann.Access, map[string]string{"userId": bob.ID}) // idempotent
		var blocks struct{ Items []auth.BlockedUser }
		s.must(200, "GET", "/api/v1/users/me/blocks", ann.Access, nil).JSON(t, &blocks)
		if len(blocks.Items) != 1 || blocks.Items[0].UserID != bob.ID {
			t.Fatalf("blocks: %+v", blocks)
		}
		s.must(204, "DELETE", "/api/v1/users/me/blocks/"+bob.ID, ann.Access, nil)
		s.must(404, "DELETE", "/api/v1/users/me/blocks/"+bob.ID, ann.Access, nil)

		var first auth.Device
		for i := range auth.MaxDevices + 2 {
			var d auth.Device
			s.must(201, "POST", "/api/v1/users/me/devices", ann.Access, map[string]string{"platform": "ios", "token": fmt.Sprintf("tok-%d", i), "name": "iPhone"}).JSON(t, &d)
			if i == 0 {
				first = d
			}
			s.clock.Add(time.Second)
		}
		var again auth.Device
		s.must(201, "POST", "/api/v1/users/me/devices", ann.Access, map[string]string{"platform": "ios", "token": "tok-11", "name": "renamed"}).JSON(t, &again)
		var list struct{ Items []auth.Device }
		s.must(200, "GET", "/api/v1/users/me/devices", ann.Access, nil).JSON(t, &list)
		if len(list.Items) != auth.MaxDevices || list.Items[0].ID != again.ID || list.Items[0].Name != "renamed" {
			t.Fatalf("devices: %d, newest %+v", len(list.Items), list.Items[0])
		}
		for _, d := range list.Items {
			if d.ID == first.ID {
				t.Fatal("the least recently seen device was kept beyond the limit")
			}
		}
		s.must(404, "DELETE", "/api/v1/users/me/devices/"+list.Items[0].ID, bob.Access, nil)
		s.must(204, "DELETE", "/api/v1/users/me/devices/"+list.Items[0].ID, ann.Access, nil)
		s.must(400, "POST", "/api/v1/users/me/devices", ann.Access, map[string]string{"platform": "blackberry", "token": "x"})
		s.must(400, "POST", "/api/v1/users/me/devices", ann.Access, map[string]string{"platform": "web", "token": ""})
	})
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNGHeader is a PNG signature and IHDR claiming 100000×100000
// pixels: a decompression bomb's first bytes.
func hugePNGHeader() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 6
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func (s *api) upload(path, token, ctype string, body []byte) resp {
	s.t.Helper()
	req, _ := http.NewRequest("PUT", s.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ctype)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func TestAvatar(t *testing.T) {
	eachAPI(t, nil, func(t *testing.T, s *api) {
		ann, bob, eve := s.signUp("Ann"), s.signUp("Bob"), s.signUp("Eve")
		pic := pngBytes(t, 64, 48)
		if r := s.upload("/api/v1/users/me/avatar", ann.Access, "image/png", pic); r.Status != 204 {
			t.Fatalf("upload: %s", r)
		}
		r := s.must(200, "GET", "/api/v1/users/me/avatar", ann.Access, nil)
		if r.Body != string(pic) || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("download: %d bytes, %v", len(r.Body), r.Header)
		}
		// Only people sharing a workspace see it.
		s.must(404, "GET", "/api/v1/users/"+ann.ID+"/avatar", eve.Access, nil)
		var ws struct{ ID string }
		s.must(201, "POST", "/api/v1/workspaces", ann.Access, map[string]string{"name": "Acme", "slug": "acme-avatars"}).JSON(t, &ws)
		joinWorkspace(t, s, ann, bob, ws.ID, "member")
		s.must(200, "GET", "/api/v1/users/"+ann.ID+"/avatar", bob.Access, nil)

		// The bytes decide the type, not the name or the header.
		html := []byte("<!doctype html><script>alert(1)</script>")
		if r := s.upload("/api/v1/users/me/avatar", ann.Access, "image/png", html); r.Status != 415 || r.Code() != "UNSUPPORTED_MEDIA_TYPE" {
			t.Fatalf("HTML as PNG: %s", r)
		}
		if r := s.upload("/api/v1/users/me/avatar", ann.Access, "image/png", hugePNGHeader()); r.Status != 400 {
			t.Fatalf("100000×100000 PNG: %s", r)
		}
		if r := s.upload("/api/v1/users/me/avatar", ann.Access, "image/png", append(pic, make([]byte, auth.MaxAvatarBytes)...)); r.Status != 413 || r.Code() != "PAYLOAD_TOO_LARGE" {
			t.Fatalf("oversized: %s", r)
		}
		if r := s.upload("/api/v1/users/me/avatar", ann.Access, "image/png", nil); r.Status != 400 {
			t.Fatalf("empty: %s", r)
		}
		// Multipart, as browsers send it.
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		fw, _ := mw.CreateFormFile("avatar", "../../etc/passwd.png")
		small := pngBytes(t, 8, 8)
		fw.Write(small)
		mw.Close()
		if r := s.upload("/api/v1/users/me/avatar", bob.Access, mw.FormDataContentType(), mp.Bytes()); r.Status != 204 {
			t.Fatalf("multipart: %s", r)
		}
		if r := s.must(200, "GET", "/api/v1/users/"+bob.ID+"/avatar", ann.Access, nil); r.Body != string(small) {
			t.Fatal("multipart avatar differs")
		}
		s.must(204, "DELETE", "/api/v1/users/me/avatar", ann.Access, nil)
		s.must(404, "GET", "/api/v1/users/me/avatar", ann.Access, nil)
	})
}
