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
				external = nil
			}
			// This overlay's own schema and NATS streams, as its own
			// cluster would have.
			prefix := "deploy" + strings.ToLower(rand.Text()[:10])
			bustest.DeleteStreams(t, strings.ToUpper(prefix)+"_EVENTS", strings.ToUpper(prefix)+"_REALTIME")
			local := map[string]string{
				"QUIKAPP_DATABASE_URL":  storetest.NewPostgresSchema(t),
				"QUIKAPP_NATS_URL":      bustest.NATSURL(),
				"QUIKAPP_NATS_PREFIX":   prefix,
				"QUIKAPP_S3_ENDPOINT":   s3.Endpoint,
				"QUIKAPP_S3_ACCESS_KEY": s3test.User,
				"QUIKAPP_S3_SECRET_KEY": s3test.Password,
			}
			root := podDir(t, box, overlay)
			deps := quikapps(r)
			names := keys(deps)
			environs := make([]map[string]string, len(names))
			for i, name := range names {
				environ, err := containerEnv(r, deps[name].Spec.Template.Spec.Containers[0], external)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for k, v := range local {
					if _, set := environ[k]; set {
						environ[k] = v
					}
				}
				if _, set := environ["QUIKAPP_S3_ENDPOINT"]; set {
					environ["QUIKAPP_S3_TLS"] = "false" // MinIO here speaks plain HTTP
				}
				environs[i] = environ
			}
			// All of an overlay's pods start at once, as on a fresh
			// rollout: they race for the migration lock and the streams.
			// Each gets a free port of this machine for the manifest's
			// (the log level may be too quiet to say what :0 picked); a
			// port taken meanwhile by another process's outbound
			// connection is retried with a new one.
			pods := make([]*pod, len(names))
			ready := make([]string, len(names))
			pending := make([]int, len(names))
			for i := range pending {
				pending[i] = i
			}
			for round := 0; len(pending) > 0; round++ {
				errs := make([]error, len(names))
				var wg sync.WaitGroup
				for _, i := range pending {
					d := deps[names[i]]
					port := freePort(t)
					environs[i]["QUIKAPP_HTTP_ADDR"] = "127.0.0.1:" + port
					pods[i] = startPod(t, fmt.Sprintf("%s-%d", names[i], round), quikapp, d.Spec.Template.Spec.Containers[0], environs[i], root)
					base := "http://127.0.0.1:" + port
					wg.Go(func() {
						// Live from the moment the listener is bound
						// (before migrations), then ready.
						if errs[i] = pods[i].waitStatus(probeURL(base, d, "live"), http.StatusOK, 60*time.Second); errs[i] == nil {
							errs[i] = pods[i].waitStatus(probeURL(base, d, "ready"), http.StatusOK, 90*time.Second)
						}
						ready[i] = base
					})
				}
				wg.Wait()
				var retry []int
				for _, i := range pending {
					switch {
					case errs[i] == nil:
					case round < 3 && strings.Contains(pods[i].output(), "address already in use"):
						retry = append(retry, i)
					default:
						t.Error(errs[i])
					}
				}
				pending = retry
			}
			if t.Failed() {
				return
			}
			var wg sync.WaitGroup
			for i, p := range pods {
				p.wroteNothing(t)
				grace := time.Duration(*deps[names[i]].Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
				wg.Go(func() { p.stop(t, probeURL(ready[i], deps[names[i]], "ready"), grace, true) })
			}
			wg.Wait()
		})
	}
}

// probeURL is the URL of the Deployment's liveness or readiness probe on
// the pod at base: the manifest's path, on the port the pod really bound
// (TestOverlays checks the manifest's port is the one QUIKAPP_HTTP_ADDR
// binds).
func probeURL(base string, d *appsv1.Deployment, which string) string {
	c := d.Spec.Template.Spec.Containers[0]
	if which == "ready" {
		return base + c.ReadinessProbe.HTTPGet.Path
	}
	return base + c.LivenessProbe.HTTPGet.Path
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
	ports := map[string]string{}
	for _, name := range []string{"client", "internal", "metrics"} {
		ports[name] = freePort(t)
		environ["NOTIFY_"+strings.ToUpper(name)+"_PORT"] = ports[name]
	}
	p := startPod(t, "notify", notifyd, c, environ, podDir(t, box, "notify"))
	port := ports[c.LivenessProbe.HTTPGet.Port.StrVal]
	live := "http://127.0.0.1:" + port + c.LivenessProbe.HTTPGet.Path
	ready := "http://127.0.0.1:" + ports[c.ReadinessProbe.HTTPGet.Port.StrVal] + c.ReadinessProbe.HTTPGet.Path
	if err := p.waitStatus(live, http.StatusOK, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.waitStatus(ready, http.StatusOK, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.wroteNothing(t)
	p.stop(t, ready, time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second, false)
}
