package deploy

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quikapp/quikapp/internal/app"
)

// The image the manifests run: both binaries where the manifests call
// them, the pod's user, static builds, and every port a manifest uses
// exposed.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, want := range []string{
		"CGO_ENABLED=0", "USER 65532:65532", "ENV QUIKAPP_DATA_DIR=/data",
		`ENTRYPOINT ["/usr/local/bin/quikapp"]`, "/out/quikapp /out/notifyd /usr/local/bin/",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	var exposed []int
	for _, m := range regexp.MustCompile(`(?m)^EXPOSE (.*)$`).FindAllStringSubmatch(text, -1) {
		for _, f := range strings.Fields(m[1]) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("EXPOSE %q", f)
			}
			exposed = append(exposed, n)
		}
	}
	want := []int{8080, 8081, 9090} // notifyd
	for _, s := range app.Services {
		want = append(want, s.Port)
	}
	for _, p := range want {
		if !slices.Contains(exposed, p) {
			t.Errorf("port %d is not EXPOSEd", p)
		}
	}
}
