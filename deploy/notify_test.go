package deploy

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/quikapp/quikapp/internal/notifyd"
	"github.com/quikapp/quikapp/internal/platform/env"
)

// deploy/notify holds the objects of notify's Kubernetes deployment, on our
// image: the values the seed gives are the ones it renders, the probes and
// Services name ports notifyd listens on, and notifyd accepts the
// environment.
func TestNotifyManifests(t *testing.T) {
	r := render(t, deployTree(t), "notify")
	for kind, names := range map[string][]string{
		"Namespace": keys(r.Namespaces), "Deployment": keys(r.Deployments), "Service": keys(r.Services),
		"Ingress": keys(r.Ingresses), "HorizontalPodAutoscaler": keys(r.HPAs), "PodDisruptionBudget": keys(r.PDBs),
		"NetworkPolicy": keys(r.NetworkPolicies),
	} {
		want := map[string][]string{"Namespace": {"notify"}, "Deployment": {"notify"}, "Service": {"notify-client", "notify-internal", "notify-metrics"},
			"Ingress": {"notify"}, "HorizontalPodAutoscaler": {"notify"}, "PodDisruptionBudget": {"notify"},
			"NetworkPolicy": {"notify-internal-allowlist"}}[kind]
		if !slices.Equal(names, want) {
			t.Errorf("%s: %v, want %v", kind, names, want)
		}
	}
	d := r.Deployments["notify"]
	if d == nil {
		t.FailNow()
	}
	if d.Namespace != "notify" || *d.Spec.Replicas != 2 || *d.Spec.Template.Spec.TerminationGracePeriodSeconds != 45 {
		t.Errorf("Deployment: namespace %s, %d replicas, grace %ds; the seed says notify, 2, 45", d.Namespace, *d.Spec.Replicas, *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !ours(c) || len(c.Command) != 1 || c.Command[0] != "/usr/local/bin/notifyd" {
		t.Errorf("container runs %s %v, want our image's notifyd", c.Image, c.Command)
	}
	if a := d.Spec.Template.Annotations; a["prometheus.io/port"] != "9090" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("Prometheus annotations %v", a)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("security context %+v is not the seed's", sc)
	}

	environ, err := containerEnv(r, c, externalSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"NOTIFY_STORE_DRIVER": "postgres", "NOTIFY_POSTGRES_AUTOMIGRATE": "true", "NOTIFY_SHUTDOWN_TIMEOUT": "30s",
		"NOTIFY_EMAIL_PROVIDER": "emailservice", "NOTIFY_SMS_PROVIDER": "twilio", "NOTIFY_AUTH_JWT_ISSUER": "https://identity.example.com"} {
		if environ[k] != v {
			t.Errorf("%s=%q, the seed says %q", k, environ[k], v)
		}
	}
	cfg, err := notifyd.LoadConfig(env.FromMap(environ))
	if err != nil {
		t.Fatalf("notifyd refuses the Deployment's environment: %v", err)
	}
	listens := map[string]int{"client": cfg.ClientPort, "internal": cfg.InternalPort, "metrics": cfg.MetricsPort}
	for _, p := range c.Ports {
		if listens[p.Name] != int(p.ContainerPort) {
			t.Errorf("container port %s is %d; notifyd listens for it on %d", p.Name, p.ContainerPort, listens[p.Name])
		}
	}
	for what, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port != intstr.FromString("metrics") {
			t.Errorf("%s probe is not GET /healthz on the metrics port", what)
		}
	}
	checkServices(t, r)
	checkRestricted(t, r)
	for name, port := range map[string]int32{"notify-client": 8080, "notify-internal": 8081, "notify-metrics": 9090} {
		if s := r.Services[name]; s == nil || s.Spec.Ports[0].Port != port {
			t.Errorf("Service %s is not on %d", name, port)
		}
	}

	ing := r.Ingresses["notify"]
	if a := ing.Annotations; a["nginx.ingress.kubernetes.io/proxy-read-timeout"] != "3600" || a["nginx.ingress.kubernetes.io/proxy-send-timeout"] != "3600" {
		t.Errorf("Ingress timeouts %v would cut SSE streams", a)
	}
	if b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service; b.Name != "notify-client" || b.Port.Name != "client" {
		t.Errorf("Ingress goes to %s:%s, want notify-client:client", b.Name, b.Port.Name)
	}
	h := r.HPAs["notify"]
	if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 10 || *h.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 ||
		*h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 300 {
		t.Errorf("HPA %+v is not the seed's", h.Spec)
	}
	if pdb := r.PDBs["notify"]; pdb.Spec.MinAvailable.IntVal != 1 {
		t.Errorf("PDB keeps %s available, the seed 1", pdb.Spec.MinAvailable.String())
	}
	// The internal port is open to the api-gateway namespace only.
	np := r.NetworkPolicies["notify-internal-allowlist"]
	for _, rule := range np.Spec.Ingress {
		if rule.Ports[0].Port.IntVal == 8081 && (len(rule.From) != 1 || rule.From[0].NamespaceSelector.MatchLabels["name"] != "api-gateway") {
			t.Errorf("the internal port is open to %+v", rule.From)
		}
	}
}
