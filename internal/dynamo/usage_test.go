package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/memstore"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestUsageStore runs the UsageStore contract against memory and DynamoDB.
func TestUsageStore(t *testing.T) {
	t.Parallel()
	impls := []struct {
		name string
		new  func(t *testing.T) convertor.UsageStore
	}{
		{"memstore", func(t *testing.T) convertor.UsageStore { return memstore.NewUsageStore() }},
		{"dynamodb", func(t *testing.T) convertor.UsageStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			return NewUsageStore(db, tables.Usage, 0)
		}},
		{"dynalite", func(t *testing.T) convertor.UsageStore {
			db, tables := newTestTables(t, testenv.Dynalite(t))
			return NewUsageStore(db, tables.Usage, 0)
		}},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			runUsageStoreContract(t, impl.new)
		})
	}
}

func runUsageStoreContract(t *testing.T, newStore func(t *testing.T) convertor.UsageStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

	t.Run("PutAndRead", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := usageFixture(1, base.Add(90*time.Minute+123456789), "key_a")
		want.BedrockModelID, want.Region = "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1"
		want.CacheReadTokens, want.CacheWriteTokens = 30, 40
		want.Estimated, want.Streamed, want.Disconnected = true, true, true
		want.Status, want.ErrorType, want.HTTPStatus = convertor.UsageCanceled, "canceled", 499
		want.TTFTMs, want.LatencyMs = 120, 850
		want.CostMicros, want.PriceFrom = 6159, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		mustPutUsage(t, s, want, true)

		got := readUsage(t, s, base, base.Add(3*time.Hour), "")
		if diff := cmp.Diff([]*convertor.UsageRecord{want}, got); diff != "" {
			t.Errorf("Usage() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DuplicateIsNotStored", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := usageFixture(1, base, "key_a")
		mustPutUsage(t, s, r, true)
		dup := *r
		dup.CostMicros = 999 // a redelivery priced differently must not win
		mustPutUsage(t, s, &dup, false)
		got := readUsage(t, s, base, base.Add(time.Hour), "")
		if len(got) != 1 || got[0].CostMicros != r.CostMicros {
			t.Errorf("Usage() = %+v, want only the first record", got)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := usageFixture(1, base, "key_a")
		r.InputTokens = -1
		if _, err := s.PutUsage(ctx, r); convertor.ErrorCode(err) != convertor.EInvalid {
			t.Errorf("PutUsage(negative tokens) error = %v, want invalid", err)
		}
	})

	t.Run("RangeAndKey", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Records across four hours and two keys, written out of order.
		var all []*convertor.UsageRecord
		for i := range 12 {
			key := "key_a"
			if i%3 == 0 {
				key = "key_b"
			}
			all = append(all, usageFixture(i, base.Add(time.Duration(i)*20*time.Minute), key))
		}
		for i := len(all) - 1; i >= 0; i-- {
			mustPutUsage(t, s, all[i], true)
		}
		from, to := base.Add(40*time.Minute), base.Add(200*time.Minute) // records 2..9
		var wantAll, wantB []string
		for _, r := range all[2:10] {
			wantAll = append(wantAll, r.ID)
			if r.KeyID == "key_b" {
				wantB = append(wantB, r.ID)
			}
		}
		if diff := cmp.Diff(wantAll, usageIDs(readUsage(t, s, from, to, ""))); diff != "" {
			t.Errorf("Usage(all keys) ids mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantB, usageIDs(readUsage(t, s, from, to, "key_b"))); diff != "" {
			t.Errorf("Usage(key_b) ids mismatch (-want +got):\n%s", diff)
		}
		// to is exclusive: a record exactly at to is left out.
		if got := readUsage(t, s, base, base.Add(20*time.Minute), ""); len(got) != 1 || got[0].ID != all[0].ID {
			t.Errorf("Usage([0, 20m)) = %v, want only %s", usageIDs(got), all[0].ID)
		}
		if got := readUsage(t, s, to, from, ""); len(got) != 0 {
			t.Errorf("Usage(empty range) = %v, want none", usageIDs(got))
		}
	})

	t.Run("CallbackErrorStops", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustPutUsage(t, s, usageFixture(1, base, "key_a"), true)
		stop := errors.New("stop")
		if err := s.Usage(ctx, base, base.Add(time.Hour), "", func([]*convertor.UsageRecord) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("Usage() error = %v, want the callback's", err)
		}
	})

	t.Run("RepriceUsage", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := usageFixture(1, base, "key_a")
		r.PriceFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		mustPutUsage(t, s, r, true)

		want := *r
		want.CostMicros, want.PriceFrom, want.Unpriced = 0, time.Time{}, true
		change := want
		change.InputTokens = 1 // only the cost fields may change
		if err := s.RepriceUsage(ctx, &change); err != nil {
			t.Fatalf("RepriceUsage() error = %v", err)
		}
		if diff := cmp.Diff([]*convertor.UsageRecord{&want}, readUsage(t, s, base, base.Add(time.Hour), "")); diff != "" {
			t.Errorf("Usage() after RepriceUsage mismatch (-want +got):\n%s", diff)
		}
		missing := usageFixture(2, base, "key_a")
		if err := s.RepriceUsage(ctx, missing); convertor.ErrorCode(err) != convertor.ENotFound {
			t.Errorf("RepriceUsage(missing) error = %v, want not_found", err)
		}
	})
}

func TestUsageStore_TTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, tables := newTestTables(t, testenv.DynamoDB(t))
	s := NewUsageStore(db, tables.Usage, 48*time.Hour)
	r := usageFixture(1, time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), "key_a")
	mustPutUsage(t, s, r, true)
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tables.Usage), Key: pk(r.ID)})
	if err != nil {
		t.Fatalf("GetItem() error = %v", err)
	}
	exp, err := item(out.Item).num(UsageTTLAttribute)
	if want := r.Time.Add(48 * time.Hour).Unix(); err != nil || exp != want {
		t.Errorf("%s = %d, %v; want %d", UsageTTLAttribute, exp, err, want)
	}
	// Re-pricing keeps the expiry.
	if err := s.RepriceUsage(ctx, r); err != nil {
		t.Fatalf("RepriceUsage() error = %v", err)
	}
	out, _ = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tables.Usage), Key: pk(r.ID)})
	if got, _ := item(out.Item).num(UsageTTLAttribute); got != exp {
		t.Errorf("%s after RepriceUsage = %d, want %d", UsageTTLAttribute, got, exp)
	}
}

func TestUsageStore_ErrUnavailable(t *testing.T) {
	t.Parallel()
	db, err := NewClient(context.Background(), Config{Endpoint: testenv.DynamoDB(t), Region: DefaultRegion})
	if err != nil {
		t.Fatal(err)
	}
	s := NewUsageStore(db, "t-missing-usage-table", 0)
	_, err = s.PutUsage(context.Background(), usageFixture(1, time.Now(), "key_a"))
	if convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("PutUsage(no table) error = %v, want unavailable", err)
	}
}

// TestPriceStore runs the PriceStore contract against memory and DynamoDB.
func TestPriceStore(t *testing.T) {
	t.Parallel()
	impls := []struct {
		name string
		new  func(t *testing.T) convertor.PriceStore
	}{
		{"memstore", func(t *testing.T) convertor.PriceStore { return memstore.NewPriceStore() }},
		{"dynamodb", func(t *testing.T) convertor.PriceStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			return NewPriceStore(db, tables.ModelPricing)
		}},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := impl.new(t)
			jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			mar := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
			sonnet := "anthropic.claude-sonnet-4-5-20250929-v1:0"
			prices := []convertor.Price{
				{Model: sonnet, Route: "global", EffectiveFrom: jan, InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000, Source: "aws"},
				{Model: sonnet, EffectiveFrom: jan, InputMicros: 3_300_000, OutputMicros: 16_500_000},
				{Model: sonnet, EffectiveFrom: mar, InputMicros: 1, OutputMicros: 2},
			}
			for _, p := range prices {
				if err := s.PutPrice(ctx, p); err != nil {
					t.Fatalf("PutPrice() error = %v", err)
				}
			}
			// Same model, route and date: replaced, not added.
			prices[1].InputMicros = 3_333_333
			if err := s.PutPrice(ctx, prices[1]); err != nil {
				t.Fatalf("PutPrice(replace) error = %v", err)
			}
			got, err := s.Prices(ctx)
			if err != nil {
				t.Fatalf("Prices() error = %v", err)
			}
			sortPrices := cmp.Transformer("sort", func(ps []convertor.Price) []string {
				out := make([]string, len(ps))
				for i, p := range ps {
					out[i] = fmt.Sprintf("%+v", p)
				}
				slices.Sort(out)
				return out
			})
			if diff := cmp.Diff(prices, got, sortPrices); diff != "" {
				t.Errorf("Prices() mismatch (-want +got):\n%s", diff)
			}
			bad := prices[0]
			bad.InputMicros = -1
			if err := s.PutPrice(ctx, bad); convertor.ErrorCode(err) != convertor.EInvalid {
				t.Errorf("PutPrice(negative) error = %v, want invalid", err)
			}
		})
	}
}

func usageFixture(i int, at time.Time, keyID string) *convertor.UsageRecord {
	return &convertor.UsageRecord{
		UsageEvent: convertor.UsageEvent{
			Version:      convertor.UsageEventVersion,
			ID:           fmt.Sprintf("01JUSAGE%018d", i),
			RequestID:    fmt.Sprintf("req-%d", i),
			Time:         at,
			KeyID:        keyID,
			Model:        "claude-sonnet-4-5",
			InputTokens:  int64(100 + i),
			OutputTokens: int64(10 + i),
			Status:       convertor.UsageOK,
			HTTPStatus:   200,
		},
		CostMicros: int64(1000 + i),
	}
}

func mustPutUsage(t testing.TB, s convertor.UsageStore, r *convertor.UsageRecord, wantStored bool) {
	t.Helper()
	stored, err := s.PutUsage(context.Background(), r)
	if err != nil {
		t.Fatalf("PutUsage(%s) error = %v", r.ID, err)
	}
	if stored != wantStored {
		t.Fatalf("PutUsage(%s) stored = %t, want %t", r.ID, stored, wantStored)
	}
}

func readUsage(t testing.TB, s convertor.UsageStore, from, to time.Time, keyID string) []*convertor.UsageRecord {
	t.Helper()
	var out []*convertor.UsageRecord
	err := s.Usage(context.Background(), from, to, keyID, func(page []*convertor.UsageRecord) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		t.Fatalf("Usage() error = %v", err)
	}
	return out
}

func usageIDs(rs []*convertor.UsageRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// TestUsageStore_PutUsages writes a batch larger than one transaction that
// holds records stored before and one id twice, with transactions and on
// the one-by-one path.
func TestUsageStore_PutUsages(t *testing.T) {
	t.Parallel()
	for _, noTx := range []bool{false, true} {
		t.Run(fmt.Sprintf("noTx=%t", noTx), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			s := NewUsageStore(db, tables.Usage, 0)
			s.noTx.Store(noTx)
			base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
			var recs []*convertor.UsageRecord
			for i := range 150 {
				recs = append(recs, usageFixture(i, base.Add(time.Duration(i)*time.Second), "key_a"))
			}
			// Records 3 and 120 exist already (a redelivered batch).
			mustPutUsage(t, s, recs[3], true)
			mustPutUsage(t, s, recs[120], true)
			dup := *recs[7]
			recs = append(recs, &dup)

			stored, err := s.PutUsages(ctx, recs)
			if err != nil {
				t.Fatalf("PutUsages() error = %v", err)
			}
			for i, ok := range stored {
				want := i != 3 && i != 120 && i != 150
				if ok != want {
					t.Errorf("stored[%d] = %t, want %t", i, ok, want)
				}
			}
			if got := readUsage(t, s, base, base.Add(time.Hour), ""); len(got) != 150 {
				t.Errorf("Usage() = %d records, want 150", len(got))
			}
			again, err := s.PutUsages(ctx, recs[:10])
			if err != nil || slices.Contains(again, true) {
				t.Errorf("PutUsages(again) = %v, %v; want none stored", again, err)
			}
		})
	}
}
