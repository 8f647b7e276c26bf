package pipeline

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// BenchmarkPipeline measures usage events per second through the
// accountant and the aggregator, run by their Run functions as in
// production, over NATS JetStream into the DynamoDB-compatible store
// (dynamolocal over HTTP), everything in this process and on these cores.
// Each run sends BENCH_PIPELINE_EVENTS events (default 50,000), or b.N
// when -benchtime=Nx asks for more: a sustained rate needs seconds of
// load, which the benchmark framework's first probe of b.N=1 is not.
//
//   - capacity: the events wait on the stream before the consumers start;
//     events/s is how fast they are priced, stored and rolled up.
//   - rate=R: the gateway's emitter sends R events/s (BENCH_PIPELINE_RATE,
//     default 5000) while the consumers run. backlog-1st / backlog-2nd are
//     the largest backlogs (emitted, not yet rolled up) seen in the first
//     and second half of the emitting: the pipeline keeps up when they stay
//     near R × its batching delays (two stages of up to 200 ms) instead of
//     growing with time; drain-ms is how long the last events took.
//
// Both end by checking the roll-ups against the events exactly.
func BenchmarkPipeline(b *testing.B) {
	rate := testenv.BenchSize(b, "BENCH_PIPELINE_RATE", 5000)
	events := testenv.BenchSize(b, "BENCH_PIPELINE_EVENTS", 50_000)
	b.Run("capacity", func(b *testing.B) { benchPipeline(b, 0, max(b.N, events)) })
	b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchPipeline(b, rate, max(b.N, events)) })
}

func benchPipeline(b *testing.B, rate, count int) {
	p := newPipeline(b, natsVars(b, testenv.NATS(b)), false)
	// As `convertor dev` runs them; their tuning can be tried from the
	// environment (ACCOUNTANT_TRANSACT_WRITES=false for AWS's default).
	p.vars["ACCOUNTANT_TRANSACT_WRITES"] = "true"
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ACCOUNTANT_") || strings.HasPrefix(k, "AGGREGATOR_") {
			p.vars[k] = v
		}
	}
	ctx := context.Background()
	evs := benchEvents(count)
	pub, err := events.NewPublisher(ctx, p.bus, p.log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pub.Close() })

	var emitted atomic.Int64
	var lastEmit atomic.Value // time.Time of the last Emit
	if rate == 0 {
		for batch := range slices.Chunk(evs, 500) {
			msgs := make([]*message.Message, len(batch))
			for i, ev := range batch {
				payload, err := events.Marshal(ev)
				if err != nil {
					b.Fatal(err)
				}
				msgs[i] = message.NewMessage(watermill.NewULID(), payload)
			}
			if err := pub.Publish(p.bus.Topic, msgs...); err != nil {
				b.Fatal(err)
			}
		}
		emitted.Store(int64(len(evs)))
	}

	b.ResetTimer()
	start := time.Now()
	p.runConsumers()
	if rate > 0 {
		spool, err := events.OpenSpool(b.TempDir(), events.SpoolOptions{Log: p.log})
		if err != nil {
			b.Fatal(err)
		}
		em := events.NewEmitter(pub, p.bus.Topic, spool, events.EmitterOptions{Log: p.log})
		b.Cleanup(func() { em.Close(context.Background()) })
		go func() {
			// Paced in 10 ms steps, as requests arrive at a gateway.
			const step = 10 * time.Millisecond
			for i := range evs {
				if due := start.Add(time.Duration(i) * time.Second / time.Duration(rate)); time.Until(due) > step {
					time.Sleep(time.Until(due))
				}
				em.Emit(evs[i])
				emitted.Add(1)
			}
			lastEmit.Store(time.Now())
		}()
	}

	var firstHalf, secondHalf int64
	n := int64(len(evs))
	deadline := start.Add(time.Minute + time.Duration(n)*time.Millisecond)
	for {
		done, err := p.rolledUp(ctx, start)
		if err != nil {
			b.Fatal(err)
		}
		backlog := emitted.Load() - done
		if emitted.Load() <= n/2 {
			firstHalf = max(firstHalf, backlog)
		} else {
			secondHalf = max(secondHalf, backlog)
		}
		if done >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d events rolled up after %v", done, n, time.Since(start).Round(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
	if rate == 0 {
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	} else {
		b.ReportMetric(float64(n)/lastEmit.Load().(time.Time).Sub(start).Seconds(), "emitted/s")
		b.ReportMetric(float64(firstHalf), "backlog-1st")
		b.ReportMetric(float64(secondHalf), "backlog-2nd")
		b.ReportMetric(float64(time.Since(lastEmit.Load().(time.Time)).Milliseconds()), "drain-ms")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
	p.checkBenchTotals(ctx, start, evs)
}

// benchEvents returns n events of 20 keys and the default models, with
// varied token counts.
func benchEvents(n int) []*convertor.UsageEvent {
	now := time.Now().UTC()
	evs := make([]*convertor.UsageEvent, n)
	for i := range evs {
		m := loadModels[i%len(loadModels)]
		evs[i] = &convertor.UsageEvent{
			Version:        convertor.UsageEventVersion,
			ID:             ulid.Make().String(),
			RequestID:      fmt.Sprintf("chatcmpl-bench%d", i),
			Time:           now,
			KeyID:          fmt.Sprintf("key_bench%02d", i%20),
			Model:          m.name,
			BedrockModelID: m.route + "." + m.model,
			InputTokens:    int64(100 + i*37%1900),
			OutputTokens:   int64(1 + i*13%700),
			LatencyMs:      120,
			Status:         convertor.UsageOK,
			HTTPStatus:     200,
		}
	}
	return evs
}

// rolledUp returns how many requests the all-keys daily roll-ups count
// since start's day.
func (p *pipeline) rolledUp(ctx context.Context, start time.Time) (int64, error) {
	day := start.UTC().Truncate(24 * time.Hour)
	rows, err := p.stats.Rollups(ctx, convertor.RollupFilter{
		Period: convertor.PeriodDay, From: day, To: time.Now().Add(time.Hour), KeyID: convertor.AllKeys,
	})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range rows {
		n += r.Requests
	}
	return n, nil
}

// checkBenchTotals fails the benchmark unless the roll-ups hold exactly
// the events' requests and tokens.
func (p *pipeline) checkBenchTotals(ctx context.Context, start time.Time, evs []*convertor.UsageEvent) {
	var wantIn, wantOut int64
	for _, ev := range evs {
		wantIn += ev.InputTokens
		wantOut += ev.OutputTokens
	}
	day := start.UTC().Truncate(24 * time.Hour)
	rows, err := p.stats.Rollups(ctx, convertor.RollupFilter{
		Period: convertor.PeriodDay, From: day, To: time.Now().Add(time.Hour), KeyID: convertor.AllKeys,
	})
	if err != nil {
		p.t.Fatal(err)
	}
	var req, in, out int64
	for _, r := range rows {
		req, in, out = req+r.Requests, in+r.InputTokens, out+r.OutputTokens
	}
	if req != int64(len(evs)) || in != wantIn || out != wantOut {
		p.t.Fatalf("roll-ups hold %d requests, %d input and %d output tokens; want %d, %d, %d",
			req, in, out, len(evs), wantIn, wantOut)
	}
}
