package dynamo

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestUsageStore runs the UsageStore contract against DynamoDB
// (dynamolocal) and dynalite, when TEST_DYNALITE_ENDPOINT is set.
func TestUsageStore(t *testing.T) {
	runSuite(t, storetest.UsageStore,
		backend[convertor.UsageStore]{"dynamodb", func(t *testing.T) convertor.UsageStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			return NewUsageStore(db, tables.Usage, 0)
		}},
		backend[convertor.UsageStore]{"dynalite", func(t *testing.T) convertor.UsageStore {
			db, tables := newTestTables(t, testenv.Dynalite(t))
			return NewUsageStore(db, tables.Usage, 0)
		}},
	)
}

func TestUsageStore_TTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, tables := newTestTables(t, testenv.DynamoDB(t))
	s := NewUsageStore(db, tables.Usage, 48*time.Hour)
	r := storetest.NewUsageRecord(1, time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), "key_a")
	storetest.MustPutUsage(t, s, r, true)
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
	_, err = s.PutUsage(context.Background(), storetest.NewUsageRecord(1, time.Now(), "key_a"))
	if convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("PutUsage(no table) error = %v, want unavailable", err)
	}
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
				recs = append(recs, storetest.NewUsageRecord(i, base.Add(time.Duration(i)*time.Second), "key_a"))
			}
			// Records 3 and 120 exist already (a redelivered batch).
			storetest.MustPutUsage(t, s, recs[3], true)
			storetest.MustPutUsage(t, s, recs[120], true)
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
			if got := storetest.ReadUsage(t, s, base, base.Add(time.Hour), ""); len(got) != 150 {
				t.Errorf("Usage() = %d records, want 150", len(got))
			}
			again, err := s.PutUsages(ctx, recs[:10])
			if err != nil || slices.Contains(again, true) {
				t.Errorf("PutUsages(again) = %v, %v; want none stored", again, err)
			}
		})
	}
}
