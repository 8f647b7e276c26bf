package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output events
	Test       string
	Output     string
}

// report turns the events into plain go test output and a skip summary.
// Not safe for concurrent use.
type report struct {
	w io.Writer
	// output is each running test's output so far, keyed by package and
	// test, printed only if the test fails.
	output map[string][]string
	// skips groups the skipped tests by reason.
	skips map[string]*skipGroup
	order []string
}

// skipGroup is the tests that skipped for one reason.
type skipGroup struct {
	tests    int
	packages []string
}

func newReport(w io.Writer) *report {
	return &report{w: w, output: map[string][]string{}, skips: map[string]*skipGroup{}}
}

// read consumes the event stream. A line that is not an event (go test's
// own complaints before any package runs) is printed as it is.
func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			fmt.Fprintln(r.w, sc.Text())
			continue
		}
		r.event(&ev)
	}
	return sc.Err()
}

func (r *report) event(ev *event) {
	key := ev.Package + "\x00" + ev.Test
	switch {
	case ev.Action == "build-output":
		io.WriteString(r.w, ev.Output)
	case ev.Test == "":
		// Package level: the ok/FAIL/no test files lines, and what a
		// test binary prints outside tests. "PASS" is what -v adds.
		if ev.Action == "output" && ev.Output != "PASS\n" && !isFraming(ev.Output) {
			io.WriteString(r.w, ev.Output)
		}
	case ev.Action == "output":
		if !isFraming(ev.Output) {
			r.output[key] = append(r.output[key], ev.Output)
		}
	case ev.Action == "fail":
		for _, line := range r.output[key] {
			io.WriteString(r.w, line)
		}
		delete(r.output, key)
	case ev.Action == "skip":
		r.skip(ev.Package, skipReason(r.output[key]))
		delete(r.output, key)
	case ev.Action == "pass":
		delete(r.output, key)
	}
}

// isFraming reports whether a line is one that only -v prints.
func isFraming(line string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// logLine is a t.Log or t.Skip line: indented, with the file and line.
var logLine = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)

// skipReason is the last message a skipped test logged, which is the one
// t.Skip gave.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if m := logLine.FindStringSubmatch(strings.TrimRight(lines[i], "\n")); m != nil {
			return m[1]
		}
	}
	return "(no reason given)"
}

func (r *report) skip(pkg, reason string) {
	g := r.skips[reason]
	if g == nil {
		g = &skipGroup{}
		r.skips[reason] = g
		r.order = append(r.order, reason)
	}
	g.tests++
	if !slices.Contains(g.packages, pkg) {
		g.packages = append(g.packages, pkg)
	}
}

// summary prints the skipped tests by reason, most first; nothing when
// none skipped.
func (r *report) summary() {
	total := 0
	for _, g := range r.skips {
		total += g.tests
	}
	if total == 0 {
		return
	}
	slices.SortStableFunc(r.order, func(a, b string) int { return r.skips[b].tests - r.skips[a].tests })
	noun := "tests"
	if total == 1 {
		noun = "test"
	}
	fmt.Fprintf(r.w, "\nskipped %d %s, by reason:\n", total, noun)
	for _, reason := range r.order {
		g := r.skips[reason]
		fmt.Fprintf(r.w, "%6d  %s\n        in %s\n", g.tests, reason, strings.Join(shortNames(g.packages), ", "))
	}
}

// module is the path the packages of this module share.
const module = "github.com/openai-api-convertor/convertor"

// shortNames drops the module path from the packages' import paths.
func shortNames(pkgs []string) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		switch {
		case p == module:
			p = "."
		case strings.HasPrefix(p, module+"/"):
			p = p[len(module)+1:]
		}
		out[i] = p
	}
	slices.Sort(out)
	return out
}
