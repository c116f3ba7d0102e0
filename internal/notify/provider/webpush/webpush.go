// Package webpush sends Web Push messages (RFC 8030) authenticated with
// VAPID (RFC 8292) and encrypted for the browser (RFC 8291, aes128gcm).
package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/platform/netguard"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/jws"
)

// Config is the VAPID key pair and how messages are sent.
type Config struct {
	PublicKey  string            // unpadded base64url uncompressed P-256 point (the k= value)
	PrivateKey *ecdsa.PrivateKey // its private half
	// Subject is the VAPID contact: "mailto:…" or "https://…"; a bare
	// user@host becomes mailto:. Push services may refuse an empty one.
	Subject string
	TTL     time.Duration // how long the push service keeps an undelivered message (60 s)
	Urgency string        // very-low, low, normal (default) or high
	// AllowHTTP accepts http:// endpoints (tests). Subscriptions come from
	// clients, so by default only https endpoints are called.
	AllowHTTP  bool
	HTTPClient *http.Client
	Now        func() time.Time
}

// Sender implements notify.Sender for web push.
type Sender struct {
	cfg Config
	hc  *http.Client
}

// New validates cfg.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.PrivateKey == nil {
		errs = append(errs, errors.New("the PrivateKey is required"))
	} else if pub, err := cfg.PrivateKey.PublicKey.ECDH(); err != nil {
		errs = append(errs, errors.New("the PrivateKey must be a P-256 key"))
	} else if base64.RawURLEncoding.EncodeToString(pub.Bytes()) != strings.TrimRight(cfg.PublicKey, "=") {
		errs = append(errs, errors.New("the PublicKey is not the PrivateKey's public half"))
	}
	cfg.PublicKey = strings.TrimRight(cfg.PublicKey, "=")
	switch {
	case cfg.Subject == "", strings.HasPrefix(cfg.Subject, "mailto:"), strings.HasPrefix(cfg.Subject, "https://"):
	case strings.Contains(cfg.Subject, "@") && !strings.Contains(cfg.Subject, ":"):
		cfg.Subject = "mailto:" + cfg.Subject
	default:
		errs = append(errs, fmt.Errorf("the Subject %q must be mailto:, https: or user@host", cfg.Subject))
	}
	switch cfg.Urgency {
	case "":
		cfg.Urgency = "normal"
	case "very-low", "low", "normal", "high":
	default:
		errs = append(errs, fmt.Errorf("the Urgency %q is not very-low, low, normal or high", cfg.Urgency))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("webpush: %w", errors.Join(errs...))
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// Endpoints come from browsers' subscriptions, that is from users:
		// never let one point us at an internal address.
		hc = netguard.Policy{}.Client(30 * time.Second)
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &Sender{cfg: cfg, hc: hc}, nil
}

// Provider implements notify.Sender.
func (s *Sender) Provider() string { return "vapid" }

// Subscription is a browser's PushSubscription.toJSON().
type Subscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

type parsedSub struct {
	endpoint *url.URL
	ua       *ecdh.PublicKey
	auth     []byte
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (s *Sender) parse(dest string) (parsedSub, error) {
	var sub Subscription
	if len(dest) > notify.MaxTokenBytes || json.Unmarshal([]byte(dest), &sub) != nil {
		return parsedSub{}, errors.New("not PushSubscription JSON")
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(s.cfg.AllowHTTP && u.Scheme == "http")) || u.User != nil {
		return parsedSub{}, errors.New("endpoint must be an https URL")
	}
	raw, err := b64(sub.Keys.P256dh)
	if err != nil || len(raw) != 65 {
		return parsedSub{}, errors.New("keys.p256dh must be a base64url P-256 point")
	}
	ua, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return parsedSub{}, errors.New("keys.p256dh is not on P-256")
	}
	auth, err := b64(sub.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return parsedSub{}, errors.New("keys.auth must be 16 base64url bytes")
	}
	return parsedSub{endpoint: u, ua: ua, auth: auth}, nil
}

// Send implements notify.Sender.
func (s *Sender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	sub, err := s.parse(m.Destination)
	if err != nil {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "web push: %v", err)
	}
	body, err := s.encryptFor(sub, payload(m))
	if err != nil {
		return notify.Result{}, notify.Errorf(notify.ErrRejected, 0, "web push: %v", err)
	}
	auth, err := s.vapid(sub.endpoint)
	if err != nil {
		return notify.Result{}, fmt.Errorf("web push: sign VAPID token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "web push: %v", err)
	}
	h := req.Header
	h.Set("TTL", strconv.Itoa(int(s.cfg.TTL/time.Second)))
	h.Set("Urgency", s.cfg.Urgency)
	h.Set("Content-Encoding", "aes128gcm")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Authorization", auth)
	resp, err := s.hc.Do(req)
	if err != nil {
		// Not the URL: a push endpoint's path is a capability.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return notify.Result{}, notify.Errorf(notify.ErrTemporary, 0, "web push to %s: %v", sub.endpoint.Host, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode == 200, resp.StatusCode == 201, resp.StatusCode == 202:
		return notify.Result{ReceiptID: resp.Header.Get("Location")}, nil
	case resp.StatusCode == 404, resp.StatusCode == 410:
		return notify.Result{}, notify.Errorf(notify.ErrDestinationGone, resp.StatusCode, "web push: subscription expired or unsubscribed")
	}
	class := notify.ClassifyHTTP(resp.StatusCode)
	if class == nil {
		class = notify.ErrTemporary
	}
	return notify.Result{}, notify.Errorf(class, resp.StatusCode, "web push to %s: %s", sub.endpoint.Host, notify.Short(strings.TrimSpace(string(raw))))
}

func payload(m notify.Message) []byte {
	p := map[string]any{"title": m.Title, "body": m.Body}
	data := map[string]string{}
	for k, v := range map[string]string{"id": m.ID, "notification_id": m.NotificationID, "subject_ref": m.SubjectRef, "subject_type": m.SubjectType} {
		if v != "" {
			data[k] = v
		}
	}
	if len(data) > 0 {
		p["data"] = data
	}
	b, _ := json.Marshal(p)
	return b
}

func (s *Sender) encryptFor(sub parsedSub, plaintext []byte) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return encrypt(plaintext, sub.ua, sub.auth, as, salt)
}

// vapid returns the Authorization header: an ES256 JWT for the endpoint's
// origin, valid 12 hours (RFC 8292 allows at most 24), and our public key.
func (s *Sender) vapid(endpoint *url.URL) (string, error) {
	claims := map[string]any{"aud": endpoint.Scheme + "://" + endpoint.Host, "exp": s.cfg.Now().Add(12 * time.Hour).Unix()}
	if s.cfg.Subject != "" {
		claims["sub"] = s.cfg.Subject
	}
	tok, err := jws.ES256(s.cfg.PrivateKey, map[string]any{"typ": "JWT"}, claims)
	if err != nil {
		return "", err
	}
	return "vapid t=" + tok + ", k=" + s.cfg.PublicKey, nil
}
