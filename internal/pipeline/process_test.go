package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// binary is the convertor binary the process tests run, built once per
// test binary into a directory TestMain removes.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// convertorBinary builds ./cmd/convertor of this module, once.
func convertorBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			binary.err = err
			return
		}
		if binary.dir, err = os.MkdirTemp("", "pipeline-convertor-"); err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(binary.dir, "convertor")
		cmd := exec.Command("go", "build", "-o", binary.path, "./cmd/convertor")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/convertor: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// moduleRoot walks up from the working directory to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// service is one `convertor <command>` process that a test kills and
// starts again. Its output, across restarts, goes to a file shown when
// the test fails.
type service struct {
	t       testing.TB
	command string
	env     []string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil while stopped
	exited chan struct{} // closed when cmd has been waited for
	starts int
}

// startService starts `convertor command` with the pipeline's
// configuration and nothing else from the test's environment; it is
// killed when the test ends.
func (p *pipeline) startService(command string) *service {
	p.t.Helper()
	return p.startServiceWith(command, nil)
}

// startServiceWith is startService with more settings, which override the
// pipeline's: a service of its own kind (the gateway) or one that reaches
// a server another way (through a proxy).
func (p *pipeline) startServiceWith(command string, vars map[string]string) *service {
	t := p.t
	t.Helper()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_EC2_METADATA_DISABLED=true",
		"LOG_LEVEL=warn",
	}
	all := maps.Clone(p.vars)
	maps.Copy(all, vars)
	for _, k := range slices.Sorted(maps.Keys(all)) {
		env = append(env, k+"="+all[k])
	}
	s := &service{t: t, command: command, env: env, logPath: filepath.Join(t.TempDir(), command+".log")}
	s.start()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			if b, err := os.ReadFile(s.logPath); err == nil {
				t.Logf("convertor %s output (%d starts):\n%s", command, s.starts, lastLines(string(b), 40))
			}
		}
	})
	return s
}

// start starts the process; a no-op when it runs.
func (s *service) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	out, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	fmt.Fprintf(out, "--- start %d\n", s.starts+1)
	cmd := exec.Command(convertorBinary(s.t), s.command)
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env, out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start convertor %s: %v", s.command, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	s.starts++
}

// kill sends SIGKILL, as a crash or an OOM kill would end it, and waits
// for the process to be gone; a no-op when stopped.
func (s *service) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// running reports whether the process is still alive: a service that
// exits on its own has failed.
func (s *service) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// TestPipeline_ConsumersKilled runs the accountant and the aggregator as
// processes of the real binary and kills each with SIGKILL in the middle
// of the load, twice, starting it again each time: whatever they held
// unacknowledged is redelivered, what they wrote before dying is not
// counted again, and the totals are exact.
func TestPipeline_ConsumersKilled(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, natsVars(t, testenv.NATS(t)), false)
	acc := p.startService("accountant")
	agg := p.startService("aggregator")
	client := p.startGateway(gatewayOptions{})
	secret, key := p.newKey(nil)
	w := newWindow()
	reqs := makeLoad(loadSize)
	first, second, third, fourth := quarters(reqs)
	d := &driver{client: client, secret: secret, workers: 8}
	ctx := context.Background()

	// stored and applied count what the consumers have written so far.
	stored := func() int {
		n := 0
		p.usage.Usage(ctx, w.from, w.to, key.ID, func(recs []*convertor.UsageRecord) error {
			n += len(recs)
			return nil
		})
		return n
	}
	applied := func() int64 {
		spent, _ := p.stats.MonthSpend(ctx, key.ID, time.Now())
		return spent
	}

	d.send(t, first)
	waitUntil(t, "the accountant to store records", func() bool { return stored() > 0 })
	waitUntil(t, "the aggregator to apply records", func() bool { return applied() > 0 })

	// Each kill lands while requests are in flight and events arrive.
	sent := d.sendAsync(t, second)
	killWhile(t, d, len(first), acc)
	<-sent
	acc.start()

	sent = d.sendAsync(t, third)
	killWhile(t, d, len(first)+len(second), agg)
	<-sent
	agg.start()

	sent = d.sendAsync(t, fourth)
	killWhile(t, d, len(first)+len(second)+len(third), acc, agg)
	<-sent
	acc.start()
	agg.start()
	w.close()

	p.converge(key.ID, w, truthOf(t, reqs...), p.natsQuiet())
	p.checkNoDrops()
	for _, s := range []*service{acc, agg} {
		if !s.running() {
			t.Errorf("convertor %s exited on its own", s.command)
		}
	}
}

// killWhile waits until a few requests past done have been answered, then
// kills svcs.
func killWhile(t *testing.T, d *driver, done int, svcs ...*service) {
	t.Helper()
	waitUntil(t, "requests of the phase", func() bool { return d.done.Load() > int64(done+10) })
	for _, s := range svcs {
		s.kill()
	}
}
