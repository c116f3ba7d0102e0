package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/quikapp/quikapp/internal/file/s3test"
)

// ingress routes requests the way an ingress controller follows ing's
// rules: the longest matching path wins, Exact before Prefix at equal
// length, Prefix matching whole path elements. backends are the pods
// behind each Service.
func ingress(t *testing.T, ing *networkingv1.Ingress, backends map[string]string) http.Handler {
	t.Helper()
	paths := ing.Spec.Rules[0].HTTP.Paths
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		best, bestLen, bestExact := "", -1, false
		for _, p := range paths {
			exact := p.PathType != nil && *p.PathType == networkingv1.PathTypeExact
			var match bool
			if exact {
				match = r.URL.Path == p.Path
			} else {
				prefix := strings.TrimSuffix(p.Path, "/")
				match = prefix == "" || r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/")
			}
			if match && (len(p.Path) > bestLen || (len(p.Path) == bestLen && exact && !bestExact)) {
				best, bestLen, bestExact = p.Backend.Service.Name, len(p.Path), exact
			}
		}
		target, ok := backends[best]
		if !ok {
			http.Error(w, "no backend for "+r.URL.Path+" (service "+best+")", http.StatusBadGateway)
			return
		}
		u, _ := url.Parse(target)
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	})
}

// The live overlay split across processes works as one product behind its
// own Ingress: the gateway, the realtime service and the message service,
// started from their manifests on one PostgreSQL, NATS and MinIO, serve
// sign-up, workspaces, invitations, messages, files and presence, and a
// message posted through the gateway reaches, live, a WebSocket held by the
// realtime service.
func TestSplitDeploymentServesChatThroughItsIngress(t *testing.T) {
	if os.Getenv("QUIKAPP_TEST_FULL") == "" {
		t.Skip("starts the live overlay's gateway, realtime and message services on PostgreSQL, NATS and MinIO; runs with QUIKAPP_TEST_FULL=1 (scripts/test sets it)")
	}
	box := sandbox(t)
	quikapp, _ := buildBinaries(t, box)
	r := render(t, deployTree(t), "k8s/overlays/live")
	c := newCluster(t, r, quikapp, box, "live", s3test.Start(t), externalSecrets(t))
	backends := map[string]string{}
	for _, p := range c.start(t, []string{"backend-gateway", "realtime-service", "message-service"}) {
		backends[p.d.Name] = p.base // the Service of each has its Deployment's name
	}
	front := httptest.NewServer(ingress(t, r.Ingresses["quikapp"], backends))
	t.Cleanup(front.Close)
	api := &apiClient{t: t, base: front.URL}

	ann, bob := api.signUp("ann"), api.signUp("bob")
	var ws struct{ ID string }
	api.call("POST", "/api/v1/workspaces", ann, map[string]string{"name": "Acme", "slug": "acme-split"}, 201, &ws)
	var inv struct{ Token string }
	api.call("POST", "/api/v1/workspaces/"+ws.ID+"/invitations", ann, map[string]string{"email": bob.email, "role": "member"}, 201, &inv)
	api.call("POST", "/api/v1/invitations/accept", bob, map[string]string{"token": inv.Token}, 200, nil)
	var chans struct{ Items []struct{ ID, Name string } }
	api.call("GET", "/api/v1/workspaces/"+ws.ID+"/channels", bob, nil, 200, &chans)
	general := ""
	for _, ch := range chans.Items {
		if ch.Name == "general" {
			general = ch.ID
		}
	}

	// Bob listens through the ingress (so on the realtime service); Ann
	// posts through it (so on the gateway).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func(a account, topic string) *websocket.Conn {
		sock, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(front.URL, "http")+"/api/v1/realtime/ws?topics="+
			url.QueryEscape(topic)+"&access_token="+url.QueryEscape(a.token), nil)
		if err != nil {
			t.Fatalf("WebSocket through the ingress: %v", err)
		}
		t.Cleanup(func() { sock.CloseNow() })
		return sock
	}
	sock := dial(bob, "channel:"+general)
	api.call("POST", "/api/v1/channels/"+general+"/messages", ann, map[string]string{"text": "hello from the gateway"}, 201, nil)
	for {
		_, b, err := sock.Read(ctx)
		if err != nil {
			t.Fatalf("no message.created on the realtime service's socket: %v", err)
		}
		var ev struct {
			Type string
			Data struct{ Text string }
		}
		if json.Unmarshal(b, &ev) == nil && ev.Type == "message.created" && ev.Data.Text == "hello from the gateway" {
			break
		}
	}

	// Presence is the realtime service's; the ingress takes it there. Ann
	// is connected, and chooses to look away.
	dial(ann, "workspace:"+ws.ID)
	api.call("PUT", "/api/v1/users/me/presence", ann, map[string]string{"status": "away"}, 200, nil)
	var seen struct {
		Items []struct{ UserID, Status string }
	}
	api.call("GET", "/api/v1/presence?users="+ann.id, bob, nil, 200, &seen)
	if len(seen.Items) != 1 || seen.Items[0].Status != "away" {
		t.Fatalf("Ann's presence as Bob sees it: %+v", seen.Items)
	}

	// Files go to the gateway and into the bucket; anyone in the workspace
	// reads them back.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	fw.Write([]byte("split, but one product"))
	mw.Close()
	var f struct{ ID string }
	api.callRaw("POST", "/api/v1/files?channelId="+general, ann, mw.FormDataContentType(), &body, 201, &f)
	if got := api.callRaw("GET", "/api/v1/files/"+f.ID+"/content", bob, "", nil, 200, nil); got != "split, but one product" {
		t.Fatalf("file read back: %q", got)
	}
}

// apiClient is the little of the API the test needs.
type apiClient struct {
	t    *testing.T
	base string
}

type account struct{ id, email, token string }

func (c *apiClient) call(method, path string, a account, body any, want int, out any) {
	c.t.Helper()
	var rd io.Reader
	ctype := ""
	if body != nil {
		b, _ := json.Marshal(body)
		rd, ctype = bytes.NewReader(b), "application/json"
	}
	c.callRaw(method, path, a, ctype, rd, want, out)
}

func (c *apiClient) callRaw(method, path string, a account, ctype string, body io.Reader, want int, out any) string {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return string(b)
}

func (c *apiClient) signUp(name string) account {
	c.t.Helper()
	a := account{email: name + "@example.com"}
	pw := "correct horse battery " + name
	var created struct{ ID string }
	c.call("POST", "/api/v1/auth/register", account{}, map[string]string{"email": a.email, "password": pw, "displayName": name}, 201, &created)
	var tok struct{ AccessToken string }
	c.call("POST", "/api/v1/auth/login", account{}, map[string]string{"email": a.email, "password": pw}, 200, &tok)
	a.id, a.token = created.ID, tok.AccessToken
	return a
}
