package deploy

import (
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/quikapp/quikapp/internal/app"
	"github.com/quikapp/quikapp/internal/platform/env"
)

// splitOverlays run every seed service as its own Deployment; single runs
// them all in one.
var splitOverlays = []string{"local", "dev", "qa", "uat1", "uat2", "uat3", "staging", "live"}

var overlayNamespace = map[string]string{"local": "quikapp-local", "dev": "quikapp-dev", "qa": "quikapp-qa",
	"uat1": "quikapp-uat1", "uat2": "quikapp-uat2", "uat3": "quikapp-uat3", "staging": "quikapp-staging",
	"live": "quikapp-prod", "single": "quikapp"}

// ours reports whether a container runs our image (under whatever
// registry and tag the overlay gives it).
func ours(c corev1.Container) bool {
	name, _, _ := strings.Cut(path.Base(c.Image), ":")
	return name == "quikapp"
}

// quikapps are the Deployments that run our image, by name.
func quikapps(r *rendered) map[string]*appsv1.Deployment {
	out := map[string]*appsv1.Deployment{}
	for name, d := range r.Deployments {
		if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 && ours(cs[0]) {
			out[name] = d
		}
	}
	return out
}

// Every overlay renders with kustomize, every object decodes strictly into
// its Kubernetes API type, and the objects fit together: each seed service
// is a Deployment of our image with its Service and HPA, probes name the
// port QuikApp listens on, references resolve, the configuration is one
// QuikApp accepts (and, when split across pods, shares its state), and the
// namespace's quota holds every HPA at its maximum.
func TestOverlays(t *testing.T) {
	tree := deployTree(t)
	for _, overlay := range append(slices.Clone(splitOverlays), "single") {
		t.Run(overlay, func(t *testing.T) {
			r := render(t, tree, "k8s/overlays/"+overlay)
			checkNamespace(t, r, overlayNamespace[overlay])
			deps := quikapps(r)
			if overlay == "single" {
				if len(deps) != 1 || deps["quikapp"] == nil {
					t.Fatalf("single runs %d Deployments of our image, want the one named quikapp", len(deps))
				}
			} else {
				checkEverySeedService(t, r, deps)
			}
			// single's secret is optional and starts out absent.
			external := externalSecrets(t)
			if overlay == "single" {
				external = nil
			}
			for _, d := range deps {
				cfg := checkDeployment(t, r, d, external)
				if overlay != "single" {
					checkShared(t, d.Name, cfg)
				}
			}
			checkServices(t, r)
			checkScaling(t, r, overlay)
			checkIngress(t, r)
			checkQuota(t, r)
			checkRestricted(t, r)
		})
	}
}

func checkNamespace(t *testing.T, r *rendered, want string) {
	t.Helper()
	if len(r.Namespaces) != 1 || r.Namespaces[want] == nil {
		t.Errorf("namespaces %v, want just %s", keys(r.Namespaces), want)
	}
	if sa := r.ServiceAccounts["quikapp-service"]; sa == nil || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("service account quikapp-service missing or mounting an API token")
	}
	if np := r.NetworkPolicies["default-deny-ingress"]; np == nil || len(np.Spec.PodSelector.MatchLabels) != 0 || len(np.Spec.Ingress) != 0 {
		t.Error("no default-deny-ingress policy over every pod")
	}
	for name, d := range r.Deployments {
		if d.Namespace != want {
			t.Errorf("Deployment %s in namespace %q, want %s", name, d.Namespace, want)
		}
	}
}

func checkEverySeedService(t *testing.T, r *rendered, deps map[string]*appsv1.Deployment) {
	t.Helper()
	if len(app.Services) != 33 {
		t.Errorf("the registry has %d services; the seed has 33", len(app.Services))
	}
	for _, s := range app.Services {
		d := deps[s.Name]
		if d == nil {
			t.Errorf("seed service %s has no Deployment", s.Name)
			continue
		}
		runs := strings.Split(envValue(d, "QUIKAPP_SERVICES"), ",")
		if !slices.Contains(runs, s.Name) {
			t.Errorf("%s runs QUIKAPP_SERVICES=%v", s.Name, runs)
		}
		svc := r.Services[s.Name]
		if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != int32(s.Port) {
			t.Errorf("seed service %s has no Service on port %d", s.Name, s.Port)
		}
		if r.HPAs[s.Name+"-hpa"] == nil {
			t.Errorf("seed service %s has no HPA", s.Name)
		}
		if d.Labels["app"] != s.Name || d.Labels["tier"] == "" || d.Labels["stack"] != "go" {
			t.Errorf("%s labels %v: want app, tier and stack=go", s.Name, d.Labels)
		}
	}
}

func envValue(d *appsv1.Deployment, name string) string {
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// checkDeployment checks one Deployment of our image and returns the
// configuration QuikApp reads from its environment.
func checkDeployment(t *testing.T, r *rendered, d *appsv1.Deployment, external map[string]map[string]string) app.Config {
	t.Helper()
	pod := d.Spec.Template
	sel, err := labels.ValidatedSelectorFromSet(d.Spec.Selector.MatchLabels)
	if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s: selector does not match its pod labels (%v)", d.Name, err)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", d.Name, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	checkSecurity(t, d.Name, pod.Spec, c)

	port := probePort(t, d.Name, c, c.LivenessProbe, "/health/live")
	if rp := probePort(t, d.Name, c, c.ReadinessProbe, "/health/ready"); rp != port {
		t.Errorf("%s: liveness on %d, readiness on %d", d.Name, port, rp)
	}
	if a := pod.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != strconv.Itoa(int(port)) {
		t.Errorf("%s: Prometheus annotations %v, want scrape of /metrics on %d", d.Name, a, port)
	}

	environ, err := containerEnv(r, c, external)
	if err != nil {
		t.Fatalf("%s: %v", d.Name, err)
	}
	if _, p, err := net.SplitHostPort(environ["QUIKAPP_HTTP_ADDR"]); err != nil || p != strconv.Itoa(int(port)) {
		t.Errorf("%s: QUIKAPP_HTTP_ADDR=%q, but the probes use container port %d", d.Name, environ["QUIKAPP_HTTP_ADDR"], port)
	}
	if !mounted(c, environ["QUIKAPP_DATA_DIR"]) || !mounted(c, "/tmp") {
		t.Errorf("%s: QUIKAPP_DATA_DIR (%s) and /tmp must be volumes: the root filesystem is read-only", d.Name, environ["QUIKAPP_DATA_DIR"])
	}
	cfg, err := app.LoadConfig(env.FromMap(environ))
	if err != nil {
		t.Fatalf("%s: QuikApp refuses its environment: %v", d.Name, err)
	}
	// Behind the ingress every request comes from the controller: without
	// trusted proxies, one rate-limit bucket would hold every client.
	if len(r.Ingresses) > 0 && len(cfg.Identity.TrustedProxies) == 0 {
		t.Errorf("%s: behind an Ingress but QUIKAPP_TRUSTED_PROXIES is empty", d.Name)
	}
	// The kubelet kills at the grace period's end; the drain must fit.
	grace := time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	if cfg.ShutdownDelay+cfg.ShutdownTimeout >= grace {
		t.Errorf("%s: shutdown delay %s + timeout %s does not fit the %s grace period", d.Name, cfg.ShutdownDelay, cfg.ShutdownTimeout, grace)
	}
	return cfg
}

func checkSecurity(t *testing.T, name string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || csc == nil {
		t.Errorf("%s: no security context", name)
		return
	}
	nonRoot := psc.RunAsNonRoot != nil && *psc.RunAsNonRoot && psc.RunAsUser != nil && *psc.RunAsUser == 65532
	if !nonRoot {
		t.Errorf("%s: must run as non-root uid 65532", name)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Errorf("%s: root filesystem not read-only", name)
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Errorf("%s: privilege escalation allowed", name)
	}
	if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities not all dropped", name)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: no RuntimeDefault seccomp profile", name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts an API token it never uses", name)
	}
}

// probePort checks a probe is an HTTP GET of want and returns the
// container port it names (by name or number).
func probePort(t *testing.T, name string, c corev1.Container, p *corev1.Probe, want string) int32 {
	t.Helper()
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want {
		t.Errorf("%s: want an HTTP probe of %s", name, want)
		return 0
	}
	port, ok := containerPort(c, p.HTTPGet.Port)
	if !ok {
		t.Errorf("%s: probe of %s names port %s, which the container does not declare", name, want, p.HTTPGet.Port.String())
	}
	return port
}

func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func mounted(c corev1.Container, dir string) bool {
	for _, m := range c.VolumeMounts {
		if dir == m.MountPath || strings.HasPrefix(dir, m.MountPath+"/") {
			return true
		}
	}
	return false
}

// checkShared: pods of a split deployment share everything a user can see,
// so each must be on PostgreSQL, NATS and S3 with one signing key and
// rate limits kept in the database.
func checkShared(t *testing.T, name string, cfg app.Config) {
	t.Helper()
	if cfg.DatabaseURL == "" || cfg.NATSURL == "" || cfg.S3.Endpoint == "" || len(cfg.Identity.JWTPrivateKey) == 0 || cfg.Identity.RateLimitStore != "database" {
		t.Errorf("%s: a split deployment needs PostgreSQL, NATS, S3, a shared signing key and database rate limits; got database=%t nats=%t s3=%t key=%t limits=%s",
			name, cfg.DatabaseURL != "", cfg.NATSURL != "", cfg.S3.Endpoint != "", len(cfg.Identity.JWTPrivateKey) > 0, cfg.Identity.RateLimitStore)
	}
}

// backing returns the Deployment a Service's selector picks, if exactly one.
func backing(r *rendered, svc *corev1.Service) *appsv1.Deployment {
	var found *appsv1.Deployment
	for _, d := range r.Deployments {
		if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			if found != nil {
				return nil
			}
			found = d
		}
	}
	return found
}

func checkServices(t *testing.T, r *rendered) {
	t.Helper()
	for name, svc := range r.Services {
		d := backing(r, svc)
		if d == nil {
			t.Errorf("Service %s selects no single Deployment", name)
			continue
		}
		for _, p := range svc.Spec.Ports {
			if _, ok := containerPort(d.Spec.Template.Spec.Containers[0], p.TargetPort); !ok {
				t.Errorf("Service %s port %s targets %s, which %s does not declare", name, p.Name, p.TargetPort.String(), d.Name)
			}
		}
	}
}

// checkScaling: HPAs point at Deployments whose replica count lies in
// their range; realtime scales on connections; budgets leave room to drain.
func checkScaling(t *testing.T, r *rendered, overlay string) {
	t.Helper()
	for name, h := range r.HPAs {
		d := r.Deployments[h.Spec.ScaleTargetRef.Name]
		if d == nil || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HPA %s scales %s %s, which is not here", name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
			continue
		}
		lo, hi, n := *h.Spec.MinReplicas, h.Spec.MaxReplicas, *d.Spec.Replicas
		if lo < 1 || lo > hi || n < lo || n > hi {
			t.Errorf("HPA %s: %d replicas outside its range %d..%d", name, n, lo, hi)
		}
		cfg, err := app.LoadConfig(env.FromMap(map[string]string{"QUIKAPP_SERVICES": envValue(d, "QUIKAPP_SERVICES")}))
		if err != nil {
			t.Errorf("HPA %s: %v", name, err)
			continue
		}
		onConnections := slices.ContainsFunc(h.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
			return m.Pods != nil && m.Pods.Metric.Name == "quikapp_realtime_connections"
		})
		if realtimeOnly := cfg.Modules()["realtime"] && !cfg.Modules()["gateway"]; realtimeOnly != onConnections {
			t.Errorf("HPA %s: realtime service %t, scales on quikapp_realtime_connections %t", name, realtimeOnly, onConnections)
		}
	}
	for name, pdb := range r.PDBs {
		var d *appsv1.Deployment
		for _, dep := range r.Deployments {
			if labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)) {
				d = dep
			}
		}
		if d == nil || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntVal >= *d.Spec.Replicas {
			t.Errorf("PDB %s must select a Deployment with more replicas than it keeps available", name)
		}
	}
	if overlay == "live" && len(r.PDBs) == 0 {
		t.Error("live has no disruption budgets")
	}
}

// checkIngress: every backend exists, the realtime paths reach a realtime
// process and everything else the gateway.
func checkIngress(t *testing.T, r *rendered) {
	t.Helper()
	if len(r.Ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(r.Ingresses))
	}
	for name, ing := range r.Ingresses {
		routed := map[string]app.Config{}
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				b := p.Backend.Service
				svc := r.Services[b.Name]
				if svc == nil || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == b.Port.Name }) {
					t.Errorf("Ingress %s: %s goes to %s:%s, which is not here", name, p.Path, b.Name, b.Port.Name)
					continue
				}
				cfg, err := app.LoadConfig(env.FromMap(map[string]string{"QUIKAPP_SERVICES": envValue(backing(r, svc), "QUIKAPP_SERVICES")}))
				if err != nil {
					t.Fatal(err)
				}
				routed[p.Path] = cfg
			}
		}
		root, ok := routed["/"]
		if !ok || !root.Modules()["message"] {
			t.Errorf("Ingress %s: / must reach a process serving the REST API", name)
		}
		// Realtime's paths reach a realtime process: their own route's,
		// or the one / goes to.
		for _, p := range []string{"/api/v1/realtime", "/api/v1/presence", "/api/v1/users/me/presence"} {
			cfg, ok := routed[p]
			if !ok {
				cfg = root
			}
			if !cfg.Modules()["realtime"] {
				t.Errorf("Ingress %s: %s goes to a process without realtime", name, p)
			}
		}
	}
}

// checkQuota: the namespace's quota admits every Deployment at its HPA's
// maximum, so scaling up is never refused.
func checkQuota(t *testing.T, r *rendered) {
	t.Helper()
	if len(r.Quotas) != 1 {
		t.Fatalf("%d ResourceQuotas, want 1", len(r.Quotas))
	}
	var pods int64
	cpu, mem := resource.Quantity{}, resource.Quantity{}
	for _, d := range r.Deployments {
		n := int64(*d.Spec.Replicas)
		for _, h := range r.HPAs {
			if h.Spec.ScaleTargetRef.Name == d.Name {
				n = max(n, int64(h.Spec.MaxReplicas))
			}
		}
		pods += n
		for _, c := range d.Spec.Template.Spec.Containers {
			for range n {
				cpu.Add(c.Resources.Requests[corev1.ResourceCPU])
				mem.Add(c.Resources.Requests[corev1.ResourceMemory])
			}
		}
	}
	for name, q := range r.Quotas {
		hard := q.Spec.Hard
		if p := hard[corev1.ResourcePods]; p.Value() < pods {
			t.Errorf("quota %s allows %d pods; the HPAs reach %d", name, p.Value(), pods)
		}
		if c := hard[corev1.ResourceRequestsCPU]; c.Cmp(cpu) < 0 {
			t.Errorf("quota %s allows %s CPU requested; the HPAs reach %s", name, c.String(), cpu.String())
		}
		if m := hard[corev1.ResourceRequestsMemory]; m.Cmp(mem) < 0 {
			t.Errorf("quota %s allows %s memory requested; the HPAs reach %s", name, m.String(), mem.String())
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkRestricted: the namespaces enforce the restricted Pod Security
// Standard, so every pod we ship (the local overlay's dependencies too)
// must meet it or the API server refuses it.
func checkRestricted(t *testing.T, r *rendered) {
	t.Helper()
	for name, d := range r.Deployments {
		spec := d.Spec.Template.Spec
		psc := spec.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			t.Errorf("%s: uses the host's namespaces", name)
		}
		for _, v := range spec.Volumes {
			if v.EmptyDir == nil && v.PersistentVolumeClaim == nil && v.ConfigMap == nil && v.Secret == nil && v.Projected == nil {
				t.Errorf("%s: volume %s is of a kind the restricted standard refuses", name, v.Name)
			}
		}
		for _, c := range spec.Containers {
			csc := c.SecurityContext
			if csc == nil {
				t.Errorf("%s/%s: no security context", name, c.Name)
				continue
			}
			nonRoot := (csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) || (csc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			rootUser := (csc.RunAsUser != nil && *csc.RunAsUser == 0) || (csc.RunAsUser == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0)
			seccomp := csc.SeccompProfile
			if seccomp == nil {
				seccomp = psc.SeccompProfile
			}
			switch {
			case !nonRoot || rootUser:
				t.Errorf("%s/%s: may run as root", name, c.Name)
			case csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation:
				t.Errorf("%s/%s: allows privilege escalation", name, c.Name)
			case csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || slices.ContainsFunc(csc.Capabilities.Add, func(c corev1.Capability) bool { return c != "NET_BIND_SERVICE" }):
				t.Errorf("%s/%s: keeps capabilities", name, c.Name)
			case seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost):
				t.Errorf("%s/%s: no seccomp profile", name, c.Name)
			case csc.Privileged != nil && *csc.Privileged:
				t.Errorf("%s/%s: privileged", name, c.Name)
			}
		}
	}
	for name, ns := range r.Namespaces {
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("namespace %s does not enforce the restricted Pod Security Standard", name)
		}
	}
}
