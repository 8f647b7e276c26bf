package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// newTestClient serves a new Handler on loopback for t and returns an SDK
// client aimed at it, with the handler for tests that reach inside.
func newTestClient(t testing.TB) (*dynamodb.Client, *Handler) {
	t.Helper()
	h := NewHandler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	db := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		// minidyn sends no CRC32 header.
		DisableValidateResponseChecksum: true,
	})
	return db, h
}

// createTable creates a table keyed by the string attributes keys, hash
// key first.
func createTable(t testing.TB, db *dynamodb.Client, name string, keys ...string) {
	t.Helper()
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
	for i, k := range keys {
		kt := types.KeyTypeHash
		if i > 0 {
			kt = types.KeyTypeRange
		}
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(k), AttributeType: types.ScalarAttributeTypeS})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(k), KeyType: kt})
	}
	if _, err := db.CreateTable(context.Background(), in); err != nil {
		t.Fatalf("CreateTable(%s) error = %v", name, err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }

// key is the key of an item of a table keyed by pk alone.
func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk)}
}

func putItem(t testing.TB, db *dynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem() error = %v", err)
	}
}

// dump returns every item of a table keyed by pk, as "pk: attributes",
// sorted, for go-cmp.
func dump(t testing.TB, db *dynamodb.Client, table string) []string {
	t.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("Scan() error = %v", err)
	}
	var items []string
	for _, it := range out.Items {
		names := make([]string, 0, len(it))
		for k := range it {
			names = append(names, k)
		}
		sort.Strings(names)
		line := ""
		for _, k := range names {
			switch v := it[k].(type) {
			case *types.AttributeValueMemberS:
				line += fmt.Sprintf(" %s=%q", k, v.Value)
			case *types.AttributeValueMemberN:
				line += fmt.Sprintf(" %s=%s", k, v.Value)
			default:
				line += fmt.Sprintf(" %s=%T", k, v)
			}
		}
		items = append(items, line[1:])
	}
	sort.Strings(items)
	return items
}

// apiErrorCode returns the exception name of err, or "" if it is none.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestHandler_Passthrough(t *testing.T) {
	t.Parallel()
	db, _ := newTestClient(t)
	ctx := context.Background()
	createTable(t, db, "things", "pk")
	putItem(t, db, "things", map[string]types.AttributeValue{"pk": s("a"), "v": n(1)})
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("things"), Key: key("a")})
	if err != nil {
		t.Fatalf("GetItem() error = %v", err)
	}
	if got, ok := out.Item["v"].(*types.AttributeValueMemberN); !ok || got.Value != "1" {
		t.Errorf("GetItem() v = %#v, want N 1", out.Item["v"])
	}
	_, err = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("missing"), Key: key("a")})
	if code := apiErrorCode(err); code != "ResourceNotFoundException" {
		t.Errorf("GetItem(missing table) error = %v, want ResourceNotFoundException", err)
	}
}
