package realtime

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"
)

// maskedFrame is a client frame as a browser sends it.
func maskedFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		out = append(out, 0x80|byte(n))
	case n <= 0xFFFF:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	mask := []byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, mask...)
	for i, c := range payload {
		out = append(out, c^mask[i&3])
	}
	return out
}

func TestParseFrame(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	for _, c := range []struct {
		name  string
		in    []byte
		op    byte
		want  []byte
		isErr bool
	}{
		{"short text", maskedFrame(true, opText, []byte(`{"type":"ping"}`)), opText, []byte(`{"type":"ping"}`), false},
		{"16-bit length", maskedFrame(true, opText, long), opText, long, false},
		{"ping", maskedFrame(true, opPing, []byte("hi")), opPing, []byte("hi"), false},
		{"unmasked", []byte{0x81, 0x01, 'x'}, 0, nil, true},
		{"reserved bits", append([]byte{0xC1}, maskedFrame(true, opText, []byte("x"))[1:]...), 0, nil, true},
		{"unknown opcode", maskedFrame(true, 0x3, nil), 0, nil, true},
		{"fragmented control", maskedFrame(false, opPing, nil), 0, nil, true},
		{"control too long", maskedFrame(true, opPong, long), 0, nil, true},
		{"over the limit", maskedFrame(true, opText, bytes.Repeat([]byte("x"), MaxClientFrameBytes+1)), 0, nil, true},
	} {
		f, n, err := parseFrame(append([]byte(nil), c.in...), MaxClientFrameBytes)
		if c.isErr {
			if err == nil {
				t.Errorf("%s: parsed %+v", c.name, f)
			}
			continue
		}
		if err != nil || n != len(c.in) || f.op != c.op || !bytes.Equal(f.payload, c.want) {
			t.Errorf("%s: %+v n=%d err=%v", c.name, f, n, err)
		}
		// Every strict prefix is "not yet a frame", never an error.
		for i := range len(c.in) {
			if _, n, err := parseFrame(append([]byte(nil), c.in[:i]...), MaxClientFrameBytes); n != 0 || err != nil {
				t.Fatalf("%s: prefix of %d bytes: n=%d err=%v", c.name, i, n, err)
			}
		}
	}
}

// The parser never panics, never claims more bytes than it was given, and
// never returns a payload over the limit.
func FuzzParseFrame(f *testing.F) {
	f.Add(maskedFrame(true, opText, []byte(`{"type":"ping"}`)))
	f.Add(maskedFrame(false, opContinuation, []byte("abc")))
	f.Add([]byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 10})
	f.Add([]byte{0x88, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		fr, n, err := parseFrame(in, 64)
		if err != nil {
			return
		}
		if n < 0 || n > len(b) || len(fr.payload) > 64 {
			t.Fatalf("n=%d of %d bytes, payload %d", n, len(b), len(fr.payload))
		}
	})
}

func TestUpgradeKeyRefusals(t *testing.T) {
	good := func() *http.Request {
		r := httptest.NewRequest("GET", "http://chat.example/ws", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		return r
	}
	if key, _, err := upgradeKey(good(), nil); err != nil || acceptKey(key) != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("RFC 6455's example: %q %v", acceptKey(key), err)
	}
	for _, c := range []struct {
		name   string
		edit   func(r *http.Request)
		status int
	}{
		{"POST", func(r *http.Request) { r.Method = "POST" }, 405},
		{"no upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, 426},
		{"old version", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 400},
		{"short key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, 400},
		{"foreign origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403},
	} {
		r := good()
		c.edit(r)
		if _, status, err := upgradeKey(r, nil); err == nil || status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, status, err, c.status)
		}
	}
	r := good()
	r.Header.Set("Origin", "https://chat.example")
	if _, _, err := upgradeKey(r, nil); err != nil {
		t.Errorf("same origin refused: %v", err)
	}
	r.Header.Set("Origin", "https://app.partner.example")
	if _, _, err := upgradeKey(r, []string{"*.partner.example"}); err != nil {
		t.Errorf("allowed origin refused: %v", err)
	}
}

func TestClosePayloadFits(t *testing.T) {
	p := closePayload(4000, string(bytes.Repeat([]byte("é"), 100)))
	if len(p) > maxControlPayload || binary.BigEndian.Uint16(p) != 4000 {
		t.Fatalf("close payload of %d bytes", len(p))
	}
}
