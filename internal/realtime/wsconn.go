package realtime

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// WebSocket close codes of RFC 6455 that the server sends.
const (
	closeNormal    = 1000
	closeGoingAway = 1001
	closeProtocol  = 1002
	closeBadData   = 1007
	closeTooBig    = 1009
)

// Per-connection bounds beyond the hub's frame queue.
const (
	// writeTimeout closes a peer whose socket takes nothing for this long.
	writeTimeout = 10 * time.Second
	// closeTimeout ends a connection whose close frame the peer has not
	// let through (it stopped reading).
	closeTimeout = 5 * time.Second
	readChunk    = 4 << 10
)

// bufPool holds the read and write buffers, shared by all connections:
// only a connection in the middle of a read or write holds one.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, readChunk); return &b }}

// framePool holds the slices flush takes queued frames into.
var framePool = sync.Pool{New: func() any { return new([]Frame) }}

// wsConn is one WebSocket connection served by the engine.
type wsConn struct {
	e    *wsEngine
	cfg  *WSConfig
	net  net.Conn
	raw  syscall.RawConn // nil: read by a goroutine (not a TCP socket, or no epoll)
	fd   int
	hub  *Conn
	p    Principal
	born time.Time

	lastRead    atomic.Int64 // unix nanoseconds of the last bytes from the peer
	writeQueued atomic.Bool

	rmu   sync.Mutex // one reader at a time
	rbuf  []byte     // part of a frame carried to the next read; nil when none
	msg   []byte     // a fragmented message being put together
	msgOp byte

	wmu        sync.Mutex
	ctrl       []byte    // control frames and replies, sent before events
	pending    []byte    // bytes the socket did not take yet
	stuckSince time.Time // when pending last stopped shrinking
	closing    time.Time // a close frame is queued; zero while open
	closed     bool

	emu     sync.Mutex // orders epoll re-arms
	wantOut bool
}

// serveConn takes over a hijacked connection whose handshake answer has
// been written; buffered holds bytes the client sent after its request.
func (e *wsEngine) serveConn(cfg *WSConfig, nc net.Conn, buffered []byte, hub *Conn) {
	c := &wsConn{e: e, cfg: cfg, net: nc, hub: hub, p: hub.Principal(), born: time.Now()}
	c.lastRead.Store(time.Now().UnixNano())
	if len(buffered) > 0 {
		c.rmu.Lock()
		open := c.onData(buffered)
		c.rmu.Unlock()
		if !open {
			return
		}
	}
	if cfg.Presence != nil {
		cfg.Presence.Connected(c.p.TenantID, c.p.UserID)
	}
	hub.Notify(func() { e.schedule(c, true) })
	if tc, ok := isTCP(nc); ok && e.epoll != nil {
		if raw, err := tc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { c.fd = int(fd) })
			c.raw = raw
			if err := e.epoll.add(c); err != nil {
				c.raw = nil
			}
		}
	}
	if c.raw == nil {
		go c.readLoop()
	}
	e.wheel.at(c, time.Now().Add(cfg.PingInterval))
	if hub.Queued() > 0 {
		c.e.schedule(c, true) // replayed on subscribe, before Notify was set
	}
}

// readReady reads what the socket has (the poller said it is readable).
func (c *wsConn) readReady() {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:readChunk]
	var n int
	var rerr error
	if err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), buf)
		return true // never wait: the poller says when to come back
	}); err != nil {
		rerr = err
	}
	switch {
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR):
		c.arm()
		return
	case rerr != nil || n <= 0:
		c.terminate(ReasonClient) // the peer went away
		return
	}
	if c.onData(buf[:n]) {
		c.arm()
	}
}

// readLoop reads a socket the poller cannot watch, with a goroutine of its
// own.
func (c *wsConn) readLoop() {
	buf := make([]byte, readChunk)
	for {
		n, err := c.net.Read(buf)
		if n > 0 {
			c.rmu.Lock()
			ok := c.onData(buf[:n])
			c.rmu.Unlock()
			if !ok {
				return
			}
		}
		if err != nil {
			c.terminate(ReasonClient)
			return
		}
	}
}

// onData handles bytes from the peer; the caller holds rmu. It reports
// whether the connection stays open for reading.
func (c *wsConn) onData(b []byte) bool {
	c.lastRead.Store(time.Now().UnixNano())
	data := b
	if c.rbuf != nil {
		data = append(c.rbuf, b...)
		c.rbuf = nil
	}
	for len(data) > 0 {
		f, n, err := parseFrame(data, MaxClientFrameBytes)
		if err != nil {
			code := uint16(closeProtocol)
			if !errors.Is(err, errProtocol) {
				code = closeTooBig
			}
			c.fail(code, err.Error())
			return false
		}
		if n == 0 {
			if len(data) > MaxClientFrameBytes+14 {
				c.fail(closeTooBig, fmt.Sprintf("frame larger than %d bytes", MaxClientFrameBytes))
				return false
			}
			c.rbuf = append([]byte(nil), data...) // keep only the partial frame
			return true
		}
		data = data[n:]
		if !c.onFrame(f) {
			return false
		}
	}
	return true
}

// onFrame handles one frame; it reports whether to keep reading.
func (c *wsConn) onFrame(f clientFrame) bool {
	switch f.op {
	case opPing:
		c.control(appendFrame(nil, opPong, f.payload))
	case opPong:
	case opClose:
		// Answer with the peer's code (or a normal close) and end.
		code := uint16(closeNormal)
		if len(f.payload) >= 2 {
			code = uint16(f.payload[0])<<8 | uint16(f.payload[1])
		}
		c.closeWith(code, "")
		c.hub.Close(ReasonClient)
		return false
	case opText, opBinary:
		if c.msg != nil {
			c.fail(closeProtocol, "a new message began before the last one ended")
			return false
		}
		if !f.fin {
			c.msg, c.msgOp = append([]byte(nil), f.payload...), f.op
			return true
		}
		return c.onMessage(f.op, f.payload)
	case opContinuation:
		if c.msg == nil {
			c.fail(closeProtocol, "a continuation frame with no message to continue")
			return false
		}
		if len(c.msg)+len(f.payload) > MaxClientFrameBytes {
			c.fail(closeTooBig, fmt.Sprintf("message larger than %d bytes", MaxClientFrameBytes))
			return false
		}
		c.msg = append(c.msg, f.payload...)
		if f.fin {
			msg, op := c.msg, c.msgOp
			c.msg = nil
			return c.onMessage(op, msg)
		}
	}
	return true
}

// onMessage handles one whole client message: the frames of ClientFrame.
func (c *wsConn) onMessage(op byte, b []byte) bool {
	if op == opBinary {
		c.fail(uint16(CloseBadFrame), "binary frames are not accepted")
		return false
	}
	if !utf8.Valid(b) {
		c.fail(closeBadData, "text frames must be UTF-8")
		return false
	}
	f, err := DecodeClientFrame(b)
	if err != nil {
		c.fail(uint16(CloseBadFrame), err.Error())
		return false
	}
	switch f.Type {
	case "ping":
		c.control(appendFrame(nil, opText, []byte(`{"type":"pong"}`)))
	case "typing":
		if c.cfg.Presence != nil && subscribed(c.hub, f.Topic) {
			c.cfg.Presence.Typing(c.p.TenantID, c.p.UserID, f.Topic)
		}
	case "presence":
		if c.cfg.Presence != nil {
			_ = c.cfg.Presence.SetStatus(c.p.TenantID, c.p.UserID, f.Status)
		}
	}
	return true
}

// control queues a frame ahead of events and schedules a write.
func (c *wsConn) control(frame []byte) {
	c.wmu.Lock()
	c.ctrl = append(c.ctrl, frame...)
	c.wmu.Unlock()
	c.e.schedule(c, true)
}

// fail closes the connection with code and reason, for a peer that broke
// the protocol.
func (c *wsConn) fail(code uint16, reason string) {
	c.closeWith(code, reason)
	c.hub.Close(ReasonClient)
}

// closeWith queues the close frame (once) and schedules the write that
// sends it and then ends the connection.
func (c *wsConn) closeWith(code uint16, reason string) {
	c.wmu.Lock()
	if c.closing.IsZero() && !c.closed {
		c.ctrl = appendFrame(c.ctrl, opClose, closePayload(code, reason))
		c.closing = time.Now()
	}
	c.wmu.Unlock()
	c.e.schedule(c, true)
}

// closeCode is what the client is told when the hub closed the
// connection for reason.
func closeCode(reason string) uint16 {
	switch reason {
	case ReasonSlowConsumer:
		return uint16(CloseSlowConsumer)
	case ReasonShutdown:
		return closeGoingAway
	}
	return closeNormal
}

// flush writes control frames and queued events; the engine runs it when
// frames were queued or the socket has room again.
func (c *wsConn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return
	}
	if len(c.pending) > 0 && !c.writeOut(nil) {
		return // still full; the poller says when there is room
	}
	bp := bufPool.Get().(*[]byte)
	out := append((*bp)[:0], c.ctrl...)
	c.ctrl = nil
	if c.closing.IsZero() {
		fp := framePool.Get().(*[]Frame)
		frames := c.hub.Take((*fp)[:0])
		for _, f := range frames {
			b, err := frameJSON(f)
			if err != nil {
				continue // an event that is not JSON cannot be sent; the hub made it
			}
			out = appendFrame(out, opText, b)
		}
		clear(frames) // drop references to event data
		*fp = frames[:0]
		framePool.Put(fp)
		select {
		case <-c.hub.Done():
			reason := c.hub.Reason()
			out = appendFrame(out, opClose, closePayload(closeCode(reason), reason))
			c.closing = time.Now()
		default:
		}
	}
	if len(out) > 0 {
		c.writeOut(out)
	}
	*bp = out[:0]
	bufPool.Put(bp)
	if !c.closing.IsZero() && len(c.pending) == 0 {
		c.finish()
	}
}

// writeOut writes pending bytes and then b without waiting; what the
// socket does not take is kept in pending and the poller watches for room.
// It reports whether everything went out. The caller holds wmu.
func (c *wsConn) writeOut(b []byte) bool {
	if len(c.pending) > 0 {
		n, err := c.writeSome(c.pending)
		if err != nil {
			c.finish()
			return false
		}
		c.pending = c.pending[n:]
		if len(c.pending) > 0 {
			c.pending = append(c.pending, b...)
			return false
		}
		c.pending = nil
	}
	if len(b) == 0 {
		c.stuckSince = time.Time{}
		return true
	}
	n, err := c.writeSome(b)
	if err != nil {
		c.finish()
		return false
	}
	if n < len(b) {
		c.pending = append([]byte(nil), b[n:]...)
		if c.stuckSince.IsZero() {
			c.stuckSince = time.Now()
		}
		c.watchOut(true)
		return false
	}
	c.stuckSince = time.Time{}
	c.watchOut(false)
	return true
}

// writeSome writes what the socket takes now (a blocking write with a
// deadline for sockets the poller does not watch).
func (c *wsConn) writeSome(b []byte) (int, error) {
	if c.raw == nil {
		_ = c.net.SetWriteDeadline(time.Now().Add(writeTimeout))
		return c.net.Write(b)
	}
	var n int
	var werr error
	if err := c.raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true
	}); err != nil {
		return 0, err
	}
	if errors.Is(werr, syscall.EAGAIN) || errors.Is(werr, syscall.EINTR) {
		return 0, nil
	}
	if werr != nil {
		return 0, werr
	}
	return n, nil
}

// watchOut asks the poller to report when the socket has room.
func (c *wsConn) watchOut(on bool) {
	if c.raw == nil {
		return
	}
	c.emu.Lock()
	changed := c.wantOut != on
	c.wantOut = on
	c.emu.Unlock()
	if changed {
		c.arm()
	}
}

// arm re-enables the poller's one-shot report for the socket.
func (c *wsConn) arm() {
	if c.raw == nil {
		return
	}
	c.emu.Lock()
	defer c.emu.Unlock()
	c.e.epoll.arm(c, c.wantOut)
}

// check is the wheel's visit: ping a quiet peer, close a dead or stuck
// one.
func (c *wsConn) check(now time.Time) {
	interval := c.cfg.PingInterval
	c.wmu.Lock()
	closed := c.closed
	stuck := !c.stuckSince.IsZero() && now.Sub(c.stuckSince) > writeTimeout
	lingering := !c.closing.IsZero() && now.Sub(c.closing) > closeTimeout
	c.wmu.Unlock()
	if closed {
		return
	}
	quiet := now.Sub(time.Unix(0, c.lastRead.Load()))
	if stuck || lingering || quiet > 2*interval {
		c.terminate(ReasonClient) // a dead peer does not pong; a stuck one does not read
		return
	}
	if quiet >= interval {
		c.control(appendFrame(nil, opPing, nil))
	}
	c.e.wheel.at(c, now.Add(interval))
}

// terminate ends the connection at once.
func (c *wsConn) terminate(reason string) {
	c.wmu.Lock()
	c.finish()
	c.wmu.Unlock()
	c.hub.Close(reason)
}

// finish closes the socket and lets go of everything; the caller holds
// wmu.
func (c *wsConn) finish() {
	if c.closed {
		return
	}
	c.closed = true
	c.pending, c.ctrl = nil, nil
	if c.raw != nil {
		c.e.epoll.remove(c)
	}
	c.e.wheel.remove(c)
	_ = c.net.Close()
	c.hub.Close(ReasonClient) // Close keeps the first reason given
	if c.cfg.Presence != nil {
		go c.cfg.Presence.Disconnected(c.p.TenantID, c.p.UserID)
	}
}
