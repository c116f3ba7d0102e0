// Package fcm sends mobile push through Firebase Cloud Messaging's HTTP v1
// API with a service account's OAuth2 token.
package fcm

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// Defaults of Google's endpoints.
const (
	DefaultBaseURL  = "https://fcm.googleapis.com"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
)

// Config is a service account and where to reach FCM.
type Config struct {
	ProjectID    string
	ClientEmail  string
	PrivateKeyID string
	PrivateKey   *rsa.PrivateKey
	BaseURL      string // DefaultBaseURL when empty
	TokenURL     string // DefaultTokenURL when empty
	HTTPClient   *http.Client
	Now          func() time.Time
}

// Sender implements notify.Sender for FCM.
type Sender struct {
	endpoint string
	hc       *http.Client
	tokens   *tokenSource
}

// New validates cfg.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.ProjectID == "" {
		errs = append(errs, errors.New("the ProjectID is required"))
	}
	if cfg.ClientEmail == "" {
		errs = append(errs, errors.New("the ClientEmail is required"))
	}
	if cfg.PrivateKey == nil {
		errs = append(errs, errors.New("the PrivateKey is required"))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	for name, u := range map[string]string{"BaseURL": cfg.BaseURL, "TokenURL": cfg.TokenURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Errorf("the %s must be an http(s) URL", name))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("fcm: %w", errors.Join(errs...))
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/v1/projects/" + url.PathEscape(cfg.ProjectID) + "/messages:send",
		hc:       hc,
		tokens:   &tokenSource{email: cfg.ClientEmail, keyID: cfg.PrivateKeyID, url: cfg.TokenURL, key: cfg.PrivateKey, hc: hc, now: cfg.Now},
	}, nil
}

// Provider implements notify.Sender.
func (s *Sender) Provider() string { return "fcm" }

type message struct {
	Token        string            `json:"token"`
	Notification *alert            `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
}

type alert struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

// maxTokenBytes bounds a registration token (they are ~160 bytes).
const maxTokenBytes = 4096

// Send implements notify.Sender. A 401 means our access token was refused:
// it is dropped and the send tried once more with a fresh one.
func (s *Sender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	tok := strings.TrimSpace(m.Destination)
	if tok == "" || len(tok) > maxTokenBytes || strings.ContainsAny(tok, " \r\n\t") {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "not an FCM registration token")
	}
	body, err := json.Marshal(map[string]message{"message": buildMessage(tok, m)})
	if err != nil {
		return notify.Result{}, fmt.Errorf("fcm: encode: %w", err)
	}
	for attempt := 0; ; attempt++ {
		access, err := s.tokens.get(ctx)
		if err != nil {
			return notify.Result{}, err
		}
		res, status, err := s.post(ctx, access, body)
		if status == http.StatusUnauthorized && attempt == 0 {
			s.tokens.invalidate(access)
			continue
		}
		return res, err
	}
}

func buildMessage(tok string, m notify.Message) message {
	msg := message{Token: tok}
	if m.Title != "" || m.Body != "" {
		msg.Notification = &alert{Title: m.Title, Body: m.Body}
	}
	data := map[string]string{}
	for k, v := range map[string]string{"id": m.ID, "notification_id": m.NotificationID, "subject_ref": m.SubjectRef, "subject_type": m.SubjectType} {
		if v != "" {
			data[k] = v
		}
	}
	if len(data) > 0 {
		msg.Data = data
	}
	return msg
}

func (s *Sender) post(ctx context.Context, access string, body []byte) (notify.Result, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return notify.Result{}, 0, fmt.Errorf("fcm: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.hc.Do(req)
	if err != nil {
		return notify.Result{}, 0, notify.Errorf(notify.ErrTemporary, 0, "fcm: send: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &ok)
		return notify.Result{ReceiptID: ok.Name}, resp.StatusCode, nil
	}
	return notify.Result{}, resp.StatusCode, classify(resp.StatusCode, raw)
}

// classify reads FCM's error body: HTTP 404, status NOT_FOUND or an
// FcmError detail UNREGISTERED mean the token is gone.
func classify(status int, raw []byte) error {
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type      string `json:"@type"`
				ErrorCode string `json:"errorCode"`
			} `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	code := e.Error.Status
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
	}
	msg := e.Error.Message
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if status == http.StatusNotFound || e.Error.Status == "NOT_FOUND" || code == "UNREGISTERED" {
		return notify.Errorf(notify.ErrDestinationGone, status, "fcm: %s: %s", code, msg)
	}
	class := notify.ClassifyHTTP(status)
	if class == nil {
		class = notify.ErrTemporary // a redirect or other surprise
	}
	return notify.Errorf(class, status, "fcm: %s: %s", code, msg)
}
