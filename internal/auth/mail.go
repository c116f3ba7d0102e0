package auth

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// Mail is one email to a user.
type Mail struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends mail.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

type discardMailer struct{}

func (discardMailer) SendMail(context.Context, Mail) error { return nil }

// NotifySender is what the SMTP provider of package notify offers; auth
// sends through it so there is one SMTP client in the codebase.
type NotifySender interface {
	Send(ctx context.Context, m notify.Message) (notify.Result, error)
}

// SMTPMailer sends through an SMTP notify sender.
type SMTPMailer struct{ Sender NotifySender }

// SendMail implements Mailer.
func (m SMTPMailer) SendMail(ctx context.Context, mail Mail) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := m.Sender.Send(ctx, notify.Message{ID: newID(), Channel: "email", Destination: mail.To,
		Title: mail.Subject, Body: mail.Text})
	if err != nil {
		return fmt.Errorf("auth: send mail %q: %w", mail.Subject, err)
	}
	return nil
}

// DirMailer is the mailer when no SMTP server is configured: each message
// is written to a file in Dir and to the log, so someone running QuikApp
// on their own machine can follow the links.
type DirMailer struct {
	Dir string
	Log *slog.Logger
	Now func() time.Time
}

// SendMail implements Mailer.
func (m DirMailer) SendMail(ctx context.Context, mail Mail) error {
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return fmt.Errorf("auth: mail dir: %w", err)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	name := now().UTC().Format("20060102T150405.000Z") + "-" + newID() + ".eml"
	body := fmt.Sprintf("To: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		mail.To, mail.Subject, strings.ReplaceAll(mail.Text, "\n", "\r\n"))
	path := filepath.Join(m.Dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("auth: write mail: %w", err)
	}
	m.Log.InfoContext(ctx, "mail_written", "to", mail.To, "subject", mail.Subject, "file", path, "text", mail.Text)
	return nil
}

// TwilioSMS sends sign-in codes through the notify package's Twilio
// client (one SMS client in the codebase).
type TwilioSMS struct{ Sender NotifySender }

// SendSMS implements SMSSender.
func (t TwilioSMS) SendSMS(ctx context.Context, to, text string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := t.Sender.Send(ctx, notify.Message{ID: newID(), Channel: notify.ChannelSMS, Destination: to, Body: text}); err != nil {
		return fmt.Errorf("auth: send SMS: %w", err)
	}
	return nil
}

// DirSMS is the SMS sender when no provider is configured: texts are
// written to a file in Dir and to the log, for local use.
type DirSMS struct {
	Dir string
	Log *slog.Logger
}

// SendSMS implements SMSSender.
func (d DirSMS) SendSMS(ctx context.Context, to, text string) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("auth: sms dir: %w", err)
	}
	path := filepath.Join(d.Dir, time.Now().UTC().Format("20060102T150405.000Z")+"-"+newID()+".txt")
	if err := os.WriteFile(path, []byte("To: "+to+"\n\n"+text+"\n"), 0o600); err != nil {
		return fmt.Errorf("auth: write sms: %w", err)
	}
	d.Log.InfoContext(ctx, "sms_written", "to", to, "file", path, "text", text)
	return nil
}
