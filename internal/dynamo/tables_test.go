package dynamo

import (
	"context"
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

func TestCreateTables_ErrKeySchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := Config{Endpoint: testenv.DynamoDB(t), Region: DefaultRegion, Tables: testTables(t)}
	db, err := NewClient(ctx, cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	// An api-keys table from some other design: keyed on "id".
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(cfg.Tables.APIKeys),
		AttributeDefinitions: attrs("id"),
		KeySchema:            keys("id", ""),
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable() error = %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(cfg.Tables.APIKeys)})
	})
	_, err = CreateTables(ctx, db, cfg.Tables, discardLog())
	if err == nil || !strings.Contains(err.Error(), "key schema") {
		t.Errorf("CreateTables() error = %v, want a key schema mismatch", err)
	}
}

func TestAPIKeyStore_ErrUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := Config{Endpoint: testenv.DynamoDB(t), Region: DefaultRegion, Tables: testTables(t)}
	db, err := NewClient(ctx, cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	s := NewAPIKeyStore(db, cfg.Tables.APIKeys) // never created
	_, err = s.APIKeyByHash(ctx, convertor.HashAPIKey("sk-x"))
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
