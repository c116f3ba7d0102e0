package realtime_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
)

// rawWS is a hand-driven WebSocket client, for what a library client will
// not do: stay silent, fragment, send oversized or broken frames.
type rawWS struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dialRaw(t *testing.T, srv *httptest.Server, user, query string) *rawWS {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /ws" + query + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-User: " + user + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawWS{t: t, c: c, rd: rd}
}

func (w *rawWS) send(fin bool, op byte, payload []byte) {
	w.t.Helper()
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	if n := len(payload); n <= 125 {
		out = append(out, 0x80|byte(n))
	} else {
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	}
	mask := []byte{1, 2, 3, 4}
	out = append(out, mask...)
	for i, c := range payload {
		out = append(out, c^mask[i&3])
	}
	if _, err := w.c.Write(out); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next server frame's opcode and payload.
func (w *rawWS) read() (byte, []byte, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(w.rd, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("server frames must not be masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.rd, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.rd, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(w.rd, p)
	return h[0] & 0x0F, p, err
}

// closeCode reads frames until a close frame and returns its code.
func (w *rawWS) closeCode() uint16 {
	w.t.Helper()
	for {
		op, p, err := w.read()
		if err != nil {
			w.t.Fatalf("no close frame: %v", err)
		}
		if op == 0x8 {
			if len(p) < 2 {
				return 1005
			}
			return binary.BigEndian.Uint16(p)
		}
	}
}

func TestWebSocketProtocolDetails(t *testing.T) {
	h := newHub(t, 64, members{"ada": {"t"}})
	srv := wsServer(t, h, nil)

	// A message in three fragments is one message; a protocol ping gets
	// its payload back in a pong, even between fragments.
	w := dialRaw(t, srv, "ada", "?topics=t")
	w.send(false, 0x1, []byte(`{"ty`))
	w.send(true, 0x9, []byte("are you there"))
	w.send(false, 0x0, []byte(`pe":"pi`))
	w.send(true, 0x0, []byte(`ng"}`))
	if op, p, err := w.read(); err != nil || op != 0xA || string(p) != "are you there" {
		t.Fatalf("pong: %d %q %v", op, p, err)
	}
	if op, p, err := w.read(); err != nil || op != 0x1 || string(p) != `{"type":"pong"}` {
		t.Fatalf("answer to a fragmented ping: %d %q %v", op, p, err)
	}
	// Events published meanwhile come as text frames.
	publish(t, h, "t", 2)
	for i := range 2 {
		if op, p, err := w.read(); err != nil || op != 0x1 || !strings.Contains(string(p), `"offset":`+string(rune('1'+i))) {
			t.Fatalf("event %d: %d %q %v", i, op, p, err)
		}
	}
	// A close is answered with a close.
	w.send(true, 0x8, []byte{0x03, 0xE8})
	if code := w.closeCode(); code != 1000 {
		t.Fatalf("close answered with %d", code)
	}

	// Oversized, unmasked, binary and non-UTF-8 frames end the connection
	// with the code that says why.
	for _, c := range []struct {
		name string
		send func(w *rawWS)
		code uint16
	}{
		{"oversized", func(w *rawWS) { w.send(true, 0x1, []byte(strings.Repeat("x", realtime.MaxClientFrameBytes+1))) }, 1009},
		{"binary", func(w *rawWS) { w.send(true, 0x2, []byte("x")) }, uint16(realtime.CloseBadFrame)},
		{"bad UTF-8", func(w *rawWS) { w.send(true, 0x1, []byte{0xff, 0xfe}) }, 1007},
		{"continuation first", func(w *rawWS) { w.send(true, 0x0, []byte("x")) }, 1002},
		{"unmasked", func(w *rawWS) { _, _ = w.c.Write([]byte{0x81, 0x01, 'x'}) }, 1002},
	} {
		w := dialRaw(t, srv, "ada", "?topics=t")
		c.send(w)
		if code := w.closeCode(); code != c.code {
			t.Errorf("%s: closed with %d, want %d", c.name, code, c.code)
		}
	}
}

// A peer that stops answering pings is closed, and its connection let go.
func TestWebSocketDeadPeerIsClosed(t *testing.T) {
	h := newHub(t, 64, members{"ada": {"t"}})
	auth := func(r *http.Request) (realtime.Principal, error) {
		return realtime.Principal{UserID: r.Header.Get("X-User")}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", realtime.WSHandler(realtime.WSConfig{Hub: h, Authenticate: auth, PingInterval: time.Second}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w := dialRaw(t, srv, "ada", "?topics=t")
	pings := 0
	for {
		op, _, err := w.read() // never answered
		if err != nil {
			break
		}
		if op == 0x9 {
			pings++
		}
	}
	if pings == 0 {
		t.Fatal("closed without being pinged")
	}
	for range 100 {
		if h.Connections() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d connections still held after the peer was closed", h.Connections())
}
