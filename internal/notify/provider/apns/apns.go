// Package apns sends mobile push to Apple devices through the APNs
// provider API over HTTP/2, authenticated with a token (.p8) key.
package apns

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/jws"
)

// Apple's endpoints.
const (
	ProductionURL = "https://api.push.apple.com"
	SandboxURL    = "https://api.sandbox.push.apple.com"
)

// tokenLifetime: Apple refuses provider tokens older than an hour and
// throttles ones refreshed more often than every 20 minutes.
const tokenLifetime = 50 * time.Minute

// Config is a token key and an app.
type Config struct {
	Key     *ecdsa.PrivateKey // P-256, from the .p8 file
	KeyID   string
	TeamID  string
	Topic   string // the app's bundle id
	Sandbox bool
	BaseURL string // from Sandbox when empty
	// HTTPClient must speak HTTP/2 (the default one does over TLS).
	HTTPClient *http.Client
	Now        func() time.Time
}

// Sender implements notify.Sender for APNs.
type Sender struct {
	cfg  Config
	base string
	hc   *http.Client

	mu     sync.Mutex
	jwt    string
	issued time.Time
}

// New validates cfg.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.Key == nil {
		errs = append(errs, errors.New("the Key is required"))
	}
	for name, v := range map[string]string{"KeyID": cfg.KeyID, "TeamID": cfg.TeamID, "Topic": cfg.Topic} {
		if v == "" {
			errs = append(errs, fmt.Errorf("the %s is required", name))
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = ProductionURL
		if cfg.Sandbox {
			cfg.BaseURL = SandboxURL
		}
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, errors.New("the BaseURL must be an https URL (APNs is HTTP/2 over TLS)"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("apns: %w", errors.Join(errs...))
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), hc: hc}, nil
}

// Provider implements notify.Sender.
func (s *Sender) Provider() string { return "apns" }

// ValidToken reports whether tok looks like an APNs device token: hex, of
// even length, at least 64 digits (32 bytes today; Apple says they may
// grow).
func ValidToken(tok string) bool {
	if len(tok) < 64 || len(tok) > 200 || len(tok)%2 != 0 {
		return false
	}
	_, err := hex.DecodeString(tok)
	return err == nil
}

// providerToken returns the cached ES256 JWT, or signs a new one; force
// replaces one Apple called expired.
func (s *Sender) providerToken(force bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if !force && s.jwt != "" && now.Sub(s.issued) < tokenLifetime {
		return s.jwt, nil
	}
	tok, err := jws.ES256(s.cfg.Key, map[string]any{"kid": s.cfg.KeyID}, map[string]any{"iss": s.cfg.TeamID, "iat": now.Unix()})
	if err != nil {
		return "", err
	}
	s.jwt, s.issued = tok, now
	return s.jwt, nil
}

type payload struct {
	APS struct {
		Alert struct {
			Title string `json:"title,omitempty"`
			Body  string `json:"body,omitempty"`
		} `json:"alert"`
		Sound string `json:"sound"`
	} `json:"aps"`
	NotificationID string `json:"notification_id,omitempty"`
	SubjectRef     string `json:"subject_ref,omitempty"`
	SubjectType    string `json:"subject_type,omitempty"`
}

// maxPayload is APNs' limit for a notification payload.
const maxPayload = 4096

// Send implements notify.Sender.
func (s *Sender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	tok := strings.ToLower(strings.TrimSpace(m.Destination))
	if !ValidToken(tok) {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "not an APNs device token")
	}
	var p payload
	p.APS.Alert.Title, p.APS.Alert.Body, p.APS.Sound = m.Title, m.Body, "default"
	p.NotificationID, p.SubjectRef, p.SubjectType = m.NotificationID, m.SubjectRef, m.SubjectType
	body, _ := json.Marshal(p)
	if len(body) > maxPayload {
		return notify.Result{}, notify.Errorf(notify.ErrRejected, 0, "payload of %d bytes exceeds APNs' %d", len(body), maxPayload)
	}
	for attempt := 0; ; attempt++ {
		jwt, err := s.providerToken(attempt > 0)
		if err != nil {
			return notify.Result{}, fmt.Errorf("apns: sign provider token: %w", err)
		}
		res, reason, err := s.post(ctx, tok, jwt, body)
		if reason == "ExpiredProviderToken" && attempt == 0 {
			continue
		}
		return res, err
	}
}

func (s *Sender) post(ctx context.Context, tok, jwt string, body []byte) (notify.Result, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/3/device/"+tok, bytes.NewReader(body))
	if err != nil {
		return notify.Result{}, "", fmt.Errorf("apns: %w", err)
	}
	h := req.Header
	h.Set("authorization", "bearer "+jwt)
	h.Set("apns-topic", s.cfg.Topic)
	h.Set("apns-push-type", "alert")
	h.Set("apns-priority", "10")
	h.Set("apns-expiration", "0")
	h.Set("content-type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return notify.Result{}, "", notify.Errorf(notify.ErrTemporary, 0, "apns: send: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode == http.StatusOK {
		return notify.Result{ReceiptID: resp.Header.Get("apns-id")}, "", nil
	}
	var e struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(raw, &e)
	switch {
	// Only 410 Unregistered means the device is gone for good. A
	// BadDeviceToken is also what a sandbox token gets from production: a
	// wrong NOTIFY_APNS_SANDBOX must not purge every iOS device, so it is a
	// plain rejection (and DeviceTokenNotForTopic a wrong topic).
	case resp.StatusCode == http.StatusGone, e.Reason == "Unregistered":
		return notify.Result{}, e.Reason, notify.Errorf(notify.ErrDestinationGone, resp.StatusCode, "apns: %s", e.Reason)
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return notify.Result{}, e.Reason, notify.Errorf(notify.ErrTemporary, resp.StatusCode, "apns: %s", e.Reason)
	}
	return notify.Result{}, e.Reason, notify.Errorf(notify.ErrRejected, resp.StatusCode, "apns: %s", e.Reason)
}
