package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor/internal/devstack"
)

// The -full run measures the gateway as a team deploys it: a per-client
// key read from DynamoDB (cached), request and token limits counted in
// Redis, a monthly budget, and a usage event per request published to
// NATS JetStream. The stores run in processes of their own so that only
// the gateway's work is in the gateway's CPU: DynamoDB and NATS in this
// binary's "services" mode, Redis as redis-server.

// serveServices runs the "services" mode: a DynamoDB-compatible server and
// NATS with JetStream, whose addresses it prints on one line, until ctx
// ends.
func serveServices(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "procbench-nats")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := devstack.StartDynamoDB(devstack.DynamoDBOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer db.Close()
	ns, err := devstack.StartNATS(devstack.NATSOptions{StoreDir: dir})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	fmt.Println(db.Endpoint(), ns.URL())
	<-ctx.Done()
	return nil
}

// fullStack is what a -full run starts besides the plain run's processes.
type fullStack struct {
	services, redis *child
	env             []string // the gateway's settings for keys, limits and events
	secret          string
}

func (f *fullStack) stop() {
	for _, c := range []*child{f.services, f.redis} {
		if c != nil {
			c.stop()
		}
	}
}

// startFull starts the stores, creates the tables and a key with the
// convertor binary's own commands, and returns the settings that point a
// gateway at them.
func startFull(ctx context.Context, bin, dir string) (_ *fullStack, err error) {
	redisServer, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("-full needs redis-server on the PATH (apt-get install redis-server)")
	}
	f := &fullStack{}
	defer func() {
		if err != nil {
			f.stop()
		}
	}()
	f.services, err = startSelf(ctx, dir, "services")
	if err != nil {
		return nil, err
	}
	dynamo, natsURL, ok := strings.Cut(f.services.addr, " ")
	if !ok {
		return nil, fmt.Errorf("services mode printed %q, want two addresses", f.services.addr)
	}
	if f.redis, err = startRedis(ctx, redisServer, dir); err != nil {
		return nil, err
	}
	f.env = []string{
		"REQUIRE_API_KEY=true", "KEY_STORE=dynamodb", "DYNAMODB_ENDPOINT_URL=" + dynamo,
		"REDIS_URL=redis://" + f.redis.addr, "RATE_LIMIT_ENABLED=true",
		"NATS_URL=" + natsURL, "USAGE_SPOOL_DIR=" + filepath.Join(dir, "spool"),
	}
	if _, err := runConvertor(ctx, bin, f.env, "tables", "create"); err != nil {
		return nil, err
	}
	// A budgeted key is refused a model without a price.
	if _, err := runConvertor(ctx, bin, f.env, "prices", "set", "--model", modelID,
		"--input", "1", "--output", "5", "--source", "procbench"); err != nil {
		return nil, err
	}
	// Limits far above what the run sends: every request is counted and
	// none refused.
	out, err := runConvertor(ctx, bin, f.env, "keys", "create", "--name", "procbench",
		"--rpm", "100000000", "--tpm", "1000000000", "--budget-usd", "1000000")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(out, "\n")[1:] {
		if s := strings.TrimSpace(line); s != "" {
			f.secret = s
			break
		}
	}
	if f.secret == "" {
		return nil, fmt.Errorf("convertor keys create printed no secret: %s", out)
	}
	return f, nil
}

// runConvertor runs a convertor command with the run's settings and
// returns its standard output.
func runConvertor(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), gatewayEnv...)
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("convertor %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// startRedis runs redis-server without persistence on a free port and
// waits until it answers PING.
func startRedis(ctx context.Context, redisServer, dir string) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.CommandContext(ctx, redisServer, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	c, logName, err := startLogged(cmd, dir, "redis", addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pingRedis(addr) == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			log, _ := os.ReadFile(logName)
			return nil, fmt.Errorf("redis-server on %s did not answer: %s", addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pingRedis(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
