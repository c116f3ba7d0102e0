// Package smtp sends notification email over SMTP (RFC 5321) with STARTTLS
// or implicit TLS and AUTH PLAIN, as NOTIFY_EMAIL_PROVIDER=smtp.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// TLS modes.
const (
	TLSAuto     = "auto"     // implicit on port 465, else STARTTLS when offered (required with credentials)
	TLSStartTLS = "starttls" // STARTTLS required
	TLSImplicit = "implicit" // TLS from the first byte
	TLSNone     = "none"     // never (credentials refused unless the host is loopback)
)

// Config configures the sender.
type Config struct {
	Host     string
	Port     int // 587 when 0 (465 for implicit TLS)
	Username string
	Password string // secret
	From     string // RFC 5322 address
	TLS      string // a TLS* mode; TLSAuto when empty
	// TLSConfig overrides the TLS client settings (tests pass RootCAs).
	TLSConfig *tls.Config
	HeloName  string        // "localhost" when empty
	Timeout   time.Duration // whole-conversation bound; 30 s when 0
}

// Sender implements notify.Sender over SMTP.
type Sender struct {
	cfg  Config
	from *mail.Address
}

// New validates cfg.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.Host == "" {
		errs = append(errs, errors.New("the Host is required"))
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		errs = append(errs, fmt.Errorf("the From address %q is not an email address", cfg.From))
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSAuto
	case TLSAuto, TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("the TLS mode %q is not auto, starttls, implicit or none", cfg.TLS))
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("the Port %d is out of range", cfg.Port))
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("the Username and Password go together"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smtp: %w", errors.Join(errs...))
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Sender{cfg: cfg, from: from}, nil
}

// Provider implements notify.Sender.
func (s *Sender) Provider() string { return "smtp" }

// Send implements notify.Sender: one connection per message, which keeps
// failures independent; a busy deployment puts a relay in front.
func (s *Sender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	to, err := mail.ParseAddress(m.Destination)
	if err != nil || strings.ContainsAny(m.Destination, "\r\n") {
		return notify.Result{}, notify.Errorf(notify.ErrInvalidDestination, 0, "not an email address")
	}
	msgID := s.messageID()
	msg := buildMessage(s.from, to, m.Title, m.Body, msgID, time.Now())

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return notify.Result{}, notify.Errorf(notify.ErrTemporary, 0, "smtp: connect to %s: %v", s.addr(), err)
	}
	// The deadline also bounds every command of the conversation.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		_ = conn.Close()
		return notify.Result{}, classify("greeting", err)
	}
	defer c.Close()
	if err := s.converse(c, to.Address, msg); err != nil {
		return notify.Result{}, err
	}
	return notify.Result{ReceiptID: msgID}, nil
}

func (s *Sender) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

func (s *Sender) tlsConfig() *tls.Config {
	if s.cfg.TLSConfig != nil {
		c := s.cfg.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = s.cfg.Host
		}
		return c
	}
	return &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
}

func (s *Sender) implicit() bool {
	return s.cfg.TLS == TLSImplicit || (s.cfg.TLS == TLSAuto && s.cfg.Port == 465)
}

func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.implicit() {
		return (&tls.Dialer{NetDialer: d, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.addr())
	}
	return d.DialContext(ctx, "tcp", s.addr())
}

// converse runs EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA and QUIT.
func (s *Sender) converse(c *smtp.Client, to string, msg []byte) error {
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return classify("EHLO", err)
	}
	if !s.implicit() && s.cfg.TLS != TLSNone {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return classify("STARTTLS", err)
			}
		} else if s.cfg.TLS == TLSStartTLS || s.cfg.Username != "" {
			// Never send a password in the clear to a server that did
			// not offer TLS (it may be an attacker stripping STARTTLS).
			return notify.Errorf(notify.ErrTemporary, 0, "smtp: %s offers no STARTTLS; refusing to continue without TLS", s.cfg.Host)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return notify.Errorf(notify.ErrRejected, 0, "smtp: %s offers no AUTH", s.cfg.Host)
		}
		if err := c.Auth(plainAuth{user: s.cfg.Username, pass: s.cfg.Password, host: s.cfg.Host}); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("end of DATA", err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// plainAuth is AUTH PLAIN (RFC 4616) that refuses to run without TLS,
// except to a loopback host (a local relay).
type plainAuth struct{ user, pass, host string }

func (a plainAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	if !info.TLS && !isLoopback(a.host) {
		return "", nil, errors.New("refusing AUTH PLAIN without TLS")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// isLoopback is a variable so tests can treat 127.0.0.1 as a remote host.
var isLoopback = func(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// classify maps SMTP replies to the engine's classes: 4xx temporary, 5xx
// rejected; anything else (I/O, TLS) temporary.
func classify(stage string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		class := notify.ErrTemporary
		if te.Code >= 500 {
			class = notify.ErrRejected
		}
		return notify.Errorf(class, 0, "smtp %s: %d %s", stage, te.Code, notify.Short(te.Msg))
	}
	return notify.Errorf(notify.ErrTemporary, 0, "smtp %s: %v", stage, err)
}

func (s *Sender) messageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	domain := "localhost"
	if at := strings.LastIndexByte(s.from.Address, '@'); at >= 0 {
		domain = s.from.Address[at+1:]
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}
