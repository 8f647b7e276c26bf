package devstack

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// startDynamoDB starts a server on a free port with its snapshot at path;
// it is closed at cleanup if the test has not closed it.
func startDynamoDB(t *testing.T, path string) *DynamoDB {
	t.Helper()
	d, err := StartDynamoDB(DynamoDBOptions{Addr: "127.0.0.1:0", SnapshotPath: path, SnapshotInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func newClient(t *testing.T, endpoint string) *dynamodb.Client {
	t.Helper()
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
	})
}

// createTables creates a table keyed on pk and sk with an index, and a
// table keyed on pk alone.
func createTables(t *testing.T, db *dynamodb.Client) {
	t.Helper()
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String("things"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("owner"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by-owner"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("owner"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("plain"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testItems covers every attribute type.
func testItems() []map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	return []map[string]types.AttributeValue{
		{
			"pk": s("a"), "sk": s("1"), "owner": s("ann"),
			"bin":     &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xff, '"'}},
			"big":     n("123456789012345678901234567890"),
			"frac":    n("-0.000125"),
			"ok":      &types.AttributeValueMemberBOOL{Value: false},
			"none":    &types.AttributeValueMemberNULL{Value: true},
			"ss":      &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
			"ns":      &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
			"bs":      &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
			"empty":   s(""),
			"unicode": s("héllo \u2028 \"quoted\" <tag> 😀"),
			"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"inner": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("one"), n("2"), &types.AttributeValueMemberBOOL{Value: true}}},
				"deep":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": n("1")}},
			}},
		},
		{"pk": s("a"), "sk": s("2"), "owner": s("bob"), "count": n("7")},
		{"pk": s("b"), "sk": s("1"), "owner": s("ann")},
	}
}

// scanAll returns a table's items.
func scanAll(t *testing.T, db *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		items = append(items, out.Items...)
	}
	return items
}

// itemOpts compares items whatever their order; sets are unordered too.
var itemOpts = cmp.Options{
	cmpopts.IgnoreUnexported(
		types.AttributeValueMemberS{}, types.AttributeValueMemberN{}, types.AttributeValueMemberB{},
		types.AttributeValueMemberBOOL{}, types.AttributeValueMemberNULL{}, types.AttributeValueMemberSS{},
		types.AttributeValueMemberNS{}, types.AttributeValueMemberBS{}, types.AttributeValueMemberL{},
		types.AttributeValueMemberM{},
	),
	cmpopts.SortSlices(func(a, b map[string]types.AttributeValue) bool {
		return key(a) < key(b)
	}),
	cmpopts.SortSlices(func(a, b string) bool { return a < b }),
}

func key(it map[string]types.AttributeValue) string {
	var k string
	for _, name := range []string{"pk", "sk"} {
		if v, ok := it[name].(*types.AttributeValueMemberS); ok {
			k += v.Value + "\x00"
		}
	}
	return k
}

func TestDynamoDB_SnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dynamodb", "snapshot.json")
	d := startDynamoDB(t, path)
	db := newClient(t, d.Endpoint())
	createTables(t, db)
	want := testItems()
	for _, it := range want {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("things"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 { // more than one batch write when loaded
		it := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k" + string(rune('A'+i%26)) + string(rune('a'+i/26))}}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("plain"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	wantPlain := scanAll(t, db, "plain")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := startDynamoDB(t, path)
	db2 := newClient(t, d2.Endpoint())
	if diff := cmp.Diff(want, scanAll(t, db2, "things"), itemOpts); diff != "" {
		t.Errorf("things after restart mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantPlain, scanAll(t, db2, "plain"), itemOpts); diff != "" {
		t.Errorf("plain after restart mismatch (-want +got):\n%s", diff)
	}
	// The index came back with the table.
	out, err := db2.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String("things"),
		IndexName:                 aws.String("by-owner"),
		KeyConditionExpression:    aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: "ann"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 2 {
		t.Errorf("query by-owner ann: %d items, want 2", len(out.Items))
	}
	lt, err := db2.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plain", "things"}, lt.TableNames); diff != "" {
		t.Errorf("ListTables mismatch (-want +got):\n%s", diff)
	}
}

func TestDynamoDB_SaveOnlyWhenChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "snapshot.json")
	d := startDynamoDB(t, path)
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("snapshot written with no change (stat err %v)", err)
	}
	db := newClient(t, d.Endpoint())
	createTables(t, db)
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	st1, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Reads change nothing, so the file stays as it is.
	scanAll(t, db, "things")
	os.Remove(path)
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("snapshot rewritten after reads only (stat err %v)", err)
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("plain"), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	st2, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Size() <= st1.Size() {
		t.Errorf("snapshot size %d after a put, want more than %d", st2.Size(), st1.Size())
	}
}

func TestDynamoDB_SnapshotLoop(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "snapshot.json")
	d, err := StartDynamoDB(DynamoDBOptions{Addr: "127.0.0.1:0", SnapshotPath: path, SnapshotInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	createTables(t, newClient(t, d.Endpoint()))
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap, err := readSnapshot(path)
		if err == nil && len(snap.Tables) == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot with 2 tables within the deadline (last error %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWriteFileAtomic_FailedWriteKeepsOld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := writeFileAtomic(path, func(w io.Writer) error {
		io.WriteString(w, "half of the ne")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("writeFileAtomic error = %v, want %v", err, boom)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("file = %q after a failed write, want %q", b, "old")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want only the old file", len(entries))
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file = %q, want %q", b, "new")
	}
}

// TestDynamoDB_CrashDuringSave starts from what a crash in the middle of a
// save leaves: the previous snapshot and a torn temporary file.
func TestDynamoDB_CrashDuringSave(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "snapshot.json")
	d := startDynamoDB(t, path)
	createTables(t, newClient(t, d.Endpoint()))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(filepath.Dir(path), ".snapshot.json.123456.tmp")
	if err := os.WriteFile(torn, []byte(`{"format":1,"tables":[{"name":"pla`), 0o600); err != nil {
		t.Fatal(err)
	}
	d2 := startDynamoDB(t, path)
	lt, err := newClient(t, d2.Endpoint()).ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.TableNames) != 2 {
		t.Errorf("tables after restart = %v, want 2", lt.TableNames)
	}
	if _, err := os.Stat(torn); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("torn temporary file left behind (stat err %v)", err)
	}
}

func TestStartDynamoDB_BadSnapshot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		want          []string
	}{
		{"corrupt", `{"format":1,"tables":[{"name":`, []string{"corrupt", "move it away"}},
		{"newer", `{"format":99,"tables":"a new shape"}`, []string{"format 99", "newer"}},
		{"no format", `{"tables":[]}`, []string{"corrupt", "no format"}},
		{"table without definition", `{"format":1,"tables":[{"name":"x","items":[]}]}`, []string{"corrupt"}},
		{"item of the wrong shape", `{"format":1,"tables":[{"name":"x","create":{"TableName":"x","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"},"items":[{"other":{"S":"1"}}]}]}`, []string{"table x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "snapshot.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := StartDynamoDB(DynamoDBOptions{Addr: "127.0.0.1:0", SnapshotPath: path, Log: slog.New(slog.DiscardHandler)})
			if err == nil {
				d.Close()
				t.Fatal("StartDynamoDB succeeded, want an error")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Errorf("snapshot changed by a failed start")
			}
		})
	}
}

func TestStartDynamoDB_AddrInUse(t *testing.T) {
	t.Parallel()
	d := startDynamoDB(t, "")
	addr := strings.TrimPrefix(d.Endpoint(), "http://")
	if _, err := StartDynamoDB(DynamoDBOptions{Addr: addr}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("StartDynamoDB on a taken address: error %v, want one naming %s", err, addr)
	}
	d2, err := StartDynamoDB(DynamoDBOptions{Addr: addr, Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if !d2.FellBack || d2.Endpoint() == d.Endpoint() {
		t.Errorf("fallback: FellBack = %v, endpoint %s (taken %s)", d2.FellBack, d2.Endpoint(), d.Endpoint())
	}
}

func TestLockDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unlock, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second LockDir: error %v, want one saying the folder is in use", err)
	}
	unlock()
	unlock2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after unlock: %v", err)
	}
	unlock2()
}

// TestNextSave checks that saves keep their interval while fast and make
// room for the work once slow.
func TestNextSave(t *testing.T) {
	for _, c := range []struct{ interval, took, want time.Duration }{
		{5 * time.Second, 10 * time.Millisecond, 5 * time.Second},
		{5 * time.Second, 500 * time.Millisecond, 5 * time.Second},
		{5 * time.Second, 2 * time.Second, 20 * time.Second},
	} {
		if got := nextSave(c.interval, c.took); got != c.want {
			t.Errorf("nextSave(%v, %v) = %v, want %v", c.interval, c.took, got, c.want)
		}
	}
}
