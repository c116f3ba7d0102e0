//go:build !linux

package realtime

import "errors"

// epoller is Linux-only; elsewhere every WebSocket is read by a goroutine
// of its own (wsConn.readLoop).
type epoller struct{}

func newEpoller(func(c *wsConn, readable, writable bool)) (*epoller, error) {
	return nil, errors.New("epoll is Linux-only")
}

func (*epoller) add(*wsConn) error { return errors.New("epoll is Linux-only") }
func (*epoller) arm(*wsConn, bool) {}
func (*epoller) remove(*wsConn)    {}
func (*epoller) run()              {}
