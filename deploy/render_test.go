package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// rendered is one kustomization built and decoded into the Kubernetes API
// types, by kind and name.
type rendered struct {
	Namespaces      map[string]*corev1.Namespace
	ServiceAccounts map[string]*corev1.ServiceAccount
	ConfigMaps      map[string]*corev1.ConfigMap
	Secrets         map[string]*corev1.Secret
	PVCs            map[string]*corev1.PersistentVolumeClaim
	Quotas          map[string]*corev1.ResourceQuota
	Services        map[string]*corev1.Service
	Deployments     map[string]*appsv1.Deployment
	HPAs            map[string]*autoscalingv2.HorizontalPodAutoscaler
	PDBs            map[string]*policyv1.PodDisruptionBudget
	Ingresses       map[string]*networkingv1.Ingress
	NetworkPolicies map[string]*networkingv1.NetworkPolicy
}

// decoders says where each kind we ship goes; any other kind is a mistake.
var decoders = map[string]func(r *rendered, y []byte) (string, error){
	"Namespace":               decodeInto(func(r *rendered) map[string]*corev1.Namespace { return r.Namespaces }),
	"ServiceAccount":          decodeInto(func(r *rendered) map[string]*corev1.ServiceAccount { return r.ServiceAccounts }),
	"ConfigMap":               decodeInto(func(r *rendered) map[string]*corev1.ConfigMap { return r.ConfigMaps }),
	"Secret":                  decodeInto(func(r *rendered) map[string]*corev1.Secret { return r.Secrets }),
	"PersistentVolumeClaim":   decodeInto(func(r *rendered) map[string]*corev1.PersistentVolumeClaim { return r.PVCs }),
	"ResourceQuota":           decodeInto(func(r *rendered) map[string]*corev1.ResourceQuota { return r.Quotas }),
	"Service":                 decodeInto(func(r *rendered) map[string]*corev1.Service { return r.Services }),
	"Deployment":              decodeInto(func(r *rendered) map[string]*appsv1.Deployment { return r.Deployments }),
	"HorizontalPodAutoscaler": decodeInto(func(r *rendered) map[string]*autoscalingv2.HorizontalPodAutoscaler { return r.HPAs }),
	"PodDisruptionBudget":     decodeInto(func(r *rendered) map[string]*policyv1.PodDisruptionBudget { return r.PDBs }),
	"Ingress":                 decodeInto(func(r *rendered) map[string]*networkingv1.Ingress { return r.Ingresses }),
	"NetworkPolicy":           decodeInto(func(r *rendered) map[string]*networkingv1.NetworkPolicy { return r.NetworkPolicies }),
}

// decodeInto decodes strictly (an unknown or misspelt field fails) into a
// new T and files it by name.
func decodeInto[T any](field func(*rendered) map[string]*T) func(*rendered, []byte) (string, error) {
	return func(r *rendered, y []byte) (string, error) {
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			return "", err
		}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		obj := new(T)
		if err := dec.Decode(obj); err != nil {
			return "", err
		}
		var meta struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(j, &meta); err != nil || meta.Metadata.Name == "" {
			return "", fmt.Errorf("no metadata.name")
		}
		m := field(r)
		if _, dup := m[meta.Metadata.Name]; dup {
			return "", fmt.Errorf("defined twice")
		}
		m[meta.Metadata.Name] = obj
		return meta.Metadata.Name, nil
	}
}

// deployTree is the deploy directory in memory, with the files an operator
// adds before applying (the local overlay's signing key), so rendering
// reads nothing it should not and writes nothing.
func deployTree(t *testing.T) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(filepath.Join("/deploy", path), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.WriteFile("/deploy/k8s/overlays/local/jwt-signing-key.pem", signingKeyPEM(t)); err != nil {
		t.Fatal(err)
	}
	return mem
}

// render builds the kustomization at dir (relative to deploy/).
func render(t *testing.T, tree filesys.FileSystem, dir string) *rendered {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(tree, filepath.Join("/deploy", dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	r := &rendered{Namespaces: map[string]*corev1.Namespace{}, ServiceAccounts: map[string]*corev1.ServiceAccount{},
		ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{}, PVCs: map[string]*corev1.PersistentVolumeClaim{},
		Quotas: map[string]*corev1.ResourceQuota{}, Services: map[string]*corev1.Service{}, Deployments: map[string]*appsv1.Deployment{},
		HPAs: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, PDBs: map[string]*policyv1.PodDisruptionBudget{},
		Ingresses: map[string]*networkingv1.Ingress{}, NetworkPolicies: map[string]*networkingv1.NetworkPolicy{}}
	for _, res := range rm.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, res.CurId(), err)
		}
		kind := res.GetKind()
		dec, ok := decoders[kind]
		if !ok {
			t.Errorf("%s: %s: kind %s is not one we ship (add it to decoders if it should be)", dir, res.CurId(), kind)
			continue
		}
		if _, err := dec(r, y); err != nil {
			t.Errorf("%s: %s %s does not decode into the Kubernetes API type: %v", dir, kind, res.GetName(), err)
		}
	}
	checkNames(t, r)
	return r
}

// checkNames applies the API server's rules for the names and keys a
// strict decode cannot judge: object names, Service names (DNS labels),
// container and port names, label keys and values, environment variable
// and ConfigMap keys. A manifest that breaks one is refused at apply time.
func checkNames(t *testing.T, r *rendered) {
	t.Helper()
	bad := func(what string, errs []string) {
		if len(errs) > 0 {
			t.Errorf("%s: %s", what, strings.Join(errs, "; "))
		}
	}
	labelsOK := func(what string, m map[string]string) {
		for k, v := range m {
			bad(what+" label key "+k, validation.IsQualifiedName(k))
			bad(what+" label value "+v, validation.IsValidLabelValue(v))
		}
	}
	for name, svc := range r.Services {
		bad("Service "+name, validation.IsDNS1035Label(name))
		labelsOK("Service "+name, svc.Labels)
		for _, p := range svc.Spec.Ports {
			bad("Service "+name+" port", validation.IsValidPortName(p.Name))
		}
	}
	for name, d := range r.Deployments {
		bad("Deployment "+name, validation.IsDNS1123Subdomain(name))
		labelsOK("Deployment "+name, d.Labels)
		labelsOK("Deployment "+name+" pod", d.Spec.Template.Labels)
		for _, c := range d.Spec.Template.Spec.Containers {
			bad("container "+c.Name, validation.IsDNS1123Label(c.Name))
			// A floating or missing tag pulls whatever the registry serves
			// that day, or nothing once it is gone.
			if _, tag, ok := strings.Cut(path.Base(c.Image), ":"); !ok || tag == "" || tag == "latest" {
				t.Errorf("container %s: image %s names no release", c.Name, c.Image)
			}
			for _, p := range c.Ports {
				bad("container "+c.Name+" port", validation.IsValidPortName(p.Name))
			}
			for _, e := range c.Env {
				bad("container "+c.Name+" env", validation.IsEnvVarName(e.Name))
			}
		}
	}
	for name, cm := range r.ConfigMaps {
		bad("ConfigMap "+name, validation.IsDNS1123Subdomain(name))
		for k := range cm.Data {
			bad("ConfigMap "+name+" key "+k, validation.IsConfigMapKey(k))
		}
	}
	for kind, names := range map[string][]string{"HorizontalPodAutoscaler": keys(r.HPAs), "PodDisruptionBudget": keys(r.PDBs),
		"Ingress": keys(r.Ingresses), "NetworkPolicy": keys(r.NetworkPolicies), "ResourceQuota": keys(r.Quotas),
		"ServiceAccount": keys(r.ServiceAccounts), "Secret": keys(r.Secrets), "PersistentVolumeClaim": keys(r.PVCs)} {
		for _, n := range names {
			bad(kind+" "+n, validation.IsDNS1123Subdomain(n))
		}
	}
	for name := range r.Namespaces {
		bad("Namespace "+name, validation.IsDNS1123Label(name))
	}
}
