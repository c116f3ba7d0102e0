package app

import (
	"crypto/tls"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify/provider/smtp/smtptest"
)

// With SMTP settings, account mail goes out over SMTP (STARTTLS and AUTH
// against a server started here) and nothing is written to the data dir.
func TestAccountMailOverSMTP(t *testing.T) {
	serverTLS, roots := smtptest.NewTLSConfig(t)
	srv := &smtptest.Server{TLSConfig: serverTLS, StartTLS: true, User: "mailer", Pass: "s3cret"}
	srv.Start(t)
	s := startAPIWith(t, "sqlite", func(c *Config) {
		c.Identity.SMTP = SMTPConfig{Host: "127.0.0.1", Port: srv.Port(), Username: "mailer", Password: "s3cret",
			From: "QuikApp <no-reply@quikapp.test>", TLS: "starttls"}
		c.Identity.PublicURL = "https://chat.example.com"
	}, func(a *App) { a.smtpTLS = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"} })
	s.must(201, "POST", "/api/v1/auth/register", "", map[string]string{"email": "sam@example.com", "password": "a long password here", "displayName": "Sam"})
	var msg smtptest.Message
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := srv.Messages(); len(m) > 0 {
			msg = m[0]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if msg.To != "sam@example.com" || !msg.TLS || !msg.Authed || !strings.Contains(msg.Data, "Verify your email") {
		t.Fatalf("mail: %+v", msg)
	}
	// Read it the way a mail client does.
	parsed, err := mail.ReadMessage(strings.NewReader(msg.Data))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader = parsed.Body
	if parsed.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body = quotedprintable.NewReader(body)
	}
	text, _ := io.ReadAll(body)
	link := regexp.MustCompile(`https://chat\.example\.com/verify-email\?token=([A-Za-z0-9_\-]+)`).FindStringSubmatch(string(text))
	if link == nil {
		t.Fatalf("no verification link in:\n%s", text)
	}
	s.must(204, "POST", "/api/v1/auth/verify-email/confirm", "", map[string]string{"token": link[1]})
}
