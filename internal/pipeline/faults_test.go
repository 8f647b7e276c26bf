package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// quarters splits reqs into four phases of a load.
func quarters(reqs []request) (a, b, c, d []request) {
	n := len(reqs) / 4
	return reqs[:n], reqs[n : 2*n], reqs[2*n : 3*n], reqs[3*n:]
}

// breakMidLoad sends the load in phases: the first, then the second in
// the background with fault applied while it is in flight, then the
// third while the fault lasts (so the pipeline surely has work while
// broken), then waitFelt, recover, and the last phase.
func breakMidLoad(t *testing.T, d *driver, reqs []request, fault, waitFelt, recover func()) {
	t.Helper()
	first, second, third, fourth := quarters(reqs)
	d.send(t, first)
	sent := d.sendAsync(t, second)
	waitUntil(t, "requests of the second phase", func() bool { return d.done.Load() > int64(len(first)+5) })
	fault()
	<-sent
	d.send(t, third)
	waitFelt()
	recover()
	d.send(t, fourth)
}

// TestPipeline_NATSRestart stops the NATS server in the middle of the
// load and starts it again later: the gateway spools the events meanwhile
// and sends them once the server is back, the consumers reconnect, and the
// totals are exact.
func TestPipeline_NATSRestart(t *testing.T) {
	t.Parallel()
	ns := testenv.StartNATS(t)
	p := newPipeline(t, natsVars(t, ns.URL()), false)
	p.runConsumers()
	client := p.startGateway(gatewayOptions{})
	secret, key := p.newKey(nil)
	w := newWindow()
	reqs := makeLoad(loadSize)
	d := &driver{client: client, secret: secret, workers: 8}
	breakMidLoad(t, d, reqs, ns.Stop, func() {
		waitUntil(t, "events spooled while NATS is down", func() bool { return counterValue(p.metrics.Spooled) > 0 })
	}, ns.Start)
	w.close()

	p.converge(key.ID, w, truthOf(t, reqs...), p.natsQuiet())
	p.checkNoDrops()
	if got := counterValue(p.metrics.Replayed); got == 0 {
		t.Errorf("no event was replayed from the spool (spooled %v)", counterValue(p.metrics.Spooled))
	}
}

// TestPipeline_DynamoDBUnavailable makes the accounting store refuse every
// request (503s and dropped connections) in the middle of the load, until
// the consumers have felt it, and then brings it back: the consumers hold
// their failing batches and apply them once it is back, and the totals are
// exact.
func TestPipeline_DynamoDBUnavailable(t *testing.T) {
	t.Parallel()
	// The keys live elsewhere: the gateway must keep authenticating while
	// the accounting store is down.
	p := newPipeline(t, natsVars(t, testenv.NATS(t)), true)
	p.runConsumers()
	client := p.startGateway(gatewayOptions{})
	secret, key := p.newKey(nil)
	w := newWindow()
	reqs := makeLoad(loadSize)
	d := &driver{client: client, secret: secret, workers: 8}
	breakMidLoad(t, d, reqs, func() { p.dynamo.down.Store(true) }, func() {
		// The consumers have work for the store; wait until it has
		// turned many of their requests away.
		waitUntil(t, "the store to refuse requests", func() bool { return p.dynamo.refused.Load() >= 20 })
	}, func() { p.dynamo.down.Store(false) })
	w.close()

	p.converge(key.ID, w, truthOf(t, reqs...), p.natsQuiet())
	p.checkNoDrops()
}

// TestPipeline_BudgetRefused gives a key a small monthly budget: it is
// served until its spend, as the aggregator keeps it, passes the budget,
// and refused with insufficient_quota from then on; the refusals are
// accounted too.
func TestPipeline_BudgetRefused(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, natsVars(t, testenv.NATS(t)), false)
	p.runConsumers()
	client := p.startGateway(gatewayOptions{spend: true})
	// Each request costs 100×3 + 50×15 = 1,050 µ$ at Sonnet 4.5's global
	// price, so the fifth one passes the budget.
	const budget = 5_000
	paid := request{model: "claude-sonnet-4-5", in: 100, out: 50}
	require(t, expected(t, paid).CostMicros == 1_050, "cost of %+v = %d", paid, expected(t, paid).CostMicros)
	secret, key := p.newKey(func(k *convertor.APIKey) { k.MonthlyBudgetMicros = budget })
	w := newWindow()
	d := &driver{client: client, secret: secret}

	// Send one request at a time until the first refusal; the spend the
	// gateway reads lags by the aggregator's batch and the gateway's cache
	// of it, so how many requests pass the budget depends on the machine.
	var reqs []request
	var spentBefore int64
	deadline := time.Now().Add(convergeTimeout)
	for refused := false; !refused; time.Sleep(50 * time.Millisecond) {
		err := d.do(paid)
		switch {
		case err == nil:
			reqs = append(reqs, paid)
			spentBefore += expected(t, paid).CostMicros
		case isQuotaRefusal(err):
			refused = true
			reqs = append(reqs, request{model: paid.model, fail: true})
		default:
			t.Fatalf("request %d: %v", len(reqs), err)
		}
		require(t, time.Now().Before(deadline), "no refusal after %d requests costing %d µ$ of a %d µ$ budget", len(reqs), spentBefore, budget)
	}
	if spentBefore < budget {
		t.Errorf("refused after %d µ$ of spend, below the budget of %d", spentBefore, budget)
	}
	// Once refused, refused again: the spend does not go down.
	for range 3 {
		if err := d.do(paid); !isQuotaRefusal(err) {
			t.Fatalf("after the first refusal: err = %v, want insufficient_quota", err)
		}
		reqs = append(reqs, request{model: paid.model, fail: true})
	}
	w.close()

	// The month spend, checked here with the rest, is what was paid.
	p.converge(key.ID, w, truthOf(t, reqs...), p.natsQuiet())
	p.checkNoDrops()
}

// isQuotaRefusal reports whether err is the gateway's refusal of a key
// past its budget.
func isQuotaRefusal(err error) bool {
	var apiErr *openai.Error
	return errors.As(err, &apiErr) && apiErr.StatusCode == 429 && apiErr.Code == "insufficient_quota"
}
