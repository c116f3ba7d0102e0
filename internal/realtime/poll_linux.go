//go:build linux

package realtime

import (
	"fmt"
	"sync"
	"syscall"
)

// epoller watches many sockets with one epoll instance and one goroutine.
// Registrations are one-shot: after a report the socket stays quiet until
// the connection re-arms it, so one connection is never read by two
// workers at once and a socket with unread bytes does not spin.
type epoller struct {
	fd      int
	onEvent func(c *wsConn, readable, writable bool)

	mu    sync.Mutex
	conns map[int32]*wsConn
}

func newEpoller(onEvent func(c *wsConn, readable, writable bool)) (*epoller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	return &epoller{fd: fd, onEvent: onEvent, conns: map[int32]*wsConn{}}, nil
}

const epollIn = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func (p *epoller) add(c *wsConn) error {
	p.mu.Lock()
	p.conns[int32(c.fd)] = c
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: epollIn, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, int32(c.fd))
		p.mu.Unlock()
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// arm re-enables reports for c: readable, and writable when out.
func (p *epoller) arm(c *wsConn, out bool) {
	events := uint32(epollIn)
	if out {
		events |= syscall.EPOLLOUT
	}
	ev := syscall.EpollEvent{Events: events, Fd: int32(c.fd)}
	_ = syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_MOD, c.fd, &ev) // fails only once removed
}

// remove stops watching c; call it before closing the socket, so a reused
// descriptor number is never taken for c.
func (p *epoller) remove(c *wsConn) {
	_ = syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	p.mu.Lock()
	if p.conns[int32(c.fd)] == c {
		delete(p.conns, int32(c.fd))
	}
	p.mu.Unlock()
}

func (p *epoller) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.fd, events, -1)
		if err != nil {
			continue // EINTR
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c == nil {
				continue
			}
			readable := ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0
			writable := ev.Events&syscall.EPOLLOUT != 0
			p.onEvent(c, readable, writable)
		}
	}
}
