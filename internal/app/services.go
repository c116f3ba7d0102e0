package app

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// ServiceInfo names one of the deployment's services (the seed's service
// list) and the module in this codebase that provides it. Several seed
// services map to one module: they are one capability split by the
// original deployment, and running any of them runs that module.
//
// The gateway is the API's front door: it serves the routes of every
// module but realtime, whose connections and presence live in the realtime
// nodes' memory (the ingress sends those paths there). Every other module
// is stateless over the shared database and bus, so a split deployment
// works whichever other services it runs, and each service's Deployment
// scales its module's routes and background work on its own.
type ServiceInfo struct {
	Name   string // the seed's service name, used in QUIKAPP_SERVICES
	Module string // the internal package that provides it
	Port   int    // the seed's HTTP port, used by the Kubernetes manifests
}

// Services is the registry of every service this binary can run.
var Services = []ServiceInfo{
	{"backend-gateway", "gateway", 3000},
	{"auth-service", "auth", 8081},
	{"user-service", "auth", 8083},
	{"permission-service", "access", 8085},
	{"audit-service", "audit", 8087},
	{"admin-service", "admin", 8089},
	{"realtime-service", "realtime", 3001},
	{"elixir-realtime", "realtime", 4000}, // the seed's consolidated realtime Deployment
	{"presence-service", "realtime", 4001},
	{"event-broadcast-service", "realtime", 4006},
	{"notification-service", "notify", 3002},
	{"notification-orchestrator", "notify", 4004},
	{"call-service", "call", 4002},
	{"huddle-service", "call", 4005},
	{"message-service", "message", 4003},
	{"thread-service", "message", 5010},
	{"bookmark-service", "message", 5012},
	{"reminder-service", "message", 5014},
	{"workspace-service", "workspace", 5004},
	{"channel-service", "channel", 5006},
	{"search-service", "search", 5008},
	{"media-service", "file", 5016},
	{"file-service", "file", 5018},
	{"attachment-service", "file", 5020},
	{"cdn-service", "file", 5022},
	{"analytics-service", "analytics", 5007},
	{"insights-service", "analytics", 5018},
	{"moderation-service", "moderation", 5014},
	{"ml-service", "assist", 5008},
	{"sentiment-service", "assist", 5017},
	{"smart-reply-service", "assist", 5019},
	{"export-service", "export", 5015},
	{"integration-service", "integration", 5016},
}

func serviceByName(name string) (ServiceInfo, bool) {
	i := slices.IndexFunc(Services, func(s ServiceInfo) bool { return s.Name == name })
	if i < 0 {
		return ServiceInfo{}, false
	}
	return Services[i], true
}

// gatewayModule stands for every module but realtime (see ServiceInfo).
const gatewayModule = "gateway"

// modules returns the set of modules the configured services need.
func modules(services []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range Services {
		if !slices.Contains(services, "all") && !slices.Contains(services, s.Name) {
			continue
		}
		out[s.Module] = true
		if s.Module == gatewayModule {
			for _, other := range Services {
				if other.Module != "realtime" && other.Module != gatewayModule {
					out[other.Module] = true
				}
			}
		}
	}
	return out
}

// PrintServices writes the registry.
func PrintServices(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tMODULE\tPORT")
	for _, s := range Services {
		fmt.Fprintf(tw, "%s\tinternal/%s\t%d\n", s.Name, s.Module, s.Port)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nQUIKAPP_SERVICES=all (the default) runs every service on one listener;")
	fmt.Fprintln(w, "a comma list runs a subset, e.g. QUIKAPP_SERVICES=backend-gateway,message-service.")
	fmt.Fprintln(w, "backend-gateway serves the REST API of every module but realtime, whose paths")
	fmt.Fprintln(w, "(/api/v1/realtime/, /api/v1/presence, /api/v1/users/me/presence) go to a realtime service.")
}

// Modules is the set of modules this configuration runs (see ServiceInfo
// for the gateway's).
func (c Config) Modules() map[string]bool { return modules(c.Services) }
