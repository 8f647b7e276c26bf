package dynamo

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

func TestCreateTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, tables := newTestTables(t, testenv.DynamoDB(t))

	// newTestTables created them; a second run finds them all.
	res, err := CreateTables(ctx, db, tables, discardLog())
	if err != nil {
		t.Fatalf("CreateTables() again error = %v", err)
	}
	if len(res) != len(Definitions(tables)) {
		t.Fatalf("CreateTables() = %d results, want %d", len(res), len(Definitions(tables)))
	}
	for _, r := range res {
		if r.Created {
			t.Errorf("CreateTables() again created %s", r.Name)
		}
	}

	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tables.Usage)})
	if err != nil {
		t.Fatalf("DescribeTable() error = %v", err)
	}
	var indexes []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		indexes = append(indexes, aws.ToString(g.IndexName))
	}
	if got := strings.Join(indexes, ","); !strings.Contains(got, UsageByKeyIndex) || !strings.Contains(got, UsageByHourIndex) {
		t.Errorf("usage table indexes = %q, want %s and %s", got, UsageByKeyIndex, UsageByHourIndex)
	}
}

// TestCreateTables_AddIndex runs CreateTables on a usage-stats table made
// without the by-period index, holding a row with the index keys: the
// index is added and filled from the existing items. dynalite accepts the
// UpdateTable but ignores the index: a warning says so.
func TestCreateTables_AddIndex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		endpoint func(testing.TB) string
		added    bool
	}{
		{"dynamodb", testenv.DynamoDB, true},
		{"dynalite", testenv.Dynalite, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, tables := newTestClient(t, tc.endpoint(t))
			table := tables.UsageStats
			createOldStatsTable(t, db, table)
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item{
				"pk": attrS("day#key_a"), "sk": attrS("2026-01-02T00:00:00.000000000Z#m"),
				"period_start": attrS("day#2026-01-02T00:00:00.000000000Z"), "key_model": attrS("key_a#m"),
			}})
			if err != nil {
				t.Fatalf("PutItem() error = %v", err)
			}

			res, err := CreateTables(ctx, db, tables, discardLog())
			if err != nil {
				t.Fatalf("CreateTables() error = %v", err)
			}
			var got TableResult
			for _, r := range res {
				if r.Name == table {
					got = r
				}
			}
			if got.Created {
				t.Errorf("CreateTables() created %s again", table)
			}
			if !tc.added {
				if len(got.AddedIndexes) != 0 || !strings.Contains(strings.Join(got.Warnings, "\n"), "no index "+UsageStatsByPeriodIndex) {
					t.Errorf("CreateTables() = %+v, want no index added and a warning", got)
				}
				return
			}
			if !slices.Equal(got.AddedIndexes, []string{UsageStatsByPeriodIndex}) {
				t.Errorf("CreateTables() added %q, want %s", got.AddedIndexes, UsageStatsByPeriodIndex)
			}
			out, err := db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(table),
				IndexName:                 aws.String(UsageStatsByPeriodIndex),
				KeyConditionExpression:    aws.String("period_start = :p"),
				ExpressionAttributeValues: item{":p": attrS("day#2026-01-02T00:00:00.000000000Z")},
			})
			if err != nil || len(out.Items) != 1 {
				t.Fatalf("Query(%s) = %v, %v; want the item written before the index", UsageStatsByPeriodIndex, out, err)
			}
			// Once there, the index is left as it is.
			res, err = CreateTables(ctx, db, tables, discardLog())
			if err != nil {
				t.Fatalf("CreateTables() again error = %v", err)
			}
			for _, r := range res {
				if r.Name == table && (len(r.AddedIndexes) > 0 || len(r.Warnings) > 0) {
					t.Errorf("CreateTables() again = %+v, want nothing to do", r)
				}
			}
		})
	}
}

// TestCreateTables_ErrKeySchema: a table or index of the right name but
// other keys could only make the calls that use it fail.
func TestCreateTables_ErrKeySchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		def  func(Tables) *dynamodb.CreateTableInput
		want string
	}{
		{"Table", func(tables Tables) *dynamodb.CreateTableInput {
			// An api-keys table from some other design: keyed on "id".
			return &dynamodb.CreateTableInput{
				TableName:            aws.String(tables.APIKeys),
				AttributeDefinitions: attrs("id"),
				KeySchema:            keys("id", ""),
				BillingMode:          types.BillingModePayPerRequest,
			}
		}, "key schema"},
		{"Index", func(tables Tables) *dynamodb.CreateTableInput {
			return &dynamodb.CreateTableInput{
				TableName:              aws.String(tables.UsageStats),
				AttributeDefinitions:   attrs("pk", "sk", "period"),
				KeySchema:              keys("pk", "sk"),
				BillingMode:            types.BillingModePayPerRequest,
				GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi(UsageStatsByPeriodIndex, "period", "sk")},
			}
		}, "index " + UsageStatsByPeriodIndex + " with key schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, tables := newTestClient(t, testenv.DynamoDB(t))
			if _, err := db.CreateTable(ctx, tc.def(tables)); err != nil {
				t.Fatalf("CreateTable() error = %v", err)
			}
			_, err := CreateTables(ctx, db, tables, discardLog())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateTables() error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAPIKeyStore_ErrUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, tables := newTestClient(t, testenv.DynamoDB(t))
	s := NewAPIKeyStore(db, tables.APIKeys) // never created
	_, err := s.APIKeyByHash(ctx, convertor.HashAPIKey("sk-x"))
	if got := convertor.ErrorCode(err); got != convertor.EUnavailable {
		t.Fatalf("APIKeyByHash() error = %v, want code unavailable", err)
	}
	if msg := convertor.ErrorMessage(err); !strings.Contains(msg, "tables create") {
		t.Errorf("ErrorMessage() = %q, want a hint to create the tables", msg)
	}
}

// TestAPIKeyStore_InterruptedRotation leaves a sequential rotation as a
// crash after its first write would, and checks the store stays safe and
// that rotating again repairs it.
func TestAPIKeyStore_InterruptedRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t, testenv.DynamoDB(t))
	s.noTx.Store(true)
	k := storetest.NewKey(t, "interrupted")
	storetest.MustCreateKey(t, s, k)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       pk(hashKeyPrefix + k.Hash),
		UpdateExpression:          aws.String("SET #rot = :new"),
		ExpressionAttributeNames:  map[string]string{"#rot": attrRotatedTo},
		ExpressionAttributeValues: item{":new": attrS(convertor.HashAPIKey("sk-never-shown"))},
	})
	if err != nil {
		t.Fatalf("UpdateItem() error = %v", err)
	}
	storetest.WantCode(t, "APIKeyByHash(half-rotated)", storetest.ErrOf(s.APIKeyByHash(ctx, k.Hash)), convertor.ENotFound)
	list, err := s.ListAPIKeys(ctx)
	if err != nil || len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("ListAPIKeys() = %v, %v; want the half-rotated key", list, err)
	}
	// A change written now would be lost when a rotation under way
	// completes: it is refused until one does.
	name := "renamed"
	storetest.WantCode(t, "UpdateAPIKey(half-rotated)",
		storetest.ErrOf(s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &name})), convertor.EConflict)
	storetest.WantRevision(t, s, k.ID, 1)

	rot := storetest.NewRotation(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	newHash := rot.Hash
	if _, err := s.RotateAPIKey(ctx, k.ID, rot); err != nil {
		t.Fatalf("RotateAPIKey() again error = %v", err)
	}
	got, err := s.APIKeyByHash(ctx, newHash)
	if err != nil || got.ID != k.ID {
		t.Fatalf("APIKeyByHash(new) = %v, %v; want key %s", got, err, k.ID)
	}
	if err := s.RevokeAPIKey(ctx, k.ID, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("RevokeAPIKey() error = %v", err)
	}
	list, err = s.ListAPIKeys(ctx)
	if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
		t.Fatalf("ListAPIKeys() = %v, %v; want one revoked key", list, err)
	}
}
