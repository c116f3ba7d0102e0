// Package netguard makes HTTP clients for fetching addresses that users
// supplied (link previews, web push endpoints) without letting them reach
// the inside of our network: every connection's resolved address is
// checked as the socket is dialled, so neither a private address in the
// URL nor a DNS name that resolves (or later re-resolves) to one gets
// through. Redirects are re-checked the same way, and bounded.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is returned for a connection to a forbidden address.
var ErrBlocked = errors.New("netguard: address not allowed")

// blocked are the ranges no user-supplied URL may reach.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // this network
	netip.MustParsePrefix("10.0.0.0/8"),     // private
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),  // private
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"), // private
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
}

// Policy says what a guarded client may reach beyond the public
// internet. Allow exists for tests, whose servers listen on loopback.
type Policy struct {
	Allow []netip.Prefix
}

// Permitted reports whether a may be connected to.
func (p Policy) Permitted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p.Allow {
		if pr.Contains(a) {
			return true
		}
	}
	if !a.IsValid() || a.IsUnspecified() {
		return false
	}
	for _, pr := range blocked {
		if pr.Contains(a) {
			return false
		}
	}
	return true
}

// control runs on every socket before it connects, with the address the
// resolver chose.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	if !p.Permitted(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlocked, ap.Addr())
	}
	if port := ap.Port(); port != 80 && port != 443 && len(p.Allow) == 0 {
		return fmt.Errorf("%w: port %d", ErrBlocked, port)
	}
	return nil
}

// Client returns an HTTP client that only reaches permitted addresses on
// ports 80 and 443, follows at most 3 redirects, gives up after timeout
// and never uses a proxy from the environment.
func (p Policy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: p.control}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("netguard: too many redirects")
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect to %s", ErrBlocked, req.URL.Scheme)
		}
		return nil
	}}
}
