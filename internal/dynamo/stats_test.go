package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestStatsStore runs the StatsStore contract against DynamoDB
// (dynamolocal, or the server TEST_DYNAMODB_ENDPOINT names). dynalite has
// no transactions, which the store needs.
func TestStatsStore(t *testing.T) {
	runSuite(t, storetest.StatsStore,
		backend[convertor.StatsStore]{"dynamodb", func(t *testing.T) convertor.StatsStore {
			return newTestStatsStore(t, testenv.DynamoDB(t))
		}},
	)
}

func newTestStatsStore(t testing.TB, endpoint string) *StatsStore {
	t.Helper()
	db, tables := newTestTables(t, endpoint)
	return NewStatsStore(db, tables.UsageStats)
}

func TestChunkRecords(t *testing.T) {
	t.Parallel()
	recs, err := uniqueRecords(storetest.Records(2000, 17))
	if err != nil {
		t.Fatal(err)
	}
	chunks := chunkRecords(recs)
	seen := 0
	for i, c := range chunks {
		rows := make(map[[2]string]bool)
		for _, r := range c {
			for _, row := range recordRows(r) {
				rows[[2]string{row.pk, row.sk}] = true
			}
		}
		if n := len(c) + len(rows); n > maxTransactItems {
			t.Errorf("chunk %d has %d items, want at most %d", i, n, maxTransactItems)
		}
		seen += len(c)
	}
	if seen != len(recs) {
		t.Errorf("chunks hold %d records, want %d", seen, len(recs))
	}
}

// failingTransport fails requests 2, 5, 9, 14, 20... (ever further apart,
// so every redelivery gets further than the last): before sending them
// (the server never saw it) or, for every other one, after (the server did
// the work, the answer was lost).
type failingTransport struct {
	next   http.RoundTripper
	mu     sync.Mutex
	n      int
	fail   int // the next request to fail
	gap    int
	failed int
}

var errInjected = errors.New("injected failure")

func (ft *failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ft.mu.Lock()
	ft.n++
	hit := ft.n == ft.fail
	if hit {
		ft.failed++
		ft.gap++
		ft.fail += ft.gap
	}
	after := ft.failed%2 == 0
	ft.mu.Unlock()
	if !hit {
		return ft.next.RoundTrip(req)
	}
	if !after {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errInjected
	}
	resp, err := ft.next.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return nil, errInjected
}

// TestStatsStore_CrashSafety fails requests, half of them after
// the server committed, and redelivers each failed batch as a consumer
// would: the totals come out exact.
func TestStatsStore_CrashSafety(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := newTestStatsStore(t, testenv.DynamoDB(t))
	ft := &failingTransport{next: http.DefaultTransport, fail: 2, gap: 2}
	db := dynamodb.New(good.db.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: ft}
		// The store's caller, not the SDK, retries: the failure must
		// reach ApplyUsage, as a crash would.
		o.RetryMaxAttempts = 1
	})
	s := NewStatsStore(db, good.table)

	// Many keys and hours, so that one batch takes several transactions
	// and a failure lands between them.
	recs := storetest.Records(600, 19)
	for i, r := range recs {
		r.KeyID = fmt.Sprintf("key_%d", 1+i%3)
		r.Model = storetest.Models[i%len(storetest.Models)]
	}
	total := 0
	for i := 0; i < len(recs); i += 200 {
		batch := recs[i:min(i+200, len(recs))]
		for attempt := 0; ; attempt++ {
			if attempt > 50 {
				t.Fatalf("batch %d never succeeded", i/200)
			}
			n, err := s.ApplyUsage(ctx, batch)
			total += n
			if err == nil {
				break
			}
			if !errors.Is(err, errInjected) {
				t.Fatalf("ApplyUsage() error = %v, want the injected one", err)
			}
		}
	}
	if ft.failed < 5 {
		t.Fatalf("%d failures injected, want at least 5", ft.failed)
	}
	// A commit whose answer was lost is counted on neither side, so total
	// may be short of len(recs); the roll-ups may not.
	if total > len(recs) {
		t.Errorf("ApplyUsage() applied %d in all, more than the %d records", total, len(recs))
	}
	storetest.CheckTotals(t, good, recs)
}

// BenchmarkApplyUsage applies batches of 200 records (the aggregator's
// default) of 20 keys × 3 models, and reports records per second.
func BenchmarkApplyUsage(b *testing.B) {
	s := newTestStatsStore(b, testenv.DynamoDB(b))
	ctx := context.Background()
	const batch = 200
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	i := 0
	next := func() []*convertor.UsageRecord {
		out := make([]*convertor.UsageRecord, batch)
		for j := range out {
			out[j] = storetest.NewRecord(fmt.Sprintf("bench-%09d", i), fmt.Sprintf("key_%02d", i%20), storetest.Models[i%3],
				now.Add(time.Duration(i)*time.Millisecond), convertor.UsageOK, 1000, 200, 0, 0, 4_200)
			i++
		}
		return out
	}
	// Checked once before timing: a batch is applied whole.
	if n, err := s.ApplyUsage(ctx, next()); err != nil || n != batch {
		b.Fatalf("ApplyUsage() = %d, %v; want %d", n, err, batch)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := s.ApplyUsage(ctx, next()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "records/s")
}
