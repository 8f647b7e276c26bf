// Package conformance checks that a DynamoDB-compatible server behaves as
// DynamoDB documents, driving it through the aws-sdk-go-v2 dynamodb client
// the product itself uses. The same suite runs against the product's
// engine and against reference servers, so a check that passes against a
// reference is a statement about DynamoDB, not about our engine.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Target describes the server under test.
type Target struct {
	Endpoint string // http://127.0.0.1:port
	// Transactions is false for servers without TransactWriteItems and
	// TransactGetItems (dynalite).
	Transactions bool
	// Dynalite marks the target as dynalite, whose few documented
	// deviations from DynamoDB are skipped (each skip names the deviation).
	// Leave it false for any server meant to behave like DynamoDB.
	Dynalite bool
}

// Run runs every conformance test against the server newTarget returns.
// newTarget is called once per subtest group, so it may start a fresh
// server each time; tables are named uniquely per test anyway, so one
// long-running server serves every group too.
func Run(t *testing.T, newTarget func(t *testing.T) Target) {
	groups := []struct {
		name string
		run  func(t *testing.T, s *suite)
	}{
		{"Table", testTable},
		{"Item", testItem},
		{"Types", testTypes},
		{"Update", testUpdate},
		{"Query", testQuery},
		{"Scan", testScan},
		{"Batch", testBatch},
		{"Transact", testTransact},
		{"Concurrency", testConcurrency},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			tg := newTarget(t)
			g.run(t, &suite{target: tg, db: newClient(tg.Endpoint)})
		})
	}
}

// suite is what every conformance test receives: the target and a client
// aimed at it. The client is safe for concurrent use by parallel subtests.
type suite struct {
	target Target
	db     *dynamodb.Client
}

// newClient builds a client for endpoint with static credentials and no
// retries: a retried write could apply twice and hide a server error that
// the suite must see.
func newClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDCONFORMANCE", "conformance-secret", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// skipDynalite skips the rest of the test when the target is dynalite;
// deviation names what dynalite does differently from DynamoDB.
func (s *suite) skipDynalite(t *testing.T, deviation string) {
	t.Helper()
	if s.target.Dynalite {
		t.Skipf("dynalite deviates from DynamoDB: %s", deviation)
	}
}

// requireTransactions skips the test when the target has no transactions.
func (s *suite) requireTransactions(t *testing.T) {
	t.Helper()
	if !s.target.Transactions {
		t.Skip("target has no TransactWriteItems/TransactGetItems")
	}
}

// runID keeps table names unique across runs against one long-lived
// server, tableSeq across tests within a run.
var (
	runID    = strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)
	tableSeq atomic.Int64
)

// tableName returns a fresh table name that tells which test made it.
func tableName(t *testing.T) string {
	name := t.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return '_'
	}, name)
	if len(name) > 60 {
		name = name[:60]
	}
	return fmt.Sprintf("conf-%s-%d-%s", runID, tableSeq.Add(1), name)
}

// ctx returns a context bounded so that a hung server fails the test
// instead of the whole run.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// createTable creates the table in (named by tableName when in.TableName
// is empty), waits until it and its indexes are ACTIVE, and deletes it when
// the test ends. It returns the table's name.
func (s *suite) createTable(t *testing.T, in *dynamodb.CreateTableInput) string {
	t.Helper()
	if in.TableName == nil {
		in.TableName = aws.String(tableName(t))
	}
	if in.BillingMode == "" && in.ProvisionedThroughput == nil {
		in.BillingMode = types.BillingModePayPerRequest
	}
	if _, err := s.db.CreateTable(ctx(t), in); err != nil {
		t.Fatalf("CreateTable(%s) error = %v", *in.TableName, err)
	}
	name := *in.TableName
	s.dropOnCleanup(t, name)
	s.waitActive(t, name)
	return name
}

// dropOnCleanup deletes the table when the test ends, so that a
// long-running server does not collect tables run after run.
func (s *suite) dropOnCleanup(t *testing.T, name string) {
	t.Cleanup(func() {
		// Best effort: a test may have deleted the table itself.
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.db.DeleteTable(c, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
}

// waitActive polls DescribeTable until the table and all its global
// secondary indexes are ACTIVE: DynamoDB creates tables asynchronously.
func (s *suite) waitActive(t *testing.T, name string) *types.TableDescription {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := s.db.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeTable(%s) error = %v", name, err)
		}
		if active(out.Table) {
			return out.Table
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s not ACTIVE after 60s: status %s", name, out.Table.TableStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// active reports whether a table and all its global indexes are ACTIVE.
func active(d *types.TableDescription) bool {
	if d == nil || d.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range d.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// hashTable creates a table keyed by the S attribute "pk" alone.
func (s *suite) hashTable(t *testing.T) string {
	t.Helper()
	return s.createTable(t, &dynamodb.CreateTableInput{
		AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS),
		KeySchema:            keySchema("pk", ""),
	})
}

// rangeTable creates a table keyed by the S attribute "pk" and a sort key
// "sk" of type skType.
func (s *suite) rangeTable(t *testing.T, skType types.ScalarAttributeType) string {
	t.Helper()
	return s.createTable(t, &dynamodb.CreateTableInput{
		AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS, "sk", skType),
		KeySchema:            keySchema("pk", "sk"),
	})
}

// attrDefs builds attribute definitions from name, type pairs.
func attrDefs(pairs ...any) []types.AttributeDefinition {
	var defs []types.AttributeDefinition
	for i := 0; i+1 < len(pairs); i += 2 {
		defs = append(defs, types.AttributeDefinition{
			AttributeName: aws.String(pairs[i].(string)),
			AttributeType: pairs[i+1].(types.ScalarAttributeType),
		})
	}
	return defs
}

// keySchema builds a key schema of hash and, unless empty, rangeKey.
func keySchema(hash, rangeKey string) []types.KeySchemaElement {
	ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	if rangeKey != "" {
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rangeKey), KeyType: types.KeyTypeRange})
	}
	return ks
}

// put writes item to table, failing the test on error.
func (s *suite) put(t *testing.T, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem(%s) error = %v", render(item), err)
	}
}

// get reads the item under key with a consistent read; nil when absent.
func (s *suite) get(t *testing.T, table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.db.GetItem(ctx(t), &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem(%s) error = %v", render(key), err)
	}
	return out.Item
}

// wantError fails the test unless err, returned by call, is (or wraps) a
// T, the SDK's typed error for one DynamoDB exception, and returns it.
func wantError[T error](t *testing.T, call string, err error) T {
	t.Helper()
	var target T
	if err == nil {
		t.Fatalf("%s error = nil, want %T", call, target)
	}
	if !errors.As(err, &target) {
		t.Fatalf("%s error = %v (code %s), want %T", call, err, errorCode(err), target)
	}
	return target
}

// wantCode marks the test failed unless err, returned by call, carries the
// DynamoDB error code. Used for exceptions the SDK has no typed error for
// (ValidationException).
func wantCode(t *testing.T, call string, err error, code string) {
	t.Helper()
	if got := errorCode(err); got != code {
		t.Errorf("%s error = %v (code %q), want code %q", call, err, got, code)
	}
}

// wantValidation marks the test failed unless err, returned by call, is a
// ValidationException.
func wantValidation(t *testing.T, call string, err error) {
	t.Helper()
	wantCode(t, call, err, "ValidationException")
}

// eventually polls read until it returns want, for reads DynamoDB makes
// only eventually consistent (global secondary indexes), and fails the
// test with the last difference after a deadline.
func (s *suite) eventually(t *testing.T, what string, read func() []string, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := read()
		diff := cmp.Diff(want, got, cmpopts.EquateEmpty())
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s mismatch after 10s (-want +got):\n%s", what, diff)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errorCode returns the DynamoDB error code carried by err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// errorMessage returns the server's message carried by err, or "".
func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}
