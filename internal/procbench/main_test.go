package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the fake Bedrock, as the command
// re-executes itself for it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "fake-bedrock" || os.Args[1] == "services") {
		os.Exit(serveMode(os.Args[1]))
	}
	os.Exit(m.Run())
}

// TestRun runs the whole measurement briefly against a freshly built
// convertor binary: every request of every path must succeed and every
// held stream end whole, so the command keeps working between the runs
// that quote its figures.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the convertor binary")
	}
	bin := filepath.Join(t.TempDir(), "convertor")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/convertor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := options{bin: bin, duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond, levels: []int{1, 4}, streams: 50}
	if err := run(t.Context(), o); err != nil {
		t.Fatal(err)
	}

	// -full: the same through a gateway that authenticates a stored key,
	// counts limits in Redis and publishes usage events.
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("-full needs redis-server, which CI installs")
		}
		t.Skip("-full not run: no redis-server on the PATH")
	}
	o.full, o.streams, o.levels = true, 0, []int{4}
	if err := run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
}

// TestCPURatio: the ratio the CPU per request of the three processes
// allows, from each run's totals.
func TestCPURatio(t *testing.T) {
	direct := result{n: 1000, loadCPU: 40 * time.Millisecond, fakeCPU: 30 * time.Millisecond}
	g := result{n: 500, loadCPU: 20 * time.Millisecond, fakeCPU: 20 * time.Millisecond, cpu: 35 * time.Millisecond}
	// Direct: 40 + 30 µs a request; through the gateway: 40 + 40 + 70.
	if got, want := cpuRatio(direct, g), 70.0/150; got != want {
		t.Errorf("cpuRatio = %v, want %v", got, want)
	}
	if got := cpuRatio(direct, result{}); got != 0 {
		t.Errorf("cpuRatio with no gateway requests = %v, want 0", got)
	}
}
