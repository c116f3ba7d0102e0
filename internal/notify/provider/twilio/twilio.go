// Package twilio sends SMS and WhatsApp messages through Twilio's
// Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json).
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// Config configures one channel's sender.
type Config struct {
	AccountSID          string
	AuthToken           string // secret
	MessagingServiceSID string // used instead of From when set
	From                string
	// Channel is notify.ChannelSMS or notify.ChannelWhatsApp.
	Channel    string
	BaseURL    string       // DefaultBaseURL when empty
	HTTPClient *http.Client // a client with a 15 s timeout when nil
}

// Sender implements notify.Sender for one channel.
type Sender struct {
	cfg      Config
	endpoint string
	hc       *http.Client
}

// New validates cfg.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.AccountSID == "" {
		errs = append(errs, errors.New("the AccountSID is required"))
	}
	if cfg.AuthToken == "" {
		errs = append(errs, errors.New("the AuthToken is required"))
	}
	if cfg.MessagingServiceSID == "" && cfg.From == "" {
		errs = append(errs, errors.New("a From or MessagingServiceSID is required"))
	}
	if cfg.Channel != notify.ChannelSMS && cfg.Channel != notify.ChannelWhatsApp {
		errs = append(errs, fmt.Errorf("the Channel must be %s or %s", notify.ChannelSMS, notify.ChannelWhatsApp))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New("the BaseURL must be an http(s) URL"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("twilio: %w", errors.Join(errs...))
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Sender{cfg: cfg, endpoint: endpoint, hc: hc}, nil
}

// Provider implements notify.Sender.
func (s *Sender) Provider() string { return "twilio" }

// e164 is '+' and 6–15 digits, as the contract checks before any call.
var e164 = regexp.MustCompile(`^\+[0-9]{6,15}$`)

const whatsappPrefix = "whatsapp:"

// Send implements notify.Sender.
func (s *Sender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	to := strings.TrimSpace(m.Destination)
	if s.cfg.Channel == notify.ChannelWhatsApp {
		to = strings.TrimPrefix(to, whatsappPrefix)
	}
	if !e164.MatchString(to) {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "%s destination must be + and 6-15 digits", s.cfg.Channel)
	}
	body := m.Body
	if strings.TrimSpace(body) == "" {
		body = m.Title
	}
	form := url.Values{"To": {s.address(to)}, "Body": {body}}
	if s.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.cfg.MessagingServiceSID)
	} else {
		form.Set("From", s.address(s.cfg.From))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return notify.Result{}, fmt.Errorf("twilio: %w", err)
	}
	req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return notify.Result{}, notify.Errorf(notify.ErrTemporary, 0, "twilio: %v", redactURL(err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		class := notify.ClassifyHTTP(resp.StatusCode)
		return notify.Result{}, notify.Errorf(class, resp.StatusCode, "twilio error %d: %s", e.Code, notify.Short(e.Message))
	}
	var ok struct {
		SID          string `json:"sid"`
		Status       string `json:"status"`
		ErrorCode    *int   `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.SID == "" {
		return notify.Result{}, notify.Errorf(notify.ErrTemporary, resp.StatusCode, "twilio: unreadable reply")
	}
	if ok.Status == "failed" || ok.Status == "undelivered" {
		return notify.Result{ReceiptID: ok.SID}, notify.Errorf(notify.ErrRejected, resp.StatusCode, "twilio message %s %s: %s", ok.SID, ok.Status, notify.Short(ok.ErrorMessage))
	}
	return notify.Result{ReceiptID: ok.SID}, nil
}

// address adds the whatsapp: prefix once on the WhatsApp channel.
func (s *Sender) address(n string) string {
	if s.cfg.Channel != notify.ChannelWhatsApp || strings.HasPrefix(n, whatsappPrefix) {
		return n
	}
	return whatsappPrefix + n
}

// redactURL keeps the transport error but not the request URL's path
// (it carries the account SID).
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
