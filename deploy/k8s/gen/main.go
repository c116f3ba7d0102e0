// Command gen writes the per-service Kubernetes manifests under deploy/k8s
// from the service registry (internal/app.Services) and the seed's scaling
// table below, so the 33 services cannot drift apart: each runs our one
// image with QUIKAPP_SERVICES set to its name, on the seed's port, with the
// same probes, security context and configuration references.
//
//	go run ./deploy/k8s/gen            # rewrite deploy/k8s (scripts/gen-k8s)
//	go run ./deploy/k8s/gen -out DIR   # write elsewhere (the staleness test)
package main

import (
	"bytes"
	"embed"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/template"

	"github.com/quikapp/quikapp/internal/app"
)

// scale is what the seed says of one service besides its port.
type scale struct {
	tier     string // api, backend, realtime or ml: the seed's tier label
	min, max int    // the seed's replica range (the HPA's)
}

// seed is the seed's summary tables. Its ml tier asks for GPUs there; ours
// runs no models, so it gets no GPU request (which would leave the pods
// unschedulable on clusters without one).
var seed = map[string]scale{
	"backend-gateway":           {"api", 3, 30},
	"auth-service":              {"backend", 2, 20},
	"user-service":              {"backend", 2, 15},
	"permission-service":        {"backend", 2, 10},
	"audit-service":             {"backend", 2, 10},
	"admin-service":             {"backend", 1, 5},
	"realtime-service":          {"realtime", 2, 20},
	"elixir-realtime":           {"realtime", 3, 30},
	"presence-service":          {"realtime", 2, 20},
	"event-broadcast-service":   {"realtime", 2, 10},
	"notification-service":      {"backend", 2, 15},
	"notification-orchestrator": {"backend", 2, 15},
	"call-service":              {"realtime", 2, 25},
	"huddle-service":            {"realtime", 2, 15},
	"message-service":           {"backend", 2, 20},
	"thread-service":            {"backend", 2, 10},
	"bookmark-service":          {"backend", 1, 5},
	"reminder-service":          {"backend", 1, 5},
	"workspace-service":         {"backend", 2, 15},
	"channel-service":           {"backend", 2, 15},
	"search-service":            {"backend", 2, 20},
	"media-service":             {"backend", 2, 15},
	"file-service":              {"backend", 2, 15},
	"attachment-service":        {"backend", 2, 10},
	"cdn-service":               {"backend", 2, 10},
	"analytics-service":         {"backend", 2, 10},
	"insights-service":          {"ml", 1, 5},
	"moderation-service":        {"backend", 2, 10},
	"ml-service":                {"ml", 2, 10},
	"sentiment-service":         {"ml", 2, 8},
	"smart-reply-service":       {"ml", 2, 10},
	"export-service":            {"backend", 1, 5},
	"integration-service":       {"backend", 2, 10},
}

// resources per tier, sized for a Go process (the seed's figures are for
// JVM, Node, BEAM and Python runtimes); the live overlay raises the
// gateway's and realtime's.
type resources struct{ ReqCPU, ReqMem, LimCPU, LimMem string }

var tierResources = map[string]resources{
	"api":      {"100m", "128Mi", "1000m", "512Mi"},
	"backend":  {"50m", "64Mi", "500m", "256Mi"},
	"realtime": {"250m", "256Mi", "2000m", "1Gi"},
	"ml":       {"50m", "64Mi", "500m", "256Mi"},
}

// service is one Deployment's template data.
type service struct {
	Name, Module, Tier string
	Port, Min, Max     int
	Res                resources
	Realtime           bool // scales on quikapp_realtime_connections too
}

//go:embed templates/*.yaml
var templates embed.FS

var tmpl = template.Must(template.New("").Option("missingkey=error").ParseFS(templates, "templates/*.yaml"))

func main() {
	out := flag.String("out", "deploy/k8s", "directory to write services/ and overlays/single/ into")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func services() ([]service, error) {
	var out []service
	for _, s := range app.Services {
		sc, ok := seed[s.Name]
		if !ok {
			return nil, fmt.Errorf("service %s is in the registry but not in the seed table", s.Name)
		}
		out = append(out, service{Name: s.Name, Module: s.Module, Tier: sc.tier, Port: s.Port, Min: sc.min, Max: sc.max,
			Res: tierResources[sc.tier], Realtime: s.Module == "realtime"})
	}
	if len(out) != len(seed) {
		return nil, fmt.Errorf("the seed table has %d services, the registry %d", len(seed), len(out))
	}
	return out, nil
}

// file is one generated file: the template that renders it and its data.
type file struct {
	tmpl string
	data any
}

func generate(dir string) error {
	svcs, err := services()
	if err != nil {
		return err
	}
	files := map[string]file{}
	var names []string
	for _, s := range svcs {
		names = append(names, s.Name)
		for _, t := range []string{"kustomization.yaml", "deployment.yaml", "service.yaml", "hpa.yaml"} {
			files[filepath.Join("services", s.Name, t)] = file{"service-" + t, s}
		}
	}
	slices.Sort(names)
	files[filepath.Join("services", "kustomization.yaml")] = file{"services-kustomization.yaml", names}
	// One process runs every service, so it gets realtime's resources.
	single := service{Name: "quikapp", Module: "all", Tier: "api", Port: 3000, Min: 1, Max: 1, Res: tierResources["realtime"]}
	files[filepath.Join("overlays", "single", "quikapp.yaml")] = file{"single.yaml", single}

	for path, f := range files {
		var b bytes.Buffer
		b.WriteString("# Generated by deploy/k8s/gen (scripts/gen-k8s) from internal/app's service registry; do not edit.\n")
		if err := tmpl.ExecuteTemplate(&b, f.tmpl, f.data); err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
