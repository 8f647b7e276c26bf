package conformance

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// testTable covers the control plane: CreateTable, DescribeTable,
// ListTables, DeleteTable and time to live.
func testTable(t *testing.T, s *suite) {
	t.Run("CreateHashOnly", func(t *testing.T) {
		t.Parallel()
		name := tableName(t)
		out, err := s.db.CreateTable(ctx(t), &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: attrDefs("id", types.ScalarAttributeTypeS),
			KeySchema:            keySchema("id", ""),
			BillingMode:          types.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatalf("CreateTable() error = %v", err)
		}
		s.dropOnCleanup(t, name)
		d := out.TableDescription
		if got := aws.ToString(d.TableName); got != name {
			t.Errorf("CreateTable() TableName = %q, want %q", got, name)
		}
		// DynamoDB answers CREATING; a local server may be ACTIVE at once.
		if d.TableStatus != types.TableStatusCreating && d.TableStatus != types.TableStatusActive {
			t.Errorf("CreateTable() TableStatus = %q, want CREATING or ACTIVE", d.TableStatus)
		}
		wantSchema(t, "CreateTable()", d, "id HASH", "id S")

		d = s.waitActive(t, name)
		wantSchema(t, "DescribeTable()", d, "id HASH", "id S")
		// Only an empty table's count is exact: DynamoDB refreshes
		// ItemCount about every six hours.
		if d.ItemCount == nil || *d.ItemCount != 0 {
			t.Errorf("DescribeTable() ItemCount = %v, want 0", aws.ToInt64(d.ItemCount))
		}
		if d.TableArn == nil || aws.ToString(d.TableArn) == "" {
			t.Errorf("DescribeTable() TableArn is empty")
		}
	})

	t.Run("CreateKeyTypes", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			hash, rng types.ScalarAttributeType
		}{
			{types.ScalarAttributeTypeN, ""},
			{types.ScalarAttributeTypeB, ""},
			{types.ScalarAttributeTypeS, types.ScalarAttributeTypeS},
			{types.ScalarAttributeTypeS, types.ScalarAttributeTypeN},
			{types.ScalarAttributeTypeN, types.ScalarAttributeTypeB},
			{types.ScalarAttributeTypeB, types.ScalarAttributeTypeS},
		} {
			in := &dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("h", tc.hash),
				KeySchema:            keySchema("h", ""),
			}
			wantKeys, wantDefs := []string{"h HASH"}, []string{"h " + string(tc.hash)}
			if tc.rng != "" {
				in.AttributeDefinitions = attrDefs("h", tc.hash, "r", tc.rng)
				in.KeySchema = keySchema("h", "r")
				wantKeys = append(wantKeys, "r RANGE")
				wantDefs = append(wantDefs, "r "+string(tc.rng))
			}
			name := s.createTable(t, in)
			out, err := s.db.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("DescribeTable() error = %v", err)
			}
			wantSchema(t, fmt.Sprintf("DescribeTable(%s/%s)", tc.hash, tc.rng), out.Table, joinLines(wantKeys), joinLines(wantDefs))
		}
	})

	t.Run("CreateIndexes", func(t *testing.T) {
		t.Parallel()
		name := s.createTable(t, &dynamodb.CreateTableInput{
			AttributeDefinitions: attrDefs(
				"pk", types.ScalarAttributeTypeS, "sk", types.ScalarAttributeTypeN,
				"g1", types.ScalarAttributeTypeS, "g2", types.ScalarAttributeTypeN,
				"g3", types.ScalarAttributeTypeB, "l1", types.ScalarAttributeTypeS),
			KeySchema: keySchema("pk", "sk"),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				{IndexName: aws.String("all"), KeySchema: keySchema("g1", ""),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
				{IndexName: aws.String("keys"), KeySchema: keySchema("g1", "g2"),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
				{IndexName: aws.String("include"), KeySchema: keySchema("g3", "sk"),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"x", "y"}}},
			},
			LocalSecondaryIndexes: []types.LocalSecondaryIndex{
				{IndexName: aws.String("local"), KeySchema: keySchema("pk", "l1"),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
			},
		})
		out, err := s.db.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeTable() error = %v", err)
		}
		d := out.Table
		wantSchema(t, "DescribeTable()", d, "pk HASH\nsk RANGE", "g1 S\ng2 N\ng3 B\nl1 S\npk S\nsk N")
		var gsis []string
		for _, g := range d.GlobalSecondaryIndexes {
			gsis = append(gsis, fmt.Sprintf("%s [%s] %s %s", aws.ToString(g.IndexName), keyText(g.KeySchema),
				projectionText(g.Projection), g.IndexStatus))
			if g.IndexArn == nil {
				t.Errorf("GSI %s IndexArn is empty", aws.ToString(g.IndexName))
			}
		}
		sort.Strings(gsis)
		want := []string{
			"all [g1 HASH] ALL ACTIVE",
			"include [g3 HASH, sk RANGE] INCLUDE(x,y) ACTIVE",
			"keys [g1 HASH, g2 RANGE] KEYS_ONLY ACTIVE",
		}
		if diff := cmp.Diff(want, gsis); diff != "" {
			t.Errorf("DescribeTable() GlobalSecondaryIndexes mismatch (-want +got):\n%s", diff)
		}
		var lsis []string
		for _, li := range d.LocalSecondaryIndexes {
			lsis = append(lsis, fmt.Sprintf("%s [%s] %s", aws.ToString(li.IndexName), keyText(li.KeySchema), projectionText(li.Projection)))
		}
		if diff := cmp.Diff([]string{"local [pk HASH, l1 RANGE] ALL"}, lsis); diff != "" {
			t.Errorf("DescribeTable() LocalSecondaryIndexes mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ListTablesPaging", func(t *testing.T) {
		t.Parallel()
		prefix := tableName(t) + "-"
		var names []string
		for _, suffix := range []string{"c", "a", "b"} {
			name := prefix + suffix
			s.createTable(t, &dynamodb.CreateTableInput{
				TableName:            aws.String(name),
				AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS),
				KeySchema:            keySchema("pk", ""),
			})
			names = append(names, name)
		}
		sort.Strings(names)
		// prefix sorts before its own extensions and after every other
		// table name that could sit between them, so paging from it meets
		// our three tables first and in name order.
		out, err := s.db.ListTables(ctx(t), &dynamodb.ListTablesInput{ExclusiveStartTableName: aws.String(prefix), Limit: aws.Int32(2)})
		if err != nil {
			t.Fatalf("ListTables() error = %v", err)
		}
		if diff := cmp.Diff(names[:2], out.TableNames); diff != "" {
			t.Errorf("ListTables(Limit 2) mismatch (-want +got):\n%s", diff)
		}
		if got := aws.ToString(out.LastEvaluatedTableName); got != names[1] {
			t.Errorf("ListTables() LastEvaluatedTableName = %q, want %q", got, names[1])
		}
		out, err = s.db.ListTables(ctx(t), &dynamodb.ListTablesInput{ExclusiveStartTableName: out.LastEvaluatedTableName, Limit: aws.Int32(2)})
		if err != nil {
			t.Fatalf("ListTables() page 2 error = %v", err)
		}
		if len(out.TableNames) == 0 || out.TableNames[0] != names[2] {
			t.Errorf("ListTables() page 2 = %v, want it to start with %q", out.TableNames, names[2])
		}
		if !sort.StringsAreSorted(out.TableNames) {
			t.Errorf("ListTables() page 2 = %v, not in name order", out.TableNames)
		}

		// Limit must be within 1..100.
		for _, limit := range []int32{0, 101} {
			_, err := s.db.ListTables(ctx(t), &dynamodb.ListTablesInput{Limit: aws.Int32(limit)})
			if errorCode(err) != "ValidationException" {
				t.Errorf("ListTables(Limit %d) error = %v, want ValidationException", limit, err)
			}
		}

		// Without a limit every table appears, ours included, in order.
		all := s.listAllTables(t)
		if !sort.StringsAreSorted(all) {
			t.Errorf("ListTables() across pages not in name order")
		}
		seen := map[string]int{}
		for _, n := range all {
			seen[n]++
		}
		for _, n := range names {
			if seen[n] != 1 {
				t.Errorf("ListTables() lists %q %d times, want once", n, seen[n])
			}
		}
	})

	t.Run("DeleteTable", func(t *testing.T) {
		t.Parallel()
		name := s.hashTable(t)
		out, err := s.db.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DeleteTable() error = %v", err)
		}
		if got := aws.ToString(out.TableDescription.TableName); got != name {
			t.Errorf("DeleteTable() TableName = %q, want %q", got, name)
		}
		// DynamoDB deletes asynchronously: poll until the table is gone.
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, err := s.db.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				wantError[*types.ResourceNotFoundException](t, "DescribeTable()", err)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("table %s still exists 60s after DeleteTable", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for _, n := range s.listAllTables(t) {
			if n == name {
				t.Errorf("ListTables() still lists deleted table %q", name)
			}
		}
		_, err = s.db.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		wantError[*types.ResourceNotFoundException](t, "DeleteTable()", err)
	})

	t.Run("TimeToLive", func(t *testing.T) {
		t.Parallel()
		name := s.hashTable(t)
		out, err := s.db.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeTimeToLive() error = %v", err)
		}
		if got := out.TimeToLiveDescription.TimeToLiveStatus; got != types.TimeToLiveStatusDisabled {
			t.Errorf("DescribeTimeToLive() status = %q, want DISABLED", got)
		}
		s.skipDynalite(t, "UpdateTimeToLive is not implemented")
		up, err := s.db.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String("expires"), Enabled: aws.Bool(true),
			},
		})
		if err != nil {
			t.Fatalf("UpdateTimeToLive() error = %v", err)
		}
		spec := up.TimeToLiveSpecification
		if spec == nil || aws.ToString(spec.AttributeName) != "expires" || !aws.ToBool(spec.Enabled) {
			t.Errorf("UpdateTimeToLive() specification = %+v, want expires enabled", spec)
		}
		// DynamoDB reports ENABLING for a while before ENABLED.
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, err = s.db.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("DescribeTimeToLive() error = %v", err)
			}
			d := out.TimeToLiveDescription
			if d.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
				if got := aws.ToString(d.AttributeName); got != "expires" {
					t.Errorf("DescribeTimeToLive() AttributeName = %q, want expires", got)
				}
				break
			}
			if d.TimeToLiveStatus != types.TimeToLiveStatusEnabling || time.Now().After(deadline) {
				t.Fatalf("DescribeTimeToLive() status = %q, want ENABLED", d.TimeToLiveStatus)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Enabling it again is refused: TTL is already enabled.
		_, err = s.db.UpdateTimeToLive(ctx(t), &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String("expires"), Enabled: aws.Bool(true),
			},
		})
		wantValidation(t, "UpdateTimeToLive()", err)
	})

	t.Run("ResourceNotFound", func(t *testing.T) {
		t.Parallel()
		missing := aws.String(tableName(t))
		_, err := s.db.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: missing})
		wantError[*types.ResourceNotFoundException](t, "DescribeTable()", err)
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: missing, Item: pk("a")})
		wantError[*types.ResourceNotFoundException](t, "PutItem()", err)
		_, err = s.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: missing, Key: pk("a")})
		wantError[*types.ResourceNotFoundException](t, "GetItem()", err)
		_, err = s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: missing, Key: pk("a")})
		wantError[*types.ResourceNotFoundException](t, "DeleteItem()", err)
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: missing, Key: pk("a"),
			UpdateExpression: aws.String("SET a = :a"), ExpressionAttributeValues: item{":a": str("x")}})
		wantError[*types.ResourceNotFoundException](t, "UpdateItem()", err)
		_, err = s.db.Query(ctx(t), &dynamodb.QueryInput{TableName: missing,
			KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: item{":p": str("a")}})
		wantError[*types.ResourceNotFoundException](t, "Query()", err)
		_, err = s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: missing})
		wantError[*types.ResourceNotFoundException](t, "Scan()", err)
		_, err = s.db.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: missing})
		wantError[*types.ResourceNotFoundException](t, "DescribeTimeToLive()", err)
	})

	t.Run("ResourceInUse", func(t *testing.T) {
		t.Parallel()
		name := s.hashTable(t)
		_, err := s.db.CreateTable(ctx(t), &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS),
			KeySchema:            keySchema("pk", ""),
			BillingMode:          types.BillingModePayPerRequest,
		})
		wantError[*types.ResourceInUseException](t, "CreateTable()", err)
	})

	t.Run("BadKeySchema", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			in   dynamodb.CreateTableInput
		}{
			{"KeyNotDefined", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS),
				KeySchema:            keySchema("b", ""),
			}},
			{"ExtraDefinition", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS, "b", types.ScalarAttributeTypeS),
				KeySchema:            keySchema("a", ""),
			}},
			{"TwoHashKeys", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS, "b", types.ScalarAttributeTypeS),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String("a"), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String("b"), KeyType: types.KeyTypeHash},
				},
			}},
			{"RangeFirst", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS, "b", types.ScalarAttributeTypeS),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String("a"), KeyType: types.KeyTypeRange},
					{AttributeName: aws.String("b"), KeyType: types.KeyTypeHash},
				},
			}},
			{"OnlyRange", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS),
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("a"), KeyType: types.KeyTypeRange}},
			}},
			{"BoolKeyType", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeType("BOOL")),
				KeySchema:            keySchema("a", ""),
			}},
			{"IndexKeyNotDefined", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS),
				KeySchema:            keySchema("a", ""),
				GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("g"), KeySchema: keySchema("z", ""),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
			}},
			{"LocalIndexOtherHash", dynamodb.CreateTableInput{
				AttributeDefinitions: attrDefs("a", types.ScalarAttributeTypeS, "b", types.ScalarAttributeTypeS, "c", types.ScalarAttributeTypeS),
				KeySchema:            keySchema("a", "b"),
				LocalSecondaryIndexes: []types.LocalSecondaryIndex{{IndexName: aws.String("l"), KeySchema: keySchema("c", "b"),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				in.TableName = aws.String(tableName(t))
				in.BillingMode = types.BillingModePayPerRequest
				_, err := s.db.CreateTable(ctx(t), &in)
				if err == nil {
					_, _ = s.db.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: in.TableName})
				}
				wantValidation(t, "CreateTable("+tc.name+")", err)
			})
		}
	})
}

// listAllTables pages through ListTables with a small limit and returns
// every name once, in the order served.
func (s *suite) listAllTables(t *testing.T) []string {
	t.Helper()
	var names []string
	var start *string
	for {
		out, err := s.db.ListTables(ctx(t), &dynamodb.ListTablesInput{ExclusiveStartTableName: start, Limit: aws.Int32(100)})
		if err != nil {
			t.Fatalf("ListTables() error = %v", err)
		}
		if len(out.TableNames) > 100 {
			t.Fatalf("ListTables(Limit 100) returned %d names", len(out.TableNames))
		}
		names = append(names, out.TableNames...)
		if out.LastEvaluatedTableName == nil {
			return names
		}
		start = out.LastEvaluatedTableName
	}
}

// wantSchema checks a table's key schema and attribute definitions, given
// as "name TYPE" lines (definitions sorted by name; DynamoDB does not
// promise their order).
func wantSchema(t *testing.T, what string, d *types.TableDescription, keys, defs string) {
	t.Helper()
	if got := keyLines(d.KeySchema); got != keys {
		t.Errorf("%s KeySchema = %q, want %q", what, got, keys)
	}
	var lines []string
	for _, a := range d.AttributeDefinitions {
		lines = append(lines, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
	}
	sort.Strings(lines)
	if got := joinLines(lines); got != defs {
		t.Errorf("%s AttributeDefinitions = %q, want %q", what, got, defs)
	}
}

func keyLines(ks []types.KeySchemaElement) string {
	var lines []string
	for _, k := range ks {
		lines = append(lines, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return joinLines(lines)
}

func keyText(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return strings.Join(parts, ", ")
}

func projectionText(p *types.Projection) string {
	if p == nil {
		return "<nil>"
	}
	if p.ProjectionType != types.ProjectionTypeInclude {
		return string(p.ProjectionType)
	}
	attrs := append([]string(nil), p.NonKeyAttributes...)
	sort.Strings(attrs)
	return "INCLUDE(" + strings.Join(attrs, ",") + ")"
}

func joinLines(lines []string) string { return strings.Join(lines, "\n") }
