package testenv

import (
	"os"
	"strconv"
	"testing"
)

// BenchSize reads the size of a benchmark's workload, a positive integer,
// from the variable name (BENCH_*), or returns def when it is unset: CI
// runs every benchmark once on a small workload.
func BenchSize(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
