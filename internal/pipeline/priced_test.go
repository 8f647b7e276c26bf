package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// pricedCase is one request of TestPipeline_HandPriced, its usage scripted
// in the emulator (or, for what a client's hang-up leaves, emitted as the
// gateway emits it) and its cost worked out by hand from AWS's published
// rates in dollars per million tokens, which are micro-dollars per token.
// Input counts are distinct, so each record is found by them.
type pricedCase struct {
	name string
	// model is what the client sends: a default route's name or a
	// Bedrock inference-profile id passed through.
	model                         string
	in, out, read, write, write1h int64
	stream                        bool
	// fail asks Bedrock for a ValidationException: no tokens, no cost.
	fail bool
	// emitted cases do not go through the SDK: the event is published
	// on the bus as the gateway emits it for a client that hung up
	// mid-stream (canceled, disconnected, tokens estimated).
	emitted bool
	want    int64
}

// pricedCases are priced by hand at the default prices from 2025-12-01:
//
//	Opus 4.5/4.6  global 5 / 25 / read 0.5 / write 6.25 / 1h 10;  regional 5.5 / 27.5 / 0.55 / 6.875 / 11
//	Sonnet 4.5    global 3 / 15 / 0.3 / 3.75 / 6;                 regional 3.3 / 16.5 / 0.33 / 4.125 / 6.6
//	  above 200,000 prompt tokens: global 6 / 22.5 / 0.6 / 7.5 / 12; regional 6.6 / 24.75 / 0.66 / 8.25 / 13.2
//	Haiku 4.5     global 1 / 5 / 0.1 / 1.25 / 2;                  regional 1.1 / 5.5 / 0.11 / 1.375 / 2.2
//	3.5 Haiku     (us.) 0.8 / 4 / 0.08 / 1
//
// Each cost is the exact sum rounded half up once.
var pricedCases = []pricedCase{
	// 1000×5 + 200×25 = 5,000 + 5,000.
	{name: "Opus45Global", model: "claude-opus-4-5", in: 1000, out: 200, want: 10_000},
	// 1001×5.5 + 200×27.5 = 5,505.5 + 5,500 = 11,005.5 → 11,006.
	{name: "Opus45Regional", model: "us.anthropic.claude-opus-4-5-20251101-v1:0", in: 1001, out: 200, want: 11_006},
	// 1002×5 + 100×25 + 2000×0.5 + 400×6.25 = 5,010 + 2,500 + 1,000 + 2,500.
	{name: "Opus46GlobalCache", model: "claude-opus-4-6", in: 1002, out: 100, read: 2000, write: 400, want: 11_010},
	// 1003×5.5 + 100×27.5 + 400×11 (1h) = 5,516.5 + 2,750 + 4,400 = 12,666.5 → 12,667.
	{name: "Opus46Regional1h", model: "eu.anthropic.claude-opus-4-6-v1", in: 1003, out: 100, write: 400, write1h: 400, want: 12_667},
	// 1004×3 + 300×15 = 3,012 + 4,500.
	{name: "Sonnet45Global", model: "claude-sonnet-4-5", in: 1004, out: 300, want: 7_512},
	// 1005×3 + 10×15 + 5000×0.3 = 3,015 + 150 + 1,500.
	{name: "Sonnet45CacheRead", model: "claude-sonnet-4-5", in: 1005, out: 10, read: 5000, stream: true, want: 4_665},
	// 1006×3 + 10×15 + 2000×3.75 = 3,018 + 150 + 7,500.
	{name: "Sonnet45Write5m", model: "claude-sonnet-4-5", in: 1006, out: 10, write: 2000, want: 10_668},
	// 1007×3 + 10×15 + 2000×6 = 3,021 + 150 + 12,000.
	{name: "Sonnet45Write1h", model: "claude-sonnet-4-5", in: 1007, out: 10, write: 2000, write1h: 2000, want: 15_171},
	// 1008×3 + 10×15 + 2000×3.75 + 1000×6 = 3,024 + 150 + 7,500 + 6,000.
	{name: "Sonnet45BothTTLs", model: "claude-sonnet-4-5", in: 1008, out: 10, write: 3000, write1h: 1000, stream: true, want: 16_674},
	// 1009×3.3 + 10×16.5 + 1000×0.33 + 1000×4.125 = 3,329.7 + 165 + 330 + 4,125 = 7,949.7 → 7,950.
	{name: "Sonnet45Regional", model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", in: 1009, out: 10, read: 1000, write: 1000, want: 7_950},
	// Exactly 200,000 prompt tokens: base rates.
	// 150,000×3 + 1000×15 + 30,000×0.3 + 20,000×3.75 = 450,000 + 15,000 + 9,000 + 75,000.
	{name: "Sonnet45AtLongContextLine", model: "claude-sonnet-4-5", in: 150_000, out: 1000, read: 30_000, write: 20_000, want: 549_000},
	// 200,001: every token at long-context rates.
	// 150,001×6 + 1000×22.5 + 30,000×0.6 + 20,000×7.5 = 900,006 + 22,500 + 18,000 + 150,000.
	{name: "Sonnet45LongContext", model: "claude-sonnet-4-5", in: 150_001, out: 1000, read: 30_000, write: 20_000, want: 1_090_506},
	// 150,002×6.6 + 1000×24.75 + 30,000×0.66 + 20,000×8.25 = 990,013.2 + 24,750 + 19,800 + 165,000 = 1,199,563.2 → 1,199,563.
	{name: "Sonnet45LongContextRegional", model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", in: 150_002, out: 1000, read: 30_000, write: 20_000, want: 1_199_563},
	// 200,001×6 + 2000×22.5 + 10,000×12 (1h) = 1,200,006 + 45,000 + 120,000.
	{name: "Sonnet45LongContext1h", model: "claude-sonnet-4-5", in: 200_001, out: 2000, write: 10_000, write1h: 10_000, stream: true, want: 1_365_006},
	// 250,000×6 + 500×22.5 = 1,500,000 + 11,250.
	{name: "Sonnet45LongContextStreamed", model: "claude-sonnet-4-5", in: 250_000, out: 500, stream: true, want: 1_511_250},
	// 1010×1 + 400×5 + 3000×0.1 + 100×1.25 = 1,010 + 2,000 + 300 + 125.
	{name: "Haiku45Global", model: "claude-haiku-4-5", in: 1010, out: 400, read: 3000, write: 100, want: 3_435},
	// 1011×1.1 + 400×5.5 + 100×2.2 (1h) = 1,112.1 + 2,200 + 220 = 3,532.1 → 3,532.
	{name: "Haiku45Regional1h", model: "us.anthropic.claude-haiku-4-5-20251001-v1:0", in: 1011, out: 400, write: 100, write1h: 100, want: 3_532},
	// 1012×1 + 1×5 + 5000×2 (1h) = 1,012 + 5 + 10,000.
	{name: "Haiku45Write1hStreamed", model: "claude-haiku-4-5", in: 1012, out: 1, write: 5000, write1h: 5000, stream: true, want: 11_017},
	// 1013×0.8 + 100×4 + 2000×0.08 + 500×1 = 810.4 + 400 + 160 + 500 = 1,870.4 → 1,870.
	{name: "Haiku35", model: "claude-3-5-haiku", in: 1013, out: 100, read: 2000, write: 500, want: 1_870},
	// 1014×0.8 + 3×4 = 811.2 + 12 = 823.2 → 823.
	{name: "Haiku35Streamed", model: "claude-3-5-haiku", in: 1014, out: 3, stream: true, want: 823},
	// 1016×3 + 1×15 + 5×0.3 = 3,048 + 15 + 1.5 = 3,064.5 → 3,065: half rounds up.
	{name: "RoundsHalfUp", model: "claude-sonnet-4-5", in: 1016, out: 1, read: 5, want: 3_065},
	// A request Bedrock refused: counted, no tokens, no cost.
	{name: "Refused", model: "claude-sonnet-4-5", fail: true, want: 0},
	// A client that hung up mid-stream: the tokens so far, estimated, at
	// the same rates. 1017×3 + 40×15 = 3,051 + 600.
	{name: "DisconnectedSonnet", model: "claude-sonnet-4-5", in: 1017, out: 40, stream: true, emitted: true, want: 3_651},
	// 1018×5 + 7×25 + 2000×0.5 = 5,090 + 175 + 1,000.
	{name: "DisconnectedOpusCacheRead", model: "claude-opus-4-5", in: 1018, out: 7, read: 2000, stream: true, emitted: true, want: 6_265},
}

// bedrockIDOf is the Bedrock model id a case is served by.
func bedrockIDOf(model string) string {
	for _, r := range convertor.DefaultRoutes {
		if r.Model == model {
			return r.BedrockModelID
		}
	}
	return model
}

// TestPipeline_HandPriced sends every case through the whole pipeline
// (SDK → gateway → emulator → events on JetStream → accountant → usage
// store → aggregator) and checks each stored record's cost, and the
// key's roll-ups, against the hand-worked figures to the micro-dollar.
func TestPipeline_HandPriced(t *testing.T) {
	t.Parallel()
	if len(pricedCases) < 20 {
		t.Fatalf("%d cases; the table must price at least 20 requests", len(pricedCases))
	}
	p := newPipeline(t, natsVars(t, testenv.NATS(t)), false)
	p.runConsumers()
	client := p.startGateway(gatewayOptions{})
	secret, key := p.newKey(nil)
	w := newWindow()
	ctx := context.Background()

	pub, err := events.NewPublisher(ctx, p.bus, p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	var total int64
	for _, c := range pricedCases {
		total += c.want
		if c.emitted {
			publishDisconnected(t, pub, p.bus.Topic, key.ID, c)
			continue
		}
		if err := sendPriced(ctx, client, secret, c); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	w.close()

	// Wait for every record, then compare each with its case.
	var recs []*convertor.UsageRecord
	waitUntil(t, "every hand-priced record stored", func() bool {
		recs = recs[:0]
		err := p.usage.Usage(ctx, w.from, w.to, key.ID, func(page []*convertor.UsageRecord) error {
			recs = append(recs, page...)
			return nil
		})
		return err == nil && len(recs) == len(pricedCases)
	})
	byInput := map[int64]*convertor.UsageRecord{}
	for _, r := range recs {
		byInput[r.InputTokens] = r
	}
	for _, c := range pricedCases {
		r := byInput[c.in]
		switch {
		case r == nil:
			t.Errorf("%s: no record with %d input tokens", c.name, c.in)
		case r.CostMicros != c.want || r.Unpriced:
			t.Errorf("%s: cost = %d µ$ (unpriced %t), want %d by hand; record %+v", c.name, r.CostMicros, r.Unpriced, c.want, r)
		case r.OutputTokens != c.out || r.CacheReadTokens != c.read || r.CacheWriteTokens != c.write || r.CacheWrite1hTokens != c.write1h:
			t.Errorf("%s: tokens = %+v, want %+v", c.name, r, c)
		case c.emitted && (!r.Disconnected || !r.Estimated || r.Status != convertor.UsageCanceled):
			t.Errorf("%s: record %+v, want a canceled, disconnected, estimated one", c.name, r)
		case c.fail && (r.Status != convertor.UsageError || r.HTTPStatus != 400):
			t.Errorf("%s: record %+v, want an error with status 400", c.name, r)
		}
	}

	// The key's month-to-date spend, as budgets read it, is their sum.
	waitUntil(t, "month spend of the key", func() bool {
		got, err := p.stats.MonthSpend(ctx, key.ID, time.Now().UTC())
		return err == nil && got == total
	})
}

// sendPriced sends one case through the SDK and checks the usage the
// client sees: the cache tokens are inside prompt_tokens, reads in
// cached_tokens.
func sendPriced(ctx context.Context, client openai.Client, secret string, c pricedCase) error {
	prompt := fmt.Sprintf("@emulator usage in %d out %d\n@emulator cache read %d write %d 1h %d", c.in, c.out, c.read, c.write, c.write1h)
	if c.fail {
		prompt = "@emulator error ValidationException the priced table asked for it"
	}
	params := openai.ChatCompletionNewParams{Model: c.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}
	key := option.WithAPIKey(secret)
	var usage openai.CompletionUsage
	switch {
	case c.fail:
		_, err := client.Chat.Completions.New(ctx, params, key)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
			return fmt.Errorf("err = %v, want a 400", err)
		}
		return nil
	case c.stream:
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, params, key)
		for stream.Next() {
			if ch := stream.Current(); ch.JSON.Usage.Valid() && ch.Usage.TotalTokens > 0 {
				usage = ch.Usage
			}
		}
		if err := stream.Err(); err != nil {
			return err
		}
	default:
		resp, err := client.Chat.Completions.New(ctx, params, key)
		if err != nil {
			return err
		}
		usage = resp.Usage
	}
	if usage.PromptTokens != c.in+c.read+c.write || usage.CompletionTokens != c.out || usage.PromptTokensDetails.CachedTokens != c.read {
		return fmt.Errorf("usage = %+v, want prompt %d, cached %d, completion %d", usage, c.in+c.read+c.write, c.read, c.out)
	}
	return nil
}

// publishDisconnected publishes the event the gateway emits for a stream
// whose client left before Bedrock's count came: its tokens estimated.
func publishDisconnected(t *testing.T, pub message.Publisher, topic, keyID string, c pricedCase) {
	t.Helper()
	now := time.Now().UTC()
	ev := &convertor.UsageEvent{
		Version: convertor.UsageEventVersion, ID: events.NewID(now), RequestID: "req_" + c.name, Time: now, KeyID: keyID,
		Model: c.model, BedrockModelID: bedrockIDOf(c.model),
		InputTokens: c.in, OutputTokens: c.out, CacheReadTokens: c.read, CacheWriteTokens: c.write, CacheWrite1hTokens: c.write1h,
		Estimated: true, Status: convertor.UsageCanceled, ErrorType: convertor.ECanceled, HTTPStatus: 499,
		Streamed: true, Disconnected: true,
	}
	payload, err := events.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(topic, message.NewMessage(watermill.NewULID(), payload)); err != nil {
		t.Fatal(err)
	}
}
