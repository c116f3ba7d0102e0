package app

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/platform/netguard"
)

func TestLinkPreviews(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/article":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<html><head><title>ignored</title>
				<meta property="og:title" content="Q3 &amp; beyond">
				<meta content="How we ship faster" property="og:description">
				<meta property="og:image" content="/cover.png"><meta property="og:site_name" content='Acme Blog'>
				</head><body>…</body></html>`))
		case "/file.zip":
			w.Header().Set("Content-Type", "application/zip")
			w.Write(make([]byte, 100))
		}
	}))
	defer page.Close()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			s := startAPIWith(t, driver, nil, func(a *App) {
				a.outbound = netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
			})
			tm := newTeam(t, s, "acme-previews")
			m := post(t, s, tm.ann, tm.general.ID, "read "+page.URL+"/article, and "+page.URL+"/file.zip and `"+page.URL+"/in-code`")
			var got message.Message
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				s.must(200, "GET", "/api/v1/messages/"+m.ID, tm.bob.Access, nil).JSON(t, &got)
				if len(got.Previews) > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(got.Previews) != 1 {
				t.Fatalf("previews: %+v", got.Previews)
			}
			p := got.Previews[0]
			if p.Title != "Q3 & beyond" || p.Description != "How we ship faster" || p.SiteName != "Acme Blog" || p.ImageURL != page.URL+"/cover.png" {
				t.Fatalf("preview: %+v", p)
			}
		})
	}
}

// Without the test's allowance, a link to our own loopback server is
// never fetched: the guard refuses the connection.
func TestLinkPreviewsNeverReachInternalAddresses(t *testing.T) {
	hit := make(chan struct{}, 1)
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<title>internal admin</title>`))
	}))
	defer inner.Close()
	s := startAPI(t, "sqlite", nil)
	tm := newTeam(t, s, "acme-ssrf")
	m := post(t, s, tm.ann, tm.general.ID, "look "+inner.URL+"/admin")
	time.Sleep(1 * time.Second) // four worker passes
	select {
	case <-hit:
		t.Fatal("the preview worker fetched a loopback address")
	default:
	}
	var got message.Message
	s.must(200, "GET", "/api/v1/messages/"+m.ID, tm.bob.Access, nil).JSON(t, &got)
	if len(got.Previews) != 0 {
		t.Fatalf("preview of an internal page: %+v", got.Previews)
	}
}
