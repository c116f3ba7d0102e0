package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CI runs every scenario once at a tiny size to prove it still works.
func TestStartupScenario(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "quikapp")
	build := exec.Command("go", "build", "-o", bin, "../quikapp")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runStartup([]string{"--bin", bin, "--runs", "2", "--idle", "0s"}, &out); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Scenario string
		Results  startupResults
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	r := rep.Results
	if rep.Scenario != "startup" || r.Errors != 0 || r.CleanExits != 2 || r.ReadyMsP50 <= 0 || r.IdleRSSBytes <= 0 || r.BinaryBytes <= 0 {
		t.Fatalf("implausible results: %+v", r)
	}
}

func TestNotifyScenario(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "notifyd")
	build := exec.Command("go", "build", "-o", bin, "../notifyd")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runNotify([]string{"--bin", bin, "--store", "sqlite", "--subscribers", "20", "--rate", "200", "--duration", "1s", "--catchup", "5"}, &out); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Scenario string
		Results  notifyResults
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	r := rep.Results
	if rep.Scenario != "notify" || r.Sent == 0 || r.Lost != 0 || r.SendErrors != 0 || r.Received != r.Sent ||
		!r.CatchupExact || r.CatchupClients != 5 || r.E2EMsP99 <= 0 {
		t.Fatalf("implausible results: %+v", r)
	}
}
