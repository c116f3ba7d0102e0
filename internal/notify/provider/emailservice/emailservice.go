// Package emailservice sends notifyd's email through an external email
// service over gRPC (NOTIFY_EMAIL_PROVIDER=emailservice), using the small
// contract in api/email/v1/email.proto.
package emailservice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"connectrpc.com/connect"

	emailv1 "github.com/quikapp/quikapp/api/email/v1/emailv1"
	"github.com/quikapp/quikapp/api/email/v1/emailv1/emailv1connect"
	"github.com/quikapp/quikapp/internal/notify"
)

// Config configures the client.
type Config struct {
	// Address is host:port (cleartext HTTP/2, as in-cluster gRPC is), or an
	// http:// or https:// base URL.
	Address string
	From    string // RFC 5322 address
	Timeout time.Duration
	// HTTPClient overrides the transport (tests).
	HTTPClient *http.Client
}

// Sender implements notify.Sender over the email service.
type Sender struct {
	client  emailv1connect.EmailServiceClient
	from    string
	timeout time.Duration
}

// New validates cfg and returns a sender; it does not dial until Send.
func New(cfg Config) (*Sender, error) {
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("emailservice: From %q is not an email address", cfg.From)
	}
	base, h2c, err := baseURL(cfg.Address)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := &http.Transport{}
		if h2c {
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetUnencryptedHTTP2(true)
		} else {
			tr.ForceAttemptHTTP2 = true
		}
		hc = &http.Client{Transport: tr}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Sender{client: emailv1connect.NewEmailServiceClient(hc, base, connect.WithGRPC()), from: cfg.From, timeout: cfg.Timeout}, nil
}

func baseURL(addr string) (string, bool, error) {
	addr = strings.TrimSpace(addr)
	switch {
	case strings.HasPrefix(addr, "https://"):
		return strings.TrimRight(addr, "/"), false, nil
	case strings.HasPrefix(addr, "http://"):
		return strings.TrimRight(addr, "/"), true, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", false, fmt.Errorf("emailservice: address %q must be host:port or an http(s) URL", addr)
	}
	return "http://" + addr, true, nil
}

// Provider implements notify.Sender.
func (s *Sender) Provider() string { return "emailservice" }

// Send implements notify.Sender.
func (s *Sender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	to, err := mail.ParseAddress(m.Destination)
	if err != nil || strings.ContainsAny(m.Destination, "\r\n") {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "not an email address")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	meta := map[string]string{"tenant_id": m.TenantID, "notification_id": m.NotificationID}
	if m.SubjectRef != "" {
		meta["subject_ref"], meta["subject_type"] = m.SubjectRef, m.SubjectType
	}
	resp, err := s.client.SendEmail(ctx, connect.NewRequest(&emailv1.SendEmailRequest{
		From: s.from, To: to.Address, Subject: m.Title, TextBody: m.Body,
		IdempotencyKey: m.ID + ":" + m.Channel, Metadata: meta,
	}))
	if err != nil {
		return notify.Result{}, classify(err)
	}
	return notify.Result{ReceiptID: resp.Msg.GetMessageId()}, nil
}

// classify maps gRPC codes to the engine's error classes.
func classify(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return notify.Errorf(notify.ErrTemporary, 0, "email service: %v", err)
	}
	switch ce.Code() {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodePermissionDenied,
		connect.CodeUnauthenticated, connect.CodeNotFound, connect.CodeUnimplemented, connect.CodeAlreadyExists:
		return notify.Errorf(notify.ErrRejected, 0, "email service: %s: %s", ce.Code(), ce.Message())
	}
	return notify.Errorf(notify.ErrTemporary, 0, "email service: %s: %s", ce.Code(), ce.Message())
}
