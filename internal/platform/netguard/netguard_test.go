package netguard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPermitted(t *testing.T) {
	var p Policy
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.20.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.100.1.1": false, "0.0.0.0": false, "::1": false, "fd00::1": false, "fe80::1": false, "::ffff:127.0.0.1": false,
		"224.0.0.1": false, "255.255.255.255": false,
	} {
		if got := p.Permitted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Permitted(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestClientRefusesLoopbackAndRedirectsInward(t *testing.T) {
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))
	defer inner.Close()
	// Straight to loopback: refused at dial time.
	if _, err := (Policy{}).Client(2 * time.Second).Get(inner.URL); err == nil || !errors.Is(err, ErrBlocked) {
		t.Fatalf("loopback fetch: %v", err)
	}
	// A permitted server that redirects inward: the redirect is refused.
	outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(inner.URL, "127.0.0.1", "[::1]", 1), http.StatusFound)
	}))
	defer outer.Close()
	allowOuter := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if resp, err := allowOuter.Client(2 * time.Second).Get(outer.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a redirect to ::1 was followed")
	}
	// With loopback allowed (tests), it works.
	resp, err := allowOuter.Client(2 * time.Second).Get(inner.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
