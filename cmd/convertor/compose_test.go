package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDockerCompose_PortsOnLoopback reads docker-compose.yml: only the
// gateway is published on every interface; the admin API and the data
// services (DynamoDB Local and its admin, NATS, Redis) only on 127.0.0.1,
// as none of them checks who writes to it.
func TestDockerCompose_PortsOnLoopback(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	service := regexp.MustCompile(`^  ([a-z0-9_-]+):\s*$`)
	entry := regexp.MustCompile(`"[^"]*"`)
	var current string
	inServices := false
	published := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "services:"):
			inServices = true
		case inServices && line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#"):
			inServices = false
		case inServices && service.MatchString(line):
			current = service.FindStringSubmatch(line)[1]
		case inServices && strings.HasPrefix(strings.TrimSpace(line), "ports:"):
			list := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "ports:"))
			if !strings.HasPrefix(list, "[") || !strings.HasSuffix(list, "]") {
				t.Fatalf("service %s: ports %q not a one-line list; this test reads only that form", current, list)
			}
			for _, q := range entry.FindAllString(list, -1) {
				p, err := strconv.Unquote(q)
				if err != nil {
					t.Fatal(err)
				}
				published[current] = append(published[current], p)
			}
		}
	}
	for _, want := range []string{"gateway", "adminapi", "dynamodb", "dynamodb-admin", "nats", "redis"} {
		if _, ok := published[want]; !ok {
			t.Errorf("service %s publishes no port (services read: %v)", want, published)
		}
	}
	for svc, ports := range published {
		for _, p := range ports {
			onLoopback := strings.HasPrefix(p, "127.0.0.1:")
			if svc == "gateway" && onLoopback {
				t.Errorf("gateway publishes %q on loopback only; clients must reach it", p)
			}
			if svc != "gateway" && !onLoopback {
				t.Errorf("service %s publishes %q on every interface; want 127.0.0.1", svc, p)
			}
		}
	}
}
