package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/notify/provider/smtp/smtptest"

	"github.com/quikapp/quikapp/internal/notify"
)

func newSender(t *testing.T, srv *smtptest.Server, roots *tls.Config, mod func(*Config)) *Sender {
	t.Helper()
	cfg := Config{Host: "127.0.0.1", Port: srv.Port(), From: "QuikApp <noreply@quikapp.test>", TLSConfig: roots}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// treatLoopbackAsRemote makes 127.0.0.1 count as a remote host, so the
// rules for real servers apply in tests.
func treatLoopbackAsRemote(t *testing.T) {
	old := isLoopback
	isLoopback = func(string) bool { return false }
	t.Cleanup(func() { isLoopback = old })
}

// parse reads a received message the way a mail client would.
func parse(t *testing.T, data string) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	if m.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Fatalf("transfer encoding %q", m.Header.Get("Content-Transfer-Encoding"))
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return m, string(body)
}

func TestSendWithSTARTTLSAndAuth(t *testing.T) {
	treatLoopbackAsRemote(t)
	serverTLS, roots := smtptest.NewTLSConfig(t)
	srv := &smtptest.Server{TLSConfig: serverTLS, StartTLS: true, User: "mailer", Pass: "s3cret"}
	srv.Start(t)
	s := newSender(t, srv, &tls.Config{RootCAs: roots}, func(c *Config) { c.Username, c.Password = "mailer", "s3cret" })
	res, err := s.Send(context.Background(), notify.Message{Destination: "Zoë <zoe@example.com>",
		Title: "Réunion à 15h ☕", Body: "Bonjour Zoë,\nla réunion commence.\n.\nUne ligne qui commence par un point."})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 || !got[0].TLS || !got[0].Authed || got[0].From != "noreply@quikapp.test" || got[0].To != "zoe@example.com" {
		t.Fatalf("received %+v", got)
	}
	m, body := parse(t, got[0].Data)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || subject != "Réunion à 15h ☕" {
		t.Fatalf("subject %q (%v) from %q", subject, err, m.Header.Get("Subject"))
	}
	if want := "Bonjour Zoë,\r\nla réunion commence.\r\n.\r\nUne ligne qui commence par un point.\r\n"; body != want {
		t.Fatalf("body %q, want %q", body, want)
	}
	if m.Header.Get("Message-Id") != res.ReceiptID || !strings.HasSuffix(res.ReceiptID, "@quikapp.test>") {
		t.Fatalf("Message-ID %q, receipt %q", m.Header.Get("Message-Id"), res.ReceiptID)
	}
	if _, err := m.Header.Date(); err != nil || m.Header.Get("MIME-Version") != "1.0" || !strings.Contains(m.Header.Get("Content-Type"), "charset=utf-8") {
		t.Fatalf("headers %v", m.Header)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	serverTLS, roots := smtptest.NewTLSConfig(t)
	srv := &smtptest.Server{TLSConfig: serverTLS, Implicit: true, User: "mailer", Pass: "pw"}
	srv.Start(t)
	s := newSender(t, srv, &tls.Config{RootCAs: roots}, func(c *Config) { c.TLS, c.Username, c.Password = TLSImplicit, "mailer", "pw" })
	if _, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com", Title: "hi", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS {
		t.Fatalf("received %+v", got)
	}
}

// Credentials are never sent to a server that offers no TLS, and a
// certificate that does not verify stops the send.
func TestRefusesInsecureAuth(t *testing.T) {
	treatLoopbackAsRemote(t)
	serverTLS, roots := smtptest.NewTLSConfig(t)
	plain := &smtptest.Server{User: "mailer", Pass: "pw"}
	plain.Start(t)
	s := newSender(t, plain, &tls.Config{RootCAs: roots}, func(c *Config) { c.Username, c.Password = "mailer", "pw" })
	if _, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com", Body: "x"}); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("auth over plain text: %v", err)
	}
	required := newSender(t, plain, nil, func(c *Config) { c.TLS = TLSStartTLS })
	if _, err := required.Send(context.Background(), notify.Message{Destination: "a@example.com", Body: "x"}); err == nil {
		t.Fatal("starttls mode sent without TLS")
	}
	untrusted := &smtptest.Server{TLSConfig: serverTLS, StartTLS: true}
	untrusted.Start(t)
	s = newSender(t, untrusted, nil, nil) // system roots: our test CA is unknown
	if _, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com", Body: "x"}); err == nil {
		t.Fatal("sent over TLS with an unverified certificate")
	}
	if len(plain.Messages())+len(untrusted.Messages()) != 0 {
		t.Fatal("a message went through")
	}
}

func TestReplyClasses(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  error
	}{
		{"550 5.1.1 no such user", notify.ErrRejected},
		{"451 4.3.0 try again later", notify.ErrTemporary},
	} {
		srv := &smtptest.Server{RcptReply: c.reply}
		srv.Start(t)
		s := newSender(t, srv, nil, func(cfg *Config) { cfg.TLS = TLSNone })
		_, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com", Body: "x"})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.reply[:3]) {
			t.Errorf("RCPT %q: %v, want %v", c.reply, err, c.want)
		}
	}
	s, _ := New(Config{Host: "127.0.0.1", Port: 1, From: "a@example.com", TLS: TLSNone})
	if _, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com"}); !errors.Is(err, notify.ErrTemporary) {
		t.Errorf("connection refused: %v", err)
	}
}

func TestDestinationsAndHeadersAreSafe(t *testing.T) {
	srv := &smtptest.Server{}
	srv.Start(t)
	s := newSender(t, srv, nil, func(c *Config) { c.TLS = TLSNone })
	for _, bad := range []string{"", "nobody", "a@example.com\r\nBcc: victim@example.com", "a@example.com, b@example.com"} {
		if _, err := s.Send(context.Background(), notify.Message{Destination: bad}); !errors.Is(err, notify.ErrInvalidDestination) {
			t.Errorf("destination %q: %v", bad, err)
		}
	}
	if _, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com", Title: "hi\r\nBcc: victim@example.com", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m, _ := parse(t, got[0].Data)
	if m.Header.Get("Bcc") != "" || !strings.Contains(m.Header.Get("Subject"), "Bcc") {
		t.Fatalf("title injected a header: %v", m.Header)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{From: "nope", TLS: "sometimes", Port: 70000, Username: "u"})
	for _, want := range []string{"Host", "From", "TLS mode", "Port", "Username and Password"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
