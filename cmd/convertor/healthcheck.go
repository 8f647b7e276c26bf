package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// defaultHealthcheckTimeout stays under the 5 s an ECS container health
// check waits by default, so a slow answer is reported as such rather than
// as a killed command.
const defaultHealthcheckTimeout = 4 * time.Second

const healthcheckUsage = `usage: convertor healthcheck [-timeout 4s] URL

GETs URL and exits 0 when it answers 2xx, 1 otherwise (saying why on
stderr). The container image has no shell or curl: docker-compose and ECS
health checks run this, e.g. convertor healthcheck http://127.0.0.1:8000/health
`

// runHealthcheck probes a service's health endpoint from inside its
// container.
func runHealthcheck(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "healthcheck")
	fs.Usage = func() { fmt.Fprint(env.stderr, healthcheckUsage) }
	timeout := fs.Duration("timeout", defaultHealthcheckTimeout, "how long to wait for the answer")
	if err := parseFlags(fs, args, 1); err != nil {
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	target := fs.Arg(0)
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(env.stderr, "convertor healthcheck: %q is not an http or https URL\n\n%s", target, healthcheckUsage)
		return errUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(env.stderr, "convertor healthcheck: -timeout must be positive, got %s\n", *timeout)
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	// Read a little of the body: a service that says why it is unhealthy
	// says it there.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s: %s", target, resp.Status, body)
	}
	return nil
}
