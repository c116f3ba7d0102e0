package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// The committed manifests are what the generator writes from today's
// registry: a service added to internal/app without `scripts/gen-k8s`
// fails here.
func TestCommittedManifestsAreCurrent(t *testing.T) {
	out := t.TempDir()
	if err := generate(out); err != nil {
		t.Fatal(err)
	}
	committed := ".." // deploy/k8s
	n := 0
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("deploy/k8s/%s is not what the generator writes; run scripts/gen-k8s and commit", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every generated service directory is one the generator still makes.
	dirs, err := os.ReadDir(filepath.Join(committed, "services"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(out, "services", d.Name())); d.IsDir() && err != nil {
			t.Errorf("deploy/k8s/services/%s is no longer a service; remove it", d.Name())
		}
	}
	if n < 33*4 {
		t.Fatalf("the generator wrote %d files", n)
	}
}

func TestGeneratorRefusesAnUnknownService(t *testing.T) {
	saved := seed["cdn-service"]
	delete(seed, "cdn-service")
	defer func() { seed["cdn-service"] = saved }()
	if err := generate(t.TempDir()); err == nil {
		t.Fatal("a registry service missing from the seed table was accepted")
	}
}
