package deploy

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/quikapp/quikapp/internal/bus/bustest"
	"github.com/quikapp/quikapp/internal/file/s3test"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// cluster stands in for one overlay's namespace on this machine: its own
// PostgreSQL schema and NATS streams, a shared MinIO, and the directory
// its pods' volumes and working directories live in.
type cluster struct {
	r        *rendered
	bin      string
	root     string
	external map[string]map[string]string
	// local replaces the addresses of the cluster's dependencies in a
	// pod's environment, where the manifest sets them.
	local map[string]string
}

func newCluster(t *testing.T, r *rendered, bin, box, name string, s3 *s3test.Server, external map[string]map[string]string) *cluster {
	t.Helper()
	prefix := "deploy" + strings.ToLower(rand.Text()[:10])
	bustest.DeleteStreams(t, strings.ToUpper(prefix)+"_EVENTS", strings.ToUpper(prefix)+"_REALTIME")
	return &cluster{r: r, bin: bin, root: podDir(t, box, name), external: external, local: map[string]string{
		"QUIKAPP_DATABASE_URL":  storetest.NewPostgresSchema(t),
		"QUIKAPP_NATS_URL":      bustest.NATSURL(),
		"QUIKAPP_NATS_PREFIX":   prefix,
		"QUIKAPP_S3_ENDPOINT":   s3.Endpoint,
		"QUIKAPP_S3_ACCESS_KEY": s3test.User,
		"QUIKAPP_S3_SECRET_KEY": s3test.Password,
	}}
}

// running is one Deployment's pod, up and ready at base.
type running struct {
	*pod
	d    *appsv1.Deployment
	base string
}

// podWave is how many pods start at once. A fresh rollout starts them all
// together, and a wave of 11 still has them racing for the migration lock
// and the streams; 33 at once on a 2-core machine starved the other
// packages' tests that go test runs alongside.
const podWave = 11

// start runs the named Deployments' pods, a wave at a time, and waits
// until each is live (from the moment its listener is bound) and then
// ready. Each gets a free port of this machine for the manifest's, since
// the log level may be too quiet to say what :0 picked; a port taken
// meanwhile by another process's outbound connection is retried with a
// new one.
func (c *cluster) start(t *testing.T, names []string) []running {
	t.Helper()
	var out []running
	for len(names) > 0 {
		n := min(podWave, len(names))
		out = append(out, c.startWave(t, names[:n])...)
		names = names[n:]
	}
	return out
}

func (c *cluster) startWave(t *testing.T, names []string) []running {
	t.Helper()
	out := make([]running, len(names))
	environs := make([]map[string]string, len(names))
	for i, name := range names {
		d := c.r.Deployments[name]
		if d == nil {
			t.Fatalf("no Deployment %s", name)
		}
		environ, err := containerEnv(c.r, d.Spec.Template.Spec.Containers[0], c.external)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range c.local {
			if _, set := environ[k]; set {
				environ[k] = v
			}
		}
		if _, set := environ["QUIKAPP_S3_ENDPOINT"]; set {
			environ["QUIKAPP_S3_TLS"] = "false" // MinIO here speaks plain HTTP
		}
		environs[i], out[i].d = environ, d
	}
	pending := make([]int, len(names))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; len(pending) > 0; round++ {
		errs := make([]error, len(names))
		var wg sync.WaitGroup
		for _, i := range pending {
			port := freePort(t)
			environs[i]["QUIKAPP_HTTP_ADDR"] = "127.0.0.1:" + port
			out[i].base = "http://127.0.0.1:" + port
			out[i].pod = startPod(t, fmt.Sprintf("%s-%d", names[i], round), c.bin, out[i].d.Spec.Template.Spec.Containers[0], environs[i], c.root)
			wg.Go(func() {
				if errs[i] = out[i].waitStatus(out[i].probe("live"), http.StatusOK, 60*time.Second); errs[i] == nil {
					errs[i] = out[i].waitStatus(out[i].probe("ready"), http.StatusOK, 90*time.Second)
				}
			})
		}
		wg.Wait()
		var retry []int
		for _, i := range pending {
			switch {
			case errs[i] == nil:
			case round < 3 && strings.Contains(out[i].output(), "address already in use"):
				retry = append(retry, i)
			default:
				t.Error(errs[i])
			}
		}
		pending = retry
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// probe is the URL of the pod's liveness or readiness probe: the
// manifest's path, on the port the pod really bound (TestOverlays checks
// the manifest's port is the one QUIKAPP_HTTP_ADDR binds).
func (p running) probe(which string) string {
	c := p.d.Spec.Template.Spec.Containers[0]
	if which == "ready" {
		return p.base + c.ReadinessProbe.HTTPGet.Path
	}
	return p.base + c.LivenessProbe.HTTPGet.Path
}

// Every Deployment of every overlay, started as its manifest says: our
// binary with the Deployment's environment (the addresses of PostgreSQL,
// NATS and S3 swapped for this machine's, the listener for a free port),
// as the pod's user, with the pod's volumes and a working directory it
// cannot write. Each answers its liveness and readiness probes with 200 on
// the paths the manifest names, writes nothing outside its volumes, and on
// SIGTERM goes not ready and exits cleanly within its grace period.
func TestDeploymentsStartAndAnswerTheirProbes(t *testing.T) {
	if os.Getenv("QUIKAPP_TEST_FULL") == "" {
		t.Skip("starts every Deployment of every overlay (about 270 processes) on PostgreSQL, NATS and MinIO; runs with QUIKAPP_TEST_FULL=1 (scripts/test sets it)")
	}
	box := sandbox(t)
	quikapp, _ := buildBinaries(t, box)
	s3 := s3test.Start(t)
	tree := deployTree(t)
	for _, overlay := range append(slices.Clone(splitOverlays), "single") {
		t.Run(overlay, func(t *testing.T) {
			r := render(t, tree, "k8s/overlays/"+overlay)
			external := externalSecrets(t)
			if overlay == "single" {
				external = nil // its secret is optional and starts out absent
			}
			pods := newCluster(t, r, quikapp, box, overlay, s3, external).start(t, keys(quikapps(r)))
			var wg sync.WaitGroup
			for _, p := range pods {
				p.wroteNothing(t)
				grace := time.Duration(*p.d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
				wg.Go(func() { p.stop(t, p.probe("ready"), grace, true) })
			}
			wg.Wait()
		})
	}
}

// notifyd's Deployment, started the same way: the manifest's environment
// and secret (PostgreSQL swapped for this machine's, its three ports for
// free ones), as the pod's user in a read-only working directory. /healthz
// on the metrics port answers 200 once it is up, and 503 from SIGTERM.
func TestNotifyDeploymentStartsAndAnswersItsProbes(t *testing.T) {
	if os.Getenv("QUIKAPP_TEST_FULL") == "" {
		t.Skip("starts notifyd on PostgreSQL; runs with QUIKAPP_TEST_FULL=1 (scripts/test sets it)")
	}
	box := sandbox(t)
	_, notifyd := buildBinaries(t, box)
	r := render(t, deployTree(t), "notify")
	d := r.Deployments["notify"]
	c := d.Spec.Template.Spec.Containers[0]
	environ, err := containerEnv(r, c, externalSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	environ["NOTIFY_POSTGRES_DSN"] = storetest.NewPostgresSchema(t)
	root := podDir(t, box, "notify")
	var p *pod
	var live, ready string
	for try := 0; ; try++ {
		// notifyd takes port numbers: free ones of this machine for the
		// manifest's, again if one is taken before notifyd binds it.
		ports := map[string]string{}
		for _, name := range []string{"client", "internal", "metrics"} {
			ports[name] = freePort(t)
			environ["NOTIFY_"+strings.ToUpper(name)+"_PORT"] = ports[name]
		}
		p = startPod(t, fmt.Sprint("notify-", try), notifyd, c, environ, root)
		live = "http://127.0.0.1:" + ports[c.LivenessProbe.HTTPGet.Port.StrVal] + c.LivenessProbe.HTTPGet.Path
		ready = "http://127.0.0.1:" + ports[c.ReadinessProbe.HTTPGet.Port.StrVal] + c.ReadinessProbe.HTTPGet.Path
		err := p.waitStatus(live, http.StatusOK, 60*time.Second)
		if err == nil {
			break
		}
		if try == 2 || !strings.Contains(p.output(), "address already in use") {
			t.Fatal(err)
		}
	}
	if err := p.waitStatus(ready, http.StatusOK, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.wroteNothing(t)
	p.stop(t, ready, time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second, false)
}
