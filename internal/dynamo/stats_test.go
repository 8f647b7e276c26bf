package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// TestStatsStore_Upgrade takes a usage-stats table as versions before the
// by-period index left it (no index, no every-key hour rows, key rows
// without index attributes, a key directory), adds the index with
// CreateTables, lets ApplyUsage add records to the old rows, then replays
// every day as `convertor replay` does: the rows, the every-key hour rows
// and the index come out as if the table had always had them.
func TestStatsStore_Upgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, tables := newTestClient(t, testenv.DynamoDB(t))
	table := tables.UsageStats
	createOldStatsTable(t, db, table)
	old := storetest.Records(300, 23)
	writeLegacyRows(t, db, table, old)
	s := NewStatsStore(db, table)
	// The days of every record Records makes, and more.
	from := convertor.PeriodStart(old[0].Time, convertor.PeriodDay).AddDate(0, 0, -5)
	to := from.AddDate(0, 0, 11)
	every := convertor.RollupFilter{Period: convertor.PeriodHour, From: from, To: to}
	_, err := s.Rollups(ctx, every)
	storetest.WantCode(t, "Rollups(every key) without the index", err, convertor.EUnavailable)
	if msg := convertor.ErrorMessage(err); !strings.Contains(msg, "tables create") {
		t.Errorf("ErrorMessage() = %q, want a hint to add the index", msg)
	}

	res, err := CreateTables(ctx, db, tables, discardLog())
	if err != nil {
		t.Fatalf("CreateTables() error = %v", err)
	}
	for _, r := range res {
		if r.Name == table && (r.Created || !slices.Equal(r.AddedIndexes, []string{UsageStatsByPeriodIndex})) {
			t.Errorf("CreateTables() = %+v for the old table, want it kept and %s added", r, UsageStatsByPeriodIndex)
		}
	}
	if got, err := s.Rollups(ctx, every); err != nil || len(got) != 0 {
		t.Fatalf("Rollups(every key) before any write = %d rows, %v; want none: old rows lack the index keys", len(got), err)
	}

	// New records on the old rows: every key hour row they touch is
	// upgraded first, so the every-key hour rows hold exactly the key
	// hour rows that carry the index keys.
	recent := storetest.Records(150, 29)
	if n, err := s.ApplyUsage(ctx, recent); err != nil || n != len(recent) {
		t.Fatalf("ApplyUsage() = %d, %v; want %d", n, err, len(recent))
	}
	if n, err := s.ApplyUsage(ctx, append(old[:50:50], recent[:50]...)); err != nil || n != 0 {
		t.Fatalf("ApplyUsage(applied before) = %d, %v; want 0", n, err)
	}
	keyRows, err := s.Rollups(ctx, every)
	if err != nil {
		t.Fatal(err)
	}
	if len(keyRows) == 0 {
		t.Fatal("Rollups(every key) after ApplyUsage = no rows, want the upgraded ones")
	}
	sums := make(map[convertor.RollupKey]convertor.Rollup)
	for _, r := range keyRows {
		k := convertor.RollupKey{Period: r.Period, KeyID: convertor.AllKeys, Model: r.Model, Start: r.Start}
		sum := k.Rollup()
		if have, ok := sums[k]; ok {
			sum = have
		}
		sum.Add(r)
		sums[k] = sum
	}
	totals, err := s.Rollups(ctx, convertor.RollupFilter{Period: convertor.PeriodHour, KeyID: convertor.AllKeys, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if len(totals) != len(sums) {
		t.Errorf("every-key hour rows = %d, want %d, one per model and hour of the indexed key rows", len(totals), len(sums))
	}
	for _, r := range totals {
		if want := sums[r.Key()]; !r.SameCounts(want) {
			t.Errorf("every-key hour row %+v, want the sum of the indexed key rows %+v", r, want)
		}
	}

	// The replay, one whole day at a time with every record of the day.
	all := append(append([]*convertor.UsageRecord{}, old...), recent...)
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		if err := s.ReplaceRollups(ctx, day, day.AddDate(0, 0, 1), all); err != nil {
			t.Fatalf("ReplaceRollups(%s) error = %v", day.Format(time.DateOnly), err)
		}
	}
	storetest.CheckTotals(t, s, all)
}

// createOldStatsTable creates the usage-stats table name as versions
// before the by-period index did: keys only.
func createOldStatsTable(t *testing.T, db *dynamodb.Client, name string) {
	t.Helper()
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: attrs("pk", "sk"),
		KeySchema:            keys("pk", "sk"),
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable(old usage-stats) error = %v", err)
	}
	if _, err := waitActive(context.Background(), db, name, tableReadyTimeout); err != nil {
		t.Fatal(err)
	}
}

// writeLegacyRows writes the rows of recs as versions before the by-period
// index did: key hour and day rows, every-key day rows and month spends
// without index attributes, a key directory, and the applied markers.
func writeLegacyRows(t *testing.T, db *dynamodb.Client, table string, recs []*convertor.UsageRecord) {
	t.Helper()
	type row struct {
		pk, sk string
		r      convertor.Rollup
	}
	rows := make(map[[2]string]*row)
	add := func(pk, sk string, k convertor.RollupKey, d convertor.Rollup) {
		r := rows[[2]string{pk, sk}]
		if r == nil {
			r = &row{pk: pk, sk: sk, r: k.Rollup()}
			rows[[2]string{pk, sk}] = r
		}
		r.r.Add(d)
	}
	var items []item
	for _, rec := range recs {
		d := rec.Delta()
		hour, day := rec.Time.UTC().Truncate(time.Hour), convertor.PeriodStart(rec.Time, convertor.PeriodDay)
		month := convertor.PeriodStart(rec.Time, convertor.PeriodMonth)
		at := func(t time.Time) string { return t.Format(timeLayout) }
		add("hour#"+rec.KeyID, at(hour)+"#"+rec.Model, convertor.RollupKey{Period: "hour", KeyID: rec.KeyID, Model: rec.Model, Start: hour}, d)
		add("day#"+rec.KeyID, at(day)+"#"+rec.Model, convertor.RollupKey{Period: "day", KeyID: rec.KeyID, Model: rec.Model, Start: day}, d)
		add("day#*", at(day)+"#"+rec.Model, convertor.RollupKey{Period: "day", KeyID: "*", Model: rec.Model, Start: day}, d)
		add("month#"+rec.KeyID, at(month), convertor.RollupKey{Period: "month", KeyID: rec.KeyID, Start: month}, d)
		items = append(items,
			item{"pk": attrS("keys#" + at(day)), "sk": attrS(rec.KeyID)},
			item{"pk": attrS("applied#" + rec.ID), "sk": attrS("-"), "expires_at": attrN(rec.Time.Add(MarkerRetention).Unix())},
		)
	}
	for _, r := range rows {
		it := item{
			"pk": attrS(r.pk), "sk": attrS(r.sk), "ver": attrN(3),
			"period": attrS(r.r.Period), "key_id": attrS(r.r.KeyID), "start": attrTime(r.r.Start),
			"requests": attrN(r.r.Requests), "errors": attrN(r.r.Errors),
			"input_tokens": attrN(r.r.InputTokens), "output_tokens": attrN(r.r.OutputTokens),
			"cache_read_tokens": attrN(r.r.CacheReadTokens), "cache_write_tokens": attrN(r.r.CacheWriteTokens),
			"cost_micros": attrN(r.r.CostMicros),
		}
		if r.r.Model != "" {
			it["model"] = attrS(r.r.Model)
		}
		items = append(items, it)
	}
	for _, it := range items {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatalf("PutItem(old row) error = %v", err)
		}
	}
}

// BenchmarkRollups times the dashboards' reads on a month of hourly data:
// BENCH_STATS_KEYS keys (default 1,000), each with one of three models and
// usage in every hour of the 30 days before today, loaded through
// ApplyUsage. (Recent, so that no applied marker expires and is deleted
// while the reads are timed.) Its metric rows/op is what one call returns.
//
//   - hour-all-keys: the per-model hour series over every key, one Query;
//   - day-every-key: every key's day rows of the month (top keys), one
//     index Query per day;
//   - hour-every-key-day: every key's hour rows of one day (a series by
//     key), one index Query per hour;
//   - hour-one-key: one key's hour series, one Query.
func BenchmarkRollups(b *testing.B) {
	keys := testenv.BenchSize(b, "BENCH_STATS_KEYS", 1_000)
	s := newTestStatsStore(b, testenv.DynamoDB(b))
	ctx := context.Background()
	next := convertor.PeriodStart(time.Now(), convertor.PeriodDay)
	month := next.AddDate(0, 0, -30)
	hours := int(next.Sub(month) / time.Hour)

	start := time.Now()
	loadMonth(b, s, keys, month, hours)
	b.Logf("loaded %d keys × %d hours in %v", keys, hours, time.Since(start).Round(time.Millisecond))

	models := min(keys, len(storetest.Models))
	oneKey := fmt.Sprintf("key_%05d", keys/2)
	for _, bc := range []struct {
		name     string
		f        convertor.RollupFilter
		rows     int
		requests int // one per key and hour covered
	}{
		{"hour-all-keys", convertor.RollupFilter{Period: convertor.PeriodHour, KeyID: convertor.AllKeys, From: month, To: next}, hours * models, keys * hours},
		{"day-every-key", convertor.RollupFilter{Period: convertor.PeriodDay, From: month, To: next}, keys * hours / 24, keys * hours},
		{"hour-every-key-day", convertor.RollupFilter{Period: convertor.PeriodHour, From: month.AddDate(0, 0, 14), To: month.AddDate(0, 0, 15)}, keys * 24, keys * 24},
		{"hour-one-key", convertor.RollupFilter{Period: convertor.PeriodHour, KeyID: oneKey, From: month, To: next}, hours, hours},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Checked once before timing: every row, and every record
			// counted once.
			rows, err := s.Rollups(ctx, bc.f)
			if err != nil {
				b.Fatalf("Rollups(%+v) error = %v", bc.f, err)
			}
			requests := 0
			for _, r := range rows {
				requests += int(r.Requests)
			}
			if len(rows) != bc.rows || requests != bc.requests {
				b.Fatalf("Rollups(%+v) = %d rows of %d requests, want %d of %d", bc.f, len(rows), requests, bc.rows, bc.requests)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Rollups(ctx, bc.f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows)), "rows/op")
		})
	}
}

// loadMonth applies one record per key and hour, keys "key_00000" on,
// model storetest.Models[key % 3], in batches of whole keys: the store
// sorts a batch by key, model and hour, so each transaction holds a run
// of one key's hours.
func loadMonth(b *testing.B, s *StatsStore, keys int, month time.Time, hours int) {
	b.Helper()
	const perBatch = 4 // keys
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	next := make(chan int)
	// Two loaders: one waits on the server while the other builds.
	for range 2 {
		wg.Go(func() {
			for first := range next {
				var recs []*convertor.UsageRecord
				for k := first; k < min(first+perBatch, keys); k++ {
					for h := range hours {
						recs = append(recs, storetest.NewRecord(fmt.Sprintf("b%05d-%04d", k, h), fmt.Sprintf("key_%05d", k),
							storetest.Models[k%len(storetest.Models)], month.Add(time.Duration(h)*time.Hour+time.Minute),
							convertor.UsageOK, 1000, 200, 0, 0, 4_200))
					}
				}
				if n, err := s.ApplyUsage(context.Background(), recs); err != nil || n != len(recs) {
					errs <- fmt.Errorf("ApplyUsage(keys %d+) = %d, %v; want %d", first, n, err, len(recs))
					return
				}
			}
		})
	}
	for first := 0; first < keys; first += perBatch {
		next <- first
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
