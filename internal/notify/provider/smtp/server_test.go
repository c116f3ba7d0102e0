package smtp

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

// testServer is a small SMTP server (RFC 5321) that behaves as a real
// submission server would: EHLO lists its extensions, STARTTLS upgrades
// the connection, AUTH PLAIN checks credentials and is refused before TLS,
// DATA is dot-unstuffed. Scripted replies simulate rejections.
type testServer struct {
	ln        net.Listener
	tlsConfig *tls.Config
	implicit  bool // TLS from the first byte
	startTLS  bool // offer STARTTLS
	user      string
	pass      string
	rcptReply string // e.g. "550 5.1.1 no such user"; empty accepts

	mu       sync.Mutex
	received []received
}

type received struct {
	from, to string
	data     string
	tls      bool // the message travelled over TLS
	authed   bool
}

func newTLSConfig(t *testing.T) (server *tls.Config, roots *x509.CertPool) {
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

func (s *testServer) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.implicit {
		ln = tls.NewListener(ln, s.tlsConfig)
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

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *testServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

func (s *testServer) serve(c net.Conn) {
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
	var cur received
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
			if s.startTLS && !isTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if s.user != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SIZE 10240000")
			reply(ext...)
		case "STARTTLS":
			if !s.startTLS || isTLS {
				reply("503 5.5.1 STARTTLS not available")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.tlsConfig)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			cur, authed = received{}, false // RFC 3207: forget everything
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
			if string(raw) != "\x00"+s.user+"\x00"+s.pass {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			authed = true
			reply("235 2.7.0 authentication successful")
		case "MAIL":
			if s.user != "" && !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur = received{from: angleAddr(line), tls: isTLS, authed: authed}
			reply("250 2.1.0 ok")
		case "RCPT":
			if s.rcptReply != "" {
				reply(s.rcptReply)
				continue
			}
			cur.to = angleAddr(line)
			reply("250 2.1.5 ok")
		case "DATA":
			if cur.to == "" {
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
			cur.data = data.String()
			s.mu.Lock()
			s.received = append(s.received, cur)
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case "RSET":
			cur = received{}
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
