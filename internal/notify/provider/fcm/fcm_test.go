package fcm_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/fcm"
)

const (
	project = "quikapp-test"
	email   = "notifyd@quikapp-test.iam.gserviceaccount.com"
	keyID   = "key-1"
)

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

// google plays both Google endpoints: the OAuth2 token endpoint, which
// verifies the service-account assertion's RS256 signature and claims,
// and FCM's messages:send, which accepts only the tokens it issued.
type google struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	issued    []string
	exchanges int
	sends     []map[string]any
	reply     func(n int) (int, string) // nth send's reply; nil = 200
	revoke    bool                      // refuse the current token once
}

func newGoogle(t *testing.T) *google {
	g := &google{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", g.token)
	mux.HandleFunc("POST /v1/projects/"+project+"/messages:send", g.send)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *google) token(w http.ResponseWriter, r *http.Request) {
	deny := func(why string) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, why)
	}
	if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		deny("grant_type")
		return
	}
	parts := strings.Split(r.FormValue("assertion"), ".")
	if len(parts) != 3 {
		deny("malformed")
		return
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&testKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		deny("Invalid JWT Signature.")
		return
	}
	var head struct{ Alg, Kid string }
	var c struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &head) != nil || json.Unmarshal(p, &c) != nil {
		deny("malformed")
		return
	}
	now := time.Now().Unix()
	if head.Alg != "RS256" || head.Kid != keyID || c.Iss != email || c.Scope != fcm.Scope || c.Aud != g.srv.URL+"/token" ||
		c.Exp-c.Iat > 3600 || c.Iat > now+60 || c.Exp < now {
		deny(fmt.Sprintf("claims %+v %+v", head, c))
		return
	}
	g.mu.Lock()
	g.exchanges++
	tok := fmt.Sprintf("ya29.token-%d", g.exchanges)
	g.issued = append(g.issued, tok)
	g.mu.Unlock()
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, tok)
}

func (g *google) send(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	valid := len(g.issued) > 0 && auth == g.issued[len(g.issued)-1]
	if !valid || g.revoke {
		g.revoke = false
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`))
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":400,"message":"bad json","status":"INVALID_ARGUMENT"}}`))
		return
	}
	g.sends = append(g.sends, body)
	status, reply := 200, `{"name":"projects/`+project+`/messages/0:1234"}`
	if g.reply != nil {
		if s, b := g.reply(len(g.sends)); s != 0 {
			status, reply = s, b
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reply))
}

func newSender(t *testing.T, g *google) *fcm.Sender {
	t.Helper()
	s, err := fcm.New(fcm.Config{ProjectID: project, ClientEmail: email, PrivateKeyID: keyID, PrivateKey: testKey,
		BaseURL: g.srv.URL, TokenURL: g.srv.URL + "/token"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendAndCacheToken(t *testing.T) {
	g := newGoogle(t)
	s := newSender(t, g)
	for i := range 3 {
		res, err := s.Send(context.Background(), notify.Message{ID: "row-1", NotificationID: "n1", Destination: "fcm-token-abc",
			Title: "New message", Body: "Ada: hi", SubjectRef: "msg:1", SubjectType: "message"})
		if err != nil || res.ReceiptID != "projects/"+project+"/messages/0:1234" {
			t.Fatalf("send %d: %+v %v", i, res, err)
		}
	}
	if g.exchanges != 1 {
		t.Fatalf("%d token exchanges for 3 sends, want 1 (cached)", g.exchanges)
	}
	msg := g.sends[0]["message"].(map[string]any)
	n := msg["notification"].(map[string]any)
	d := msg["data"].(map[string]any)
	if msg["token"] != "fcm-token-abc" || n["title"] != "New message" || n["body"] != "Ada: hi" || d["subject_ref"] != "msg:1" || d["notification_id"] != "n1" {
		t.Fatalf("message %v", msg)
	}
	// Empty notification and data are left out.
	if _, err := s.Send(context.Background(), notify.Message{Destination: "fcm-token-abc"}); err != nil {
		t.Fatal(err)
	}
	if bare := g.sends[3]["message"].(map[string]any); len(bare) != 1 {
		t.Fatalf("bare message %v", bare)
	}
}

func TestRefreshesRefusedToken(t *testing.T) {
	g := newGoogle(t)
	s := newSender(t, g)
	if _, err := s.Send(context.Background(), notify.Message{Destination: "t", Body: "1"}); err != nil {
		t.Fatal(err)
	}
	g.revoke = true
	if _, err := s.Send(context.Background(), notify.Message{Destination: "t", Body: "2"}); err != nil {
		t.Fatalf("after a 401: %v", err)
	}
	if g.exchanges != 2 {
		t.Fatalf("%d exchanges, want 2", g.exchanges)
	}
}

func TestErrors(t *testing.T) {
	g := newGoogle(t)
	s := newSender(t, g)
	unregistered := `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`
	for _, c := range []struct {
		status int
		body   string
		want   error
	}{
		{404, unregistered, notify.ErrDestinationGone},
		{400, `{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}`, notify.ErrRejected},
		{429, `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`, notify.ErrTemporary},
		{503, `{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}`, notify.ErrTemporary},
	} {
		g.reply = func(int) (int, string) { return c.status, c.body }
		if _, err := s.Send(context.Background(), notify.Message{Destination: "t"}); !errors.Is(err, c.want) {
			t.Errorf("reply %d: %v, want %v", c.status, err, c.want)
		}
	}
	g.reply = nil
	for _, bad := range []string{"", "  ", "has space", strings.Repeat("x", 5000)} {
		if _, err := s.Send(context.Background(), notify.Message{Destination: bad}); !errors.Is(err, notify.ErrInvalidDestination) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrong, _ := fcm.New(fcm.Config{ProjectID: project, ClientEmail: email, PrivateKeyID: keyID, PrivateKey: other, BaseURL: g.srv.URL, TokenURL: g.srv.URL + "/token"})
	if _, err := wrong.Send(context.Background(), notify.Message{Destination: "t"}); !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("wrong service-account key: %v", err)
	}
	if _, err := fcm.New(fcm.Config{BaseURL: "ftp://x"}); err == nil || !strings.Contains(err.Error(), "ProjectID") || !strings.Contains(err.Error(), "BaseURL") {
		t.Errorf("New: %v", err)
	}
}
