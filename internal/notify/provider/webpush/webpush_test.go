package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/platform/netguard"

	"github.com/quikapp/quikapp/internal/notify"
)

// browser is a user agent's subscription keys.
type browser struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t *testing.T) browser {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	return browser{key: k, auth: auth}
}

func (b browser) subscription(endpoint string) string {
	enc := base64.RawURLEncoding
	s, _ := json.Marshal(map[string]any{"endpoint": endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": enc.EncodeToString(b.key.PublicKey().Bytes()), "auth": enc.EncodeToString(b.auth)}})
	return string(s)
}

// pushService accepts a message only as a real push service would: a
// VAPID JWT signed by the key in k=, for this origin, unexpired and at
// most 24 h long, TTL and encoding headers; it then hands the body to the
// browser, which decrypts it.
type pushService struct {
	srv     *httptest.Server
	browser browser

	mu     sync.Mutex
	got    []map[string]any
	status int // 0 = 201
}

func (p *pushService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := p.check(r); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := decrypt(body, p.browser.key, p.browser.auth)
	if err != nil {
		http.Error(w, "cannot decrypt: "+err.Error(), http.StatusBadRequest)
		return
	}
	var msg map[string]any
	if err := json.Unmarshal(plain, &msg); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.got = append(p.got, msg)
	status := p.status
	p.mu.Unlock()
	if status == 0 {
		status = http.StatusCreated
	}
	w.Header().Set("Location", p.srv.URL+"/message/1")
	w.WriteHeader(status)
}

func (p *pushService) check(r *http.Request) error {
	if r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") != "60" || r.Header.Get("Urgency") != "normal" ||
		r.Header.Get("Content-Type") != "application/octet-stream" {
		return fmt.Errorf("headers %v", r.Header)
	}
	var jwt, k string
	for _, part := range strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "vapid "), ",") {
		part = strings.TrimSpace(part)
		switch {
		case strings.HasPrefix(part, "t="):
			jwt = part[2:]
		case strings.HasPrefix(part, "k="):
			k = part[2:]
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(raw) != 65 {
		return errors.New("bad k")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return errors.New("k is not a P-256 point")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("bad t")
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("bad signature")
	}
	var c struct {
		Aud, Sub string
		Exp      int64
	}
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(cb, &c) != nil || c.Aud != p.srv.URL || c.Sub != "mailto:ops@quikapp.test" ||
		c.Exp < time.Now().Unix() || c.Exp > time.Now().Add(24*time.Hour).Unix() {
		return fmt.Errorf("claims %+v", c)
	}
	return nil
}

func setup(t *testing.T) (*pushService, *Sender) {
	t.Helper()
	p := &pushService{browser: newBrowser(t)}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	vapid, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := vapid.PublicKey.ECDH()
	// The test's push service is on loopback, which the default client
	// refuses (see TestDefaultClientRefusesInternalEndpoints).
	loopback := netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}.Client(5 * time.Second)
	s, err := New(Config{PublicKey: base64.RawURLEncoding.EncodeToString(pub.Bytes()), PrivateKey: vapid,
		Subject: "ops@quikapp.test", AllowHTTP: true, HTTPClient: loopback})
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func TestSendDecryptsInTheBrowser(t *testing.T) {
	p, s := setup(t)
	res, err := s.Send(context.Background(), notify.Message{ID: "row-1", NotificationID: "n1", Title: "Ada mentioned you", Body: "in #général: ☕?",
		SubjectRef: "msg:1", Destination: p.browser.subscription(p.srv.URL + "/push/abc")})
	if err != nil {
		t.Fatal(err)
	}
	if res.ReceiptID != p.srv.URL+"/message/1" || len(p.got) != 1 {
		t.Fatalf("result %+v, %d messages", res, len(p.got))
	}
	m := p.got[0]
	data := m["data"].(map[string]any)
	if m["title"] != "Ada mentioned you" || m["body"] != "in #général: ☕?" || data["subject_ref"] != "msg:1" || data["notification_id"] != "n1" {
		t.Fatalf("decrypted %v", m)
	}
}

func TestSendErrors(t *testing.T) {
	p, s := setup(t)
	sub := p.browser.subscription(p.srv.URL + "/push/abc")
	for status, want := range map[int]error{410: notify.ErrDestinationGone, 404: notify.ErrDestinationGone, 400: notify.ErrRejected, 413: notify.ErrRejected, 429: notify.ErrTemporary, 502: notify.ErrTemporary} {
		p.status = status
		if _, err := s.Send(context.Background(), notify.Message{Destination: sub}); !errors.Is(err, want) {
			t.Errorf("push service %d: %v, want %v", status, err, want)
		}
	}
	p.status = 0
	good := newBrowser(t)
	bad := []string{
		"", "not json", `{"endpoint":"https://push.example/x"}`,
		strings.Replace(good.subscription("https://push.example/x"), `"auth":"`, `"auth":"AA`, 1),
		good.subscription("ftp://push.example/x"),
		good.subscription("https://user:pw@push.example/x"),
		`{"endpoint":"https://push.example/x","keys":{"p256dh":"` + strings.Repeat("A", 87) + `","auth":"` + strings.Repeat("A", 22) + `"}}`,
	}
	for _, d := range bad {
		if _, err := s.Send(context.Background(), notify.Message{Destination: d}); !errors.Is(err, notify.ErrInvalidDestination) {
			t.Errorf("subscription %q: %v", d, err)
		}
	}
	// Without AllowHTTP a plain-http endpoint is refused before any call.
	strict, _ := New(Config{PublicKey: s.cfg.PublicKey, PrivateKey: s.cfg.PrivateKey})
	n := len(p.got)
	if _, err := strict.Send(context.Background(), notify.Message{Destination: sub}); !errors.Is(err, notify.ErrInvalidDestination) || len(p.got) != n {
		t.Errorf("http endpoint without AllowHTTP: %v", err)
	}
	if _, err := s.Send(context.Background(), notify.Message{Destination: sub, Body: strings.Repeat("x", MaxPayload)}); !errors.Is(err, notify.ErrRejected) {
		t.Errorf("oversized payload: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := other.PublicKey.ECDH()
	_, err := New(Config{PrivateKey: k, PublicKey: base64.RawURLEncoding.EncodeToString(pub.Bytes()), Subject: "ftp://x", Urgency: "now"})
	for _, want := range []string{"public half", "Subject", "Urgency"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// A subscription pointing at an internal address is refused when the
// socket is dialled, by the default client.
func TestDefaultClientRefusesInternalEndpoints(t *testing.T) {
	p, withLoopback := setup(t)
	s, err := New(Config{PublicKey: withLoopback.cfg.PublicKey, PrivateKey: withLoopback.cfg.PrivateKey, Subject: "ops@quikapp.test", AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), notify.Message{ID: "m1", Destination: p.browser.subscription(p.srv.URL + "/push"), Title: "t", Body: "b"})
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("internal endpoint: %v", err)
	}
}
