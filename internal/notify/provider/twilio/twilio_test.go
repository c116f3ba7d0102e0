package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/twilio"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "auth-token-secret"
)

// fakeTwilio checks requests the way Twilio does: Basic auth with the
// account SID, the account in the path, a form body with To, Body and
// exactly one of From and MessagingServiceSid.
type fakeTwilio struct {
	mu     sync.Mutex
	forms  []url.Values
	status int    // reply status; 0 = 201
	reply  string // reply body
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fail := func(status, code int, msg string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != sid || pass != token {
		fail(401, 20003, "Authenticate")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
		fail(404, 20404, "The requested resource was not found")
		return
	}
	if r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		fail(400, 0, "bad headers")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(400, 0, "bad form")
		return
	}
	if r.PostForm.Get("To") == "" || r.PostForm.Get("Body") == "" || (r.PostForm.Get("From") == "") == (r.PostForm.Get("MessagingServiceSid") == "") {
		fail(400, 21604, "A 'To' phone number and one of 'From' or 'MessagingServiceSid' are required.")
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	status, reply := f.status, f.reply
	f.mu.Unlock()
	if status == 0 {
		status, reply = 201, `{"sid":"SM0123","status":"queued"}`
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reply))
}

func newSender(t *testing.T, f *fakeTwilio, mod func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := twilio.Config{AccountSID: sid, AuthToken: token, From: "+15555550000", Channel: notify.ChannelSMS, BaseURL: srv.URL}
	if mod != nil {
		mod(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendSMS(t *testing.T) {
	f := &fakeTwilio{}
	s := newSender(t, f, nil)
	res, err := s.Send(context.Background(), notify.Message{Destination: "+447700900123", Title: "T", Body: "Your code is 123456"})
	if err != nil || res.ReceiptID != "SM0123" {
		t.Fatalf("send: %+v %v", res, err)
	}
	got := f.forms[0]
	if got.Get("To") != "+447700900123" || got.Get("From") != "+15555550000" || got.Get("Body") != "Your code is 123456" || got.Has("MessagingServiceSid") {
		t.Fatalf("form %v", got)
	}
	// A blank body sends the title.
	if _, err := s.Send(context.Background(), notify.Message{Destination: "+447700900123", Title: "Only a title", Body: "  "}); err != nil {
		t.Fatal(err)
	}
	if f.forms[1].Get("Body") != "Only a title" {
		t.Fatalf("body %q", f.forms[1].Get("Body"))
	}
}

func TestSendWhatsApp(t *testing.T) {
	f := &fakeTwilio{}
	s := newSender(t, f, func(c *twilio.Config) { c.Channel = notify.ChannelWhatsApp })
	for _, dest := range []string{"+447700900123", "whatsapp:+447700900123"} {
		if _, err := s.Send(context.Background(), notify.Message{Destination: dest, Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, got := range f.forms {
		if got.Get("To") != "whatsapp:+447700900123" || got.Get("From") != "whatsapp:+15555550000" {
			t.Fatalf("form %v", got)
		}
	}
	// A messaging service gets no prefix and replaces From.
	ms := newSender(t, f, func(c *twilio.Config) { c.Channel = notify.ChannelWhatsApp; c.MessagingServiceSID = "MG0001" })
	if _, err := ms.Send(context.Background(), notify.Message{Destination: "+447700900123", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := f.forms[2]; got.Get("MessagingServiceSid") != "MG0001" || got.Has("From") || got.Get("To") != "whatsapp:+447700900123" {
		t.Fatalf("form %v", got)
	}
}

func TestSendErrors(t *testing.T) {
	f := &fakeTwilio{}
	s := newSender(t, f, nil)
	for _, bad := range []string{"", "447700900123", "+12345", "+1234567890123456", "+44 7700 900123", "whatsapp:+447700900123"} {
		if _, err := s.Send(context.Background(), notify.Message{Destination: bad, Body: "x"}); !errors.Is(err, notify.ErrInvalidDestination) {
			t.Errorf("destination %q: %v", bad, err)
		}
	}
	if len(f.forms) != 0 {
		t.Fatal("an invalid destination reached Twilio")
	}
	for _, c := range []struct {
		status int
		reply  string
		want   error
	}{
		{400, `{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}`, notify.ErrRejected},
		{429, `{"code":20429,"message":"Too Many Requests","status":429}`, notify.ErrTemporary},
		{503, `{"code":20500,"message":"Service unavailable","status":503}`, notify.ErrTemporary},
		{201, `{"sid":"SM9","status":"failed","error_code":30008,"error_message":"Unknown error"}`, notify.ErrRejected},
		{201, `not json`, notify.ErrTemporary},
	} {
		f.status, f.reply = c.status, c.reply
		_, err := s.Send(context.Background(), notify.Message{Destination: "+447700900123", Body: "x"})
		if !errors.Is(err, c.want) {
			t.Errorf("reply %d %s: %v, want %v", c.status, c.reply, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("error leaks the auth token: %v", err)
		}
	}
	wrong := newSender(t, &fakeTwilio{}, func(c *twilio.Config) { c.AuthToken = "wrong" })
	if _, err := wrong.Send(context.Background(), notify.Message{Destination: "+447700900123", Body: "x"}); !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "20003") {
		t.Errorf("wrong credentials: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := twilio.New(twilio.Config{Channel: "pigeon", BaseURL: "ftp://x"})
	for _, want := range []string{"AccountSID", "AuthToken", "From or MessagingServiceSID", "Channel", "BaseURL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
