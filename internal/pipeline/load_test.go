package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/accountant"
)

// Models of the load: two, so that per-model roll-ups are told apart,
// with the default routes' Bedrock ids, which decide their prices.
var loadModels = []struct {
	name, model, route string
}{
	{"claude-sonnet-4-5", "anthropic.claude-sonnet-4-5-20250929-v1:0", "global"},
	{"claude-haiku-4-5", "anthropic.claude-haiku-4-5-20251001-v1:0", "global"},
}

// request is one request of a load: what it asks the emulator for, which
// is the ground truth of its usage.
type request struct {
	model                   string
	in, out, cacheR, cacheW int64
	stream                  bool
	// fail asks the emulator for a ValidationException: a 400 that
	// reached Bedrock, counted as a request and an error without tokens.
	fail bool
}

// prompt is the emulator script that makes the response's usage exact.
func (r request) prompt() string {
	if r.fail {
		return "@emulator error ValidationException the pipeline test asked for it"
	}
	return fmt.Sprintf("@emulator usage in %d out %d\n@emulator cache read %d write %d", r.in, r.out, r.cacheR, r.cacheW)
}

// makeLoad returns n requests, varied in model, token counts (cache
// tokens on some, so that rounding happens), streaming and failures.
// Input counts start at 100, so the hand-priced request of
// TestPipeline_NATS (11 input tokens) is unique among them.
func makeLoad(n int) []request {
	reqs := make([]request, n)
	for i := range reqs {
		r := request{
			model:  loadModels[i%len(loadModels)].name,
			in:     int64(100 + i*37%1900),
			out:    int64(1 + i*13%700),
			stream: i%3 == 0,
		}
		if i%4 == 1 {
			r.cacheR, r.cacheW = int64(i*11%3001), int64(i*5%701)
		}
		if i%29 == 7 {
			r = request{model: r.model, fail: true}
		}
		reqs[i] = r
	}
	return reqs
}

// counts are the totals the pipeline must reproduce for one model.
type counts struct {
	Requests, Errors                     int64
	Input, Output, CacheRead, CacheWrite int64
	CostMicros                           int64
}

func (c *counts) add(o counts) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.Input += o.Input
	c.Output += o.Output
	c.CacheRead += o.CacheRead
	c.CacheWrite += o.CacheWrite
	c.CostMicros += o.CostMicros
}

// truth is the ground truth per model name.
type truth map[string]counts

func (tr truth) add(model string, c counts) {
	cur := tr[model]
	cur.add(c)
	tr[model] = cur
}

func (tr truth) total() counts {
	var c counts
	for _, v := range tr {
		c.add(v)
	}
	return c
}

// defaultPrice returns the default price of a model on a route, looked up
// in the seeded table directly rather than through the accountant's
// lookup, which is under test.
func defaultPrice(t testing.TB, model, route string) convertor.Price {
	t.Helper()
	var found *convertor.Price
	for i, p := range accountant.DefaultPrices {
		// The newest, which prices today's events.
		if p.Model == model && p.Route == route && (found == nil || p.EffectiveFrom.After(found.EffectiveFrom)) {
			found = &accountant.DefaultPrices[i]
		}
	}
	if found == nil {
		t.Fatalf("no default price for %s on route %q", model, route)
		return convertor.Price{}
	}
	return *found
}

// expected is what r must add to its model's totals.
func expected(t testing.TB, r request) counts {
	t.Helper()
	if r.fail {
		return counts{Requests: 1, Errors: 1}
	}
	var price convertor.Price
	for _, m := range loadModels {
		if m.name == r.model {
			price = defaultPrice(t, m.model, m.route)
		}
	}
	ev := &convertor.UsageEvent{InputTokens: r.in, OutputTokens: r.out, CacheReadTokens: r.cacheR, CacheWriteTokens: r.cacheW}
	return counts{
		Requests: 1, Input: r.in, Output: r.out, CacheRead: r.cacheR, CacheWrite: r.cacheW,
		CostMicros: convertor.Cost(ev, price),
	}
}

// truthOf is the ground truth of reqs.
func truthOf(t testing.TB, reqs ...request) truth {
	t.Helper()
	tr := truth{}
	for _, r := range reqs {
		tr.add(r.model, expected(t, r))
	}
	return tr
}

// driver sends requests with one key through the SDK and checks each
// answer against what the request asked for.
type driver struct {
	client openai.Client
	secret string
	// workers is how many requests are in flight at once.
	workers int
	// done counts requests answered.
	done atomic.Int64
}

// send sends reqs, workers at a time, and returns when all are answered.
// A request that does not get the answer it asked for fails t (from any
// goroutine, so with Errorf): the ground truth would be wrong.
func (d *driver) send(t *testing.T, reqs []request) {
	t.Helper()
	work := make(chan request)
	var wg sync.WaitGroup
	for range max(d.workers, 1) {
		wg.Go(func() {
			for r := range work {
				if err := d.do(r); err != nil {
					t.Errorf("request %+v: %v", r, err)
				}
				d.done.Add(1)
			}
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
}

// sendAsync sends reqs in the background; the channel closes when all are
// answered.
func (d *driver) sendAsync(t *testing.T, reqs []request) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.send(t, reqs)
	}()
	return done
}

// do sends one request and checks its answer: the usage the emulator was
// told to report, or the 400 it was told to fail with.
func (d *driver) do(r request) error {
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    r.model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(r.prompt())},
	}
	key := option.WithAPIKey(d.secret)
	var usage openai.CompletionUsage
	switch {
	case r.fail:
		_, err := d.client.Chat.Completions.New(ctx, params, key)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
			return fmt.Errorf("err = %v, want a 400 API error", err)
		}
		return nil
	case r.stream:
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := d.client.Chat.Completions.NewStreaming(ctx, params, key)
		for stream.Next() {
			if c := stream.Current(); c.JSON.Usage.Valid() && c.Usage.TotalTokens > 0 {
				usage = c.Usage
			}
		}
		if err := stream.Err(); err != nil {
			return fmt.Errorf("stream: %w", err)
		}
	default:
		resp, err := d.client.Chat.Completions.New(ctx, params, key)
		if err != nil {
			return err
		}
		usage = resp.Usage
	}
	if usage.PromptTokens != r.in+r.cacheR+r.cacheW || usage.CompletionTokens != r.out || usage.PromptTokensDetails.CachedTokens != r.cacheR {
		return fmt.Errorf("usage = prompt %d (cached %d), completion %d; want prompt %d (cached %d), completion %d",
			usage.PromptTokens, usage.PromptTokensDetails.CachedTokens, usage.CompletionTokens, r.in+r.cacheR+r.cacheW, r.cacheR, r.out)
	}
	return nil
}
