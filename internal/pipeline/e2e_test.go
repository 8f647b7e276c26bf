package pipeline

import (
	"context"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// loadSize is the number of requests of each test: enough for many
// batches and several hundred roll-up updates, small enough to run under
// -race in seconds.
const loadSize = 240

// handPriced is one request priced by hand below, sent in the end-to-end
// tests besides the load.
var handPriced = request{model: "claude-sonnet-4-5", in: 11, out: 7, cacheR: 5, cacheW: 3}

// handPricedMicros is handPriced's cost at Claude Sonnet 4.5's global
// price, $3 input, $15 output, $0.30 cache read and $3.75 cache write per
// million tokens, that is 3, 15, 0.3 and 3.75 micro-dollars per token:
// 11×3 + 7×15 + 5×0.3 + 3×3.75 = 33 + 105 + 1.5 + 11.25 = 150.75, rounded
// half up once per request to 151.
const handPricedMicros = 151

func TestGroundTruth_HandPriced(t *testing.T) {
	if got := expected(t, handPriced).CostMicros; got != handPricedMicros {
		t.Errorf("cost of %+v = %d µ$, want %d by hand", handPriced, got, handPricedMicros)
	}
	// Claude Haiku 4.5 global: $1, $5, $0.10, $1.25 per million tokens:
	// 1000×1 + 200×5 + 3000×0.1 + 100×1.25 = 1000 + 1000 + 300 + 125.
	haiku := request{model: "claude-haiku-4-5", in: 1000, out: 200, cacheR: 3000, cacheW: 100}
	if got := expected(t, haiku).CostMicros; got != 2425 {
		t.Errorf("cost of %+v = %d µ$, want 2425 by hand", haiku, got)
	}
	if got := expected(t, request{model: "claude-haiku-4-5", fail: true}); got != (counts{Requests: 1, Errors: 1}) {
		t.Errorf("failed request counts = %+v, want one request, one error, nothing else", got)
	}
}

func TestPipeline_NATS(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, natsVars(t, testenv.NATS(t)), false)
	runEndToEnd(t, p, p.natsQuiet())
}

func TestPipeline_SQS(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, sqsVars(t, testenv.SQS(t)), false)
	runEndToEnd(t, p, p.sqsQuiet())
}

// runEndToEnd sends the load and the hand-priced request through the
// whole pipeline and checks the totals, and the hand-priced record.
func runEndToEnd(t *testing.T, p *pipeline, quiet func() error) {
	p.runConsumers()
	client := p.startGateway(gatewayOptions{})
	secret, key := p.newKey(nil)
	w := newWindow()
	reqs := append(makeLoad(loadSize), handPriced)
	d := &driver{client: client, secret: secret, workers: 8}
	d.send(t, reqs)
	w.close()

	p.converge(key.ID, w, truthOf(t, reqs...), quiet)
	p.checkNoDrops()

	var found []*convertor.UsageRecord
	err := p.usage.Usage(context.Background(), w.from, w.to, key.ID, func(recs []*convertor.UsageRecord) error {
		for _, r := range recs {
			if r.InputTokens == handPriced.in && r.OutputTokens == handPriced.out {
				found = append(found, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("found %d records of the hand-priced request, want 1", len(found))
	}
	if r := found[0]; r.CostMicros != handPricedMicros || r.Unpriced || r.Status != convertor.UsageOK || r.Model != handPriced.model {
		t.Errorf("hand-priced record = %+v, want cost %d µ$, priced, ok", r, handPricedMicros)
	}
}
