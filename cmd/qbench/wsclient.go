package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// wsConn is a lean WebSocket client: one goroutine (the caller's) reads,
// with a small buffer and no per-message allocation, so one generator
// process can hold thousands of connections without becoming the
// bottleneck. It speaks just enough of RFC 6455 for our servers: text
// messages (possibly fragmented), ping/pong and close, no extensions.
type wsConn struct {
	nc net.Conn
	br *bufio.Reader

	wmu sync.Mutex // serialises writes (pongs from the reader, client frames from others)
	wb  []byte     // write scratch; caller holds wmu

	frag []byte // a fragmented message being assembled

	closeCode int // the server's close code, once it sent one
	closeText string
}

// wsReadBuffer is per connection: server frames are a few hundred bytes,
// and larger ones are assembled outside the buffer.
const wsReadBuffer = 2048

// maxMessage bounds what the client accepts (our frames are small).
const maxMessage = 1 << 20

var errWSClosed = errors.New("websocket closed by the server")

// dialWS opens a WebSocket to http://hostport+path from local (nil: any).
func dialWS(ctx context.Context, local *net.TCPAddr, hostport, path string) (*wsConn, error) {
	d := net.Dialer{LocalAddr: local}
	if local == nil {
		d.LocalAddr = nil // a nil *TCPAddr in the interface would not be nil
	}
	nc, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + hostport +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	br := bufio.NewReaderSize(nc, wsReadBuffer)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		nc.Close()
		return nil, fmt.Errorf("handshake: %s: %s", resp.Status, body)
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		nc.Close()
		return nil, errors.New("handshake: wrong Sec-WebSocket-Accept")
	}
	_ = nc.SetDeadline(time.Time{})
	return &wsConn{nc: nc, br: br}, nil
}

func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Close drops the TCP connection without a closing handshake (what a
// client does when its network goes away).
func (w *wsConn) Close() error { return w.nc.Close() }

// writeFrame sends one masked frame (clients must mask).
func (w *wsConn) writeFrame(op byte, payload []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	b := w.wb[:0]
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], mrand.Uint32())
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range b[start:] {
		b[start+i] ^= mask[i&3]
	}
	w.wb = b
	_, err := w.nc.Write(b)
	return err
}

// WriteText sends one text message.
func (w *wsConn) WriteText(p []byte) error { return w.writeFrame(0x1, p) }

// ReadMessage returns the next text or binary message; the slice is valid
// until the next call. Pings are answered, pongs skipped; a close frame
// ends the connection with errWSClosed (code in closeCode).
func (w *wsConn) ReadMessage() ([]byte, error) {
	w.frag = w.frag[:0]
	for range 1 << 20 { // bounded: control frames between fragments
		fin, op, p, err := w.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x8: // close
			if len(p) >= 2 {
				w.closeCode = int(binary.BigEndian.Uint16(p))
				w.closeText = string(p[2:])
			}
			_ = w.writeFrame(0x8, p[:min(len(p), 2)])
			return nil, errWSClosed
		case 0x9: // ping
			if err := w.writeFrame(0xA, append([]byte(nil), p...)); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		case 0x0, 0x1, 0x2:
		default:
			return nil, fmt.Errorf("unknown opcode %d", op)
		}
		if fin && len(w.frag) == 0 && op != 0x0 {
			return p, nil // the common case: a whole message, no copy
		}
		if len(w.frag)+len(p) > maxMessage {
			return nil, errors.New("message too large")
		}
		w.frag = append(w.frag, p...)
		if fin {
			return w.frag, nil
		}
	}
	return nil, errors.New("too many frames without a message")
}

// readFrame reads one frame; the payload is valid until the next read.
func (w *wsConn) readFrame() (fin bool, op byte, payload []byte, err error) {
	h, err := w.br.Peek(2)
	if err != nil {
		return false, 0, nil, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	masked, n := h[1]&0x80 != 0, uint64(h[1]&0x7f)
	hl := 2
	switch n {
	case 126:
		hl = 4
	case 127:
		hl = 10
	}
	if masked {
		hl += 4
	}
	h, err = w.br.Peek(hl)
	if err != nil {
		return false, 0, nil, err
	}
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		n = binary.BigEndian.Uint64(h[2:10])
	}
	if n > maxMessage {
		return false, 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	var mask [4]byte
	if masked {
		copy(mask[:], h[hl-4:hl])
	}
	_, _ = w.br.Discard(hl)
	if int(n) <= w.br.Size() {
		// Zero copy: the payload stays in the read buffer until the next
		// Peek.
		payload, err = w.br.Peek(int(n))
		if err != nil {
			return false, 0, nil, err
		}
		_, _ = w.br.Discard(int(n))
	} else {
		payload = make([]byte, n)
		if _, err := io.ReadFull(w.br, payload); err != nil {
			return false, 0, nil, err
		}
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i&3]
		}
	}
	return fin, op, payload, nil
}
