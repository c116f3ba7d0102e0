// Package smtptest is an SMTP server (RFC 5321) for tests that behaves as
// a real submission server would: EHLO lists its extensions, STARTTLS
// upgrades the connection, AUTH PLAIN checks credentials and is refused
// before TLS, DATA is dot-unstuffed. Scripted replies simulate rejections.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the SMTP server; set its fields, then Start it.
type Server struct {
	TLSConfig *tls.Config
	Implicit  bool // TLS from the first byte
	StartTLS  bool // offer STARTTLS
	User      string
	Pass      string
	RcptReply string // e.g. "550 5.1.1 no such user"; empty accepts

	ln       net.Listener
	mu       sync.Mutex
	received []Message
}

// Message is one accepted message.
type Message struct {
	From, To string
	Data     string
	TLS      bool // the message travelled over TLS
	Authed   bool
}

// NewTLSConfig makes a self-signed certificate for mail.test, localhost
// and 127.0.0.1, and the pool that trusts it.
func NewTLSConfig(t testing.TB) (server *tls.Config, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		DNSNames: []string{"mail.test", "localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}

// Start listens on a free loopback port until the test ends.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Implicit {
		ln = tls.NewListener(ln, s.TLSConfig)
	}
	s.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
}

// Port is the listening port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Messages returns what was accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, isTLS := c.(*tls.Conn)
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	reply("220 mail.test ESMTP ready")
	var cur Message
	authed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			ext := []string{"250-mail.test", "250-8BITMIME"}
			if s.StartTLS && !isTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if s.User != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SIZE 10240000")
			reply(ext...)
		case "STARTTLS":
			if !s.StartTLS || isTLS {
				reply("503 5.5.1 STARTTLS not available")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.TLSConfig)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			cur, authed = Message{}, false // RFC 3207: forget everything
		case "AUTH":
			if !isTLS {
				reply("538 5.7.11 encryption required for requested authentication mechanism")
				continue
			}
			f := strings.Fields(line)
			if len(f) != 3 || strings.ToUpper(f[1]) != "PLAIN" {
				reply("504 5.5.4 unrecognised authentication type")
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(f[2])
			if string(raw) != "\x00"+s.User+"\x00"+s.Pass {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			authed = true
			reply("235 2.7.0 authentication successful")
		case "MAIL":
			if s.User != "" && !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur = Message{From: angleAddr(line), TLS: isTLS, Authed: authed}
			reply("250 2.1.0 ok")
		case "RCPT":
			if s.RcptReply != "" {
				reply(s.RcptReply)
				continue
			}
			cur.To = angleAddr(line)
			reply("250 2.1.5 ok")
		case "DATA":
			if cur.To == "" {
				reply("503 5.5.1 RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			cur.Data = data.String()
			s.mu.Lock()
			s.received = append(s.received, cur)
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case "RSET":
			cur = Message{}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognised")
		}
	}
}

// angleAddr returns the <path> of a MAIL or RCPT command (parameters such
// as BODY=8BITMIME follow it).
func angleAddr(line string) string {
	i, j := strings.IndexByte(line, '<'), strings.IndexByte(line, '>')
	if i < 0 || j < i {
		return ""
	}
	return line[i+1 : j]
}
