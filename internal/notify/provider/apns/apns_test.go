package apns_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/apns"
)

const (
	keyID  = "ABC123DEFG"
	teamID = "DEF123GHIJ"
	topic  = "com.quikapp.ios"
)

var device = strings.Repeat("a1b2c3d4", 8) // 64 hex digits

// fakeAPNs checks requests as APNs does: HTTP/2 only, an ES256 provider
// token signed by the team's key with its key id, the topic and push type
// headers, a JSON payload with aps.alert.
type fakeAPNs struct {
	t   *testing.T
	key *ecdsa.PublicKey

	mu       sync.Mutex
	payloads []map[string]any
	tokens   []string
	reply    func() (int, string) // nil = 200
	expire   bool                 // call the current provider token expired once
}

func (f *fakeAPNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(status int, reason string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"reason": reason})
	}
	if r.ProtoMajor != 2 {
		fail(http.StatusBadRequest, "HTTP/2 required")
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/3/device/") {
		fail(http.StatusNotFound, "BadPath")
		return
	}
	jwt := strings.TrimPrefix(r.Header.Get("authorization"), "bearer ")
	if !f.verify(jwt) {
		fail(http.StatusForbidden, "InvalidProviderToken")
		return
	}
	if f.expire {
		f.expire = false
		fail(http.StatusForbidden, "ExpiredProviderToken")
		return
	}
	if r.Header.Get("apns-topic") != topic || r.Header.Get("apns-push-type") != "alert" || r.Header.Get("apns-priority") != "10" {
		fail(http.StatusBadRequest, "MissingTopic")
		return
	}
	var p map[string]any
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		fail(http.StatusBadRequest, "PayloadEmpty")
		return
	}
	if _, ok := p["aps"].(map[string]any)["alert"]; !ok {
		fail(http.StatusBadRequest, "PayloadEmpty")
		return
	}
	f.payloads = append(f.payloads, p)
	f.tokens = append(f.tokens, jwt)
	if f.reply != nil {
		status, reason := f.reply()
		fail(status, reason)
		return
	}
	w.Header().Set("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B3B")
	w.WriteHeader(http.StatusOK)
}

func (f *fakeAPNs) verify(jwt string) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	var head struct{ Alg, Kid string }
	var claims struct {
		Iss string
		Iat int64
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(h, &head) != nil || json.Unmarshal(c, &claims) != nil || len(sig) != 64 {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	ok := ecdsa.Verify(f.key, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	return ok && head.Alg == "ES256" && head.Kid == keyID && claims.Iss == teamID && time.Since(time.Unix(claims.Iat, 0)) < time.Hour
}

func setup(t *testing.T) (*fakeAPNs, *apns.Sender, *time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPNs{t: t, key: &key.PublicKey}
	srv := httptest.NewUnstartedServer(f)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	now := time.Now()
	s, err := apns.New(apns.Config{Key: key, KeyID: keyID, TeamID: teamID, Topic: topic, BaseURL: srv.URL,
		HTTPClient: srv.Client(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return f, s, &now
}

func TestSend(t *testing.T) {
	f, s, now := setup(t)
	res, err := s.Send(context.Background(), notify.Message{Destination: strings.ToUpper(device), Title: "New message", Body: "Ada: hi", NotificationID: "n1", SubjectRef: "msg:1"})
	if err != nil || res.ReceiptID != "EC1BF194-B3B2-424A-89A9-5A918A6E6B3B" {
		t.Fatalf("send: %+v %v", res, err)
	}
	alert := f.payloads[0]["aps"].(map[string]any)["alert"].(map[string]any)
	if alert["title"] != "New message" || alert["body"] != "Ada: hi" || f.payloads[0]["subject_ref"] != "msg:1" || f.payloads[0]["notification_id"] != "n1" {
		t.Fatalf("payload %v", f.payloads[0])
	}
	// The provider token is reused within its lifetime, renewed after.
	if _, err := s.Send(context.Background(), notify.Message{Destination: device, Body: "2"}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(55 * time.Minute)
	if _, err := s.Send(context.Background(), notify.Message{Destination: device, Body: "3"}); err != nil {
		t.Fatal(err)
	}
	if f.tokens[0] != f.tokens[1] || f.tokens[1] == f.tokens[2] {
		t.Fatal("provider token not reused, or not renewed after 55 minutes")
	}
}

func TestExpiredProviderTokenRenewed(t *testing.T) {
	f, s, _ := setup(t)
	f.expire = true
	if _, err := s.Send(context.Background(), notify.Message{Destination: device, Body: "x"}); err != nil {
		t.Fatalf("after ExpiredProviderToken: %v", err)
	}
}

func TestErrors(t *testing.T) {
	f, s, _ := setup(t)
	for _, c := range []struct {
		status int
		reason string
		want   error
	}{
		{410, "Unregistered", notify.ErrDestinationGone},
		{400, "BadDeviceToken", notify.ErrRejected}, // also a sandbox token sent to production: never purge on it
		{400, "DeviceTokenNotForTopic", notify.ErrRejected},
		{400, "BadTopic", notify.ErrRejected},
		{429, "TooManyProviderTokenUpdates", notify.ErrTemporary},
		{503, "ServiceUnavailable", notify.ErrTemporary},
	} {
		f.reply = func() (int, string) { return c.status, c.reason }
		if _, err := s.Send(context.Background(), notify.Message{Destination: device, Body: "x"}); !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%d %s: %v, want %v", c.status, c.reason, err, c.want)
		}
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("a", 63), strings.Repeat("g", 64)} {
		if _, err := s.Send(context.Background(), notify.Message{Destination: bad}); !errors.Is(err, notify.ErrInvalidDestination) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if _, err := apns.New(apns.Config{BaseURL: "http://x"}); err == nil || !strings.Contains(err.Error(), "Key") || !strings.Contains(err.Error(), "https") {
		t.Errorf("New: %v", err)
	}
}
