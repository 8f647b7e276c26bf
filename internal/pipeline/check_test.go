package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// Polling of the pipeline's convergence: a deadline generous for a loaded
// 2-core machine under -race, and an interval that leaves the store to the
// consumers most of the time.
const (
	convergeTimeout = 3 * time.Minute
	pollInterval    = 300 * time.Millisecond
)

// window is the time range a test's requests fall in, widened so that
// every hour and day row they touch is read whole.
type window struct{ from, to time.Time }

func newWindow() window {
	now := time.Now().UTC()
	return window{from: now.Add(-time.Hour), to: now.Add(time.Hour)}
}

// close moves the end of w past now: call it after the last request.
func (w *window) close() { w.to = time.Now().UTC().Add(time.Hour) }

// observed is what the pipeline stored for one key, each view per model.
type observed struct {
	Records     truth // Σ usage records
	RecordIDs   int   // distinct record ids
	RecordRows  int   // records read, duplicates included
	HourRollups truth // Σ key × model × hour rows
	DayRollups  truth // Σ key × model × day rows
	AllKeysDay  truth // Σ every-key × model × day rows (the test's key is the only one)
	MonthSpend  int64 // Σ the key's month-to-date spend over the months of w
}

// observe reads everything the pipeline stored for keyID in w.
func (p *pipeline) observe(ctx context.Context, keyID string, w window) (observed, error) {
	o := observed{Records: truth{}, HourRollups: truth{}, DayRollups: truth{}, AllKeysDay: truth{}}
	ids := map[string]bool{}
	err := p.usage.Usage(ctx, w.from, w.to, keyID, func(recs []*convertor.UsageRecord) error {
		for _, r := range recs {
			o.RecordRows++
			ids[r.ID] = true
			c := counts{
				Requests: 1, Input: r.InputTokens, Output: r.OutputTokens,
				CacheRead: r.CacheReadTokens, CacheWrite: r.CacheWriteTokens, CostMicros: r.CostMicros,
			}
			if r.Status == convertor.UsageError || r.Status == convertor.UsageRefused {
				c.Errors = 1
			}
			o.Records.add(r.Model, c)
		}
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("usage records: %w", err)
	}
	o.RecordIDs = len(ids)
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	for _, q := range []struct {
		f   convertor.RollupFilter
		dst truth
	}{
		{convertor.RollupFilter{Period: convertor.PeriodHour, From: w.from.Truncate(time.Hour), To: w.to, KeyID: keyID}, o.HourRollups},
		{convertor.RollupFilter{Period: convertor.PeriodDay, From: day(w.from), To: w.to, KeyID: keyID}, o.DayRollups},
		{convertor.RollupFilter{Period: convertor.PeriodDay, From: day(w.from), To: w.to, KeyID: convertor.AllKeys}, o.AllKeysDay},
	} {
		rows, err := p.stats.Rollups(ctx, q.f)
		if err != nil {
			return o, fmt.Errorf("rollups %s of %s: %w", q.f.Period, q.f.KeyID, err)
		}
		for _, r := range rows {
			q.dst.add(r.Model, counts{
				Requests: r.Requests, Errors: r.Errors, Input: r.InputTokens, Output: r.OutputTokens,
				CacheRead: r.CacheReadTokens, CacheWrite: r.CacheWriteTokens, CostMicros: r.CostMicros,
			})
		}
	}
	for m := time.Date(w.from.Year(), w.from.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(w.to); m = m.AddDate(0, 1, 0) {
		v, err := p.stats.MonthSpend(ctx, keyID, m)
		if err != nil {
			return o, fmt.Errorf("month spend: %w", err)
		}
		o.MonthSpend += v
	}
	return o, nil
}

// want is what observe must return once the pipeline has caught up.
func want(tr truth) observed {
	n := int(tr.total().Requests)
	return observed{
		Records: tr, RecordIDs: n, RecordRows: n,
		HourRollups: tr, DayRollups: tr, AllKeysDay: tr,
		MonthSpend: tr.total().CostMicros,
	}
}

// converge polls until everything stored for keyID equals the ground
// truth, then waits until the bus holds nothing more for the consumers
// (quiet) and checks again, so that a late redelivery counted twice would
// show. It fails the test with the difference at the deadline.
func (p *pipeline) converge(keyID string, w window, tr truth, quiet func() error) {
	t := p.t
	t.Helper()
	ctx := context.Background()
	wantObs := want(tr)
	var diff string
	deadline := time.Now().Add(convergeTimeout)
	for {
		o, err := p.observe(ctx, keyID, w)
		if err == nil {
			diff = cmp.Diff(wantObs, o)
			if diff == "" {
				break
			}
		} else {
			diff = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline did not converge within %s (-want +got):\n%s", convergeTimeout, diff)
		}
		time.Sleep(pollInterval)
	}
	if quiet == nil {
		return
	}
	for {
		err := quiet()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bus not drained within %s: %v", convergeTimeout, err)
		}
		time.Sleep(pollInterval)
	}
	o, err := p.observe(ctx, keyID, w)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantObs, o); diff != "" {
		t.Errorf("totals changed after the bus drained (-want +got):\n%s", diff)
	}
}

// natsQuiet reports nil once neither consumer group has a message left to
// deliver or waiting for its ack on the pipeline's JetStream streams.
func (p *pipeline) natsQuiet() func() error {
	t := p.t
	t.Helper()
	_, js := testenv.JetStream(t, p.bus.NATSURL, nats.MaxReconnects(-1))
	priced := events.PricedConfig(p.bus)
	durable := func(group, topic string) string { return group + "_" + dashes(topic) }
	consumers := []struct{ stream, name string }{
		{p.bus.Stream, durable("accountant", p.bus.Topic)},
		{priced.Stream, durable("aggregator", priced.Topic)},
	}
	return func() error {
		for _, c := range consumers {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			cons, err := js.Consumer(ctx, c.stream, c.name)
			if err == nil {
				var info *jetstream.ConsumerInfo
				info, err = cons.Info(ctx)
				if err == nil && (info.NumPending > 0 || info.NumAckPending > 0) {
					err = fmt.Errorf("consumer %s: %d pending, %d awaiting ack", c.name, info.NumPending, info.NumAckPending)
				}
			}
			cancel()
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// sqsQuiet reports nil once the pipeline's event and priced queues hold no
// message, visible or in flight.
func (p *pipeline) sqsQuiet() func() error {
	client := sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.bus.SQSEndpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	queues := []string{p.bus.SQSQueueURL, events.PricedConfig(p.bus).SQSQueueURL}
	return func() error {
		for _, q := range queues {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl: aws.String(q),
				AttributeNames: []sqstypes.QueueAttributeName{
					sqstypes.QueueAttributeNameApproximateNumberOfMessages,
					sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
				},
			})
			cancel()
			if err != nil {
				return fmt.Errorf("queue %s: %w", q, err)
			}
			for _, a := range []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			} {
				if n, _ := strconv.Atoi(out.Attributes[string(a)]); n > 0 {
					return fmt.Errorf("queue %s: %s = %d", q, a, n)
				}
			}
		}
		return nil
	}
}

// dashes is a subject as a JetStream consumer name has it.
func dashes(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '.' || c == '*' || c == '>' {
			b[i] = '-'
		}
	}
	return string(b)
}

// waitUntil polls cond until it holds, failing t at the deadline.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(convergeTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", convergeTimeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counterValue reads a counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
