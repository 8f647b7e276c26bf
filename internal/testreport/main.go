// Command testreport runs `go test -json` with its arguments and prints
// what plain `go test` prints (a line per package, the output of failing
// tests, build errors), then one summary of the tests that were skipped,
// grouped by the reason they gave: a test that needs a server nobody
// started (Redis, the SQS server) skips, and plain `go test` shows a
// passing package whatever it skipped. It exits with go test's status.
//
//	go run ./internal/testreport -race -count=1 ./...
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	r := newReport(os.Stdout)
	if err := r.read(out); err != nil {
		fmt.Fprintf(os.Stderr, "testreport: read go test output: %v\n", err)
	}
	r.summary()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
}
