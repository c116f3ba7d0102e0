package realtime

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// This file is the WebSocket wire protocol (RFC 6455) as the server side
// needs it: the opening handshake and frames. It keeps no state beyond a
// parser's position, so the connection code can hold a connection with a
// few hundred bytes while idle.

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// wsGUID is the RFC 6455 constant of the accept key.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxControlPayload is RFC 6455's bound on control frame payloads.
const maxControlPayload = 125

// errProtocol is a client breaking RFC 6455; the connection closes with
// 1002.
var errProtocol = errors.New("websocket protocol error")

// upgradeKey checks r is a WebSocket opening handshake we accept and
// returns its Sec-WebSocket-Key, or an error that says what is wrong.
func upgradeKey(r *http.Request, originPatterns []string) (string, int, error) {
	if r.Method != http.MethodGet {
		return "", http.StatusMethodNotAllowed, errors.New("a WebSocket opens with GET")
	}
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") {
		return "", http.StatusUpgradeRequired, errors.New("this endpoint speaks WebSocket: send Connection: Upgrade and Upgrade: websocket")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return "", http.StatusBadRequest, errors.New("only WebSocket version 13 is supported")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		return "", http.StatusBadRequest, errors.New("Sec-WebSocket-Key must be 16 bytes in base64")
	}
	if err := checkOrigin(r, originPatterns); err != nil {
		return "", http.StatusForbidden, err
	}
	return key, 0, nil
}

// checkOrigin allows a browser to connect from our own origin, or one of
// patterns (host globs, as in path.Match); non-browser clients send none.
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("the Origin %q is not a URL", origin)
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return nil
		}
	}
	return fmt.Errorf("connections from %s are not allowed", u.Host)
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// acceptKey is the Sec-WebSocket-Accept answer to key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// appendFrame appends one unmasked server frame.
func appendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// closePayload is a close frame's body: the code and a reason cut to fit.
func closePayload(code uint16, reason string) []byte {
	if len(reason) > maxControlPayload-2 {
		reason = reason[:maxControlPayload-2]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), code)
	return append(b, reason...)
}

// clientFrame is one frame as a client sent it, unmasked.
type clientFrame struct {
	fin     bool
	op      byte
	payload []byte // aliases the parser's input
}

// parseFrame reads one client frame from the front of b. It returns the
// frame and the bytes it used, or n == 0 when b holds only part of a
// frame. Client frames must be masked; a payload over limit is an error,
// so a client cannot make the server buffer more than limit per frame.
// The payload is unmasked in place.
func parseFrame(b []byte, limit int) (f clientFrame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	if b[0]&0x70 != 0 {
		return f, 0, fmt.Errorf("%w: reserved bits set (no extension was agreed)", errProtocol)
	}
	f.fin, f.op = b[0]&0x80 != 0, b[0]&0x0F
	if b[1]&0x80 == 0 {
		return f, 0, fmt.Errorf("%w: client frames must be masked", errProtocol)
	}
	size, pos := uint64(b[1]&0x7F), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return f, 0, nil
		}
		size, pos = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return f, 0, nil
		}
		size, pos = binary.BigEndian.Uint64(b[2:]), 10
	}
	switch f.op {
	case opClose, opPing, opPong:
		if !f.fin || size > maxControlPayload {
			return f, 0, fmt.Errorf("%w: control frames are whole and at most 125 bytes", errProtocol)
		}
	case opText, opBinary, opContinuation:
	default:
		return f, 0, fmt.Errorf("%w: unknown opcode %d", errProtocol, f.op)
	}
	if size > uint64(limit) {
		return f, 0, fmt.Errorf("frame larger than %d bytes", limit)
	}
	if len(b) < pos+4+int(size) {
		return f, 0, nil
	}
	mask := b[pos : pos+4]
	pos += 4
	f.payload = b[pos : pos+int(size)]
	for i := range f.payload {
		f.payload[i] ^= mask[i&3]
	}
	return f, pos + int(size), nil
}
