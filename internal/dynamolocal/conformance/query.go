package conformance

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// testQuery covers Query: key conditions on S, N and B sort keys, order,
// paging, filters, counting, projections and global secondary indexes.
func testQuery(t *testing.T, s *suite) {
	t.Run("StringSortKey", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeS)
		// Bytewise UTF-8 order: upper case before lower case, "é" last.
		sks := []string{"B", "a", "ab", "abc", "ac", "b", "ba", "é"}
		for _, sk := range sks {
			s.put(t, table, pksk("p", str(sk)))
		}
		s.put(t, table, pksk("other", str("a")))
		values := item{":a": str("a"), ":ab": str("ab"), ":b": str("b")}
		for _, tc := range []struct {
			cond string
			want []string
		}{
			{"", sks},
			{"sk = :ab", []string{"ab"}},
			{"sk < :ab", []string{"B", "a"}},
			{"sk <= :ab", []string{"B", "a", "ab"}},
			{"sk > :ab", []string{"abc", "ac", "b", "ba", "é"}},
			{"sk >= :b", []string{"b", "ba", "é"}},
			{"sk BETWEEN :a AND :b", []string{"a", "ab", "abc", "ac", "b"}},
			{"begins_with(sk, :ab)", []string{"ab", "abc"}},
			{"begins_with(sk, :a)", []string{"a", "ab", "abc", "ac"}},
		} {
			var want []item
			for _, sk := range tc.want {
				want = append(want, pksk("p", str(sk)))
			}
			s.wantQuery(t, table, tc.cond, values, want)
		}
	})

	t.Run("NumberSortKey", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeN)
		// Numeric order: 9 before 10, negatives first, 1.5 between 1 and 2.
		sks := []string{"-100", "-5", "-0.5", "0", "1", "1.5", "2", "9", "10", "100", "1000000000000000000000000000000"}
		for _, sk := range sks {
			s.put(t, table, pksk("p", n(sk)))
		}
		values := item{":1": ni(1), ":9": ni(9), ":10": ni(10), ":neg": n("-5")}
		for _, tc := range []struct {
			cond string
			want []string
		}{
			{"", sks},
			{"sk = :10", []string{"10"}},
			{"sk < :1", []string{"-100", "-5", "-0.5", "0"}},
			{"sk <= :neg", []string{"-100", "-5"}},
			{"sk > :9", []string{"10", "100", "1000000000000000000000000000000"}},
			{"sk >= :9", []string{"9", "10", "100", "1000000000000000000000000000000"}},
			{"sk BETWEEN :1 AND :10", []string{"1", "1.5", "2", "9", "10"}},
		} {
			var want []item
			for _, sk := range tc.want {
				want = append(want, pksk("p", n(sk)))
			}
			s.wantQuery(t, table, tc.cond, values, want)
		}
		// begins_with applies to strings and binaries only.
		_, err := s.db.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String(table),
			KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :1)"),
			ExpressionAttributeValues: item{":p": str("p"), ":1": ni(1)}})
		wantValidation(t, "Query(begins_with on an N sort key)", err)
	})

	t.Run("BinarySortKey", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeB)
		// Unsigned bytewise order: 0xff after 0x7f.
		sks := [][]byte{{0x00}, {0x01}, {0x01, 0x00}, {0x01, 0x02}, {0x02}, {0x7f}, {0x80}, {0xff}, {0xff, 0xff}}
		for _, sk := range sks {
			s.put(t, table, pksk("p", b(sk)))
		}
		values := item{":01": b([]byte{0x01}), ":7f": b([]byte{0x7f}), ":ff": b([]byte{0xff})}
		for _, tc := range []struct {
			cond string
			want [][]byte
		}{
			{"", sks},
			{"sk = :7f", sks[5:6]},
			{"sk < :7f", sks[:5]},
			{"sk <= :01", sks[:2]},
			{"sk > :7f", sks[6:]},
			{"sk >= :ff", sks[7:]},
			{"sk BETWEEN :01 AND :7f", sks[1:6]},
			{"begins_with(sk, :01)", sks[1:4]},
			{"begins_with(sk, :ff)", sks[7:]},
		} {
			var want []item
			for _, sk := range tc.want {
				want = append(want, pksk("p", b(sk)))
			}
			s.wantQuery(t, table, tc.cond, values, want)
		}
	})

	t.Run("HashOnly", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		s.put(t, table, item{"pk": str("a"), "v": ni(1)})
		s.put(t, table, item{"pk": str("b"), "v": ni(2)})
		s.wantQuery(t, table, "", nil, []item{{"pk": str("a"), "v": ni(1)}}, withPartition("a"))
		s.wantQuery(t, table, "", nil, nil, withPartition("missing"))
	})

	t.Run("PagingBackwardFilterCount", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeN)
		var all []item
		for i := 1; i <= 25; i++ {
			it := item{"pk": str("p"), "sk": ni(i), "even": bl(i%2 == 0), "data": str(fmt.Sprint("d", i))}
			s.put(t, table, it)
			all = append(all, it)
		}
		s.put(t, table, item{"pk": str("q"), "sk": ni(1)})

		keyCond := &dynamodb.QueryInput{TableName: aws.String(table),
			KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: item{":p": str("p")}}

		// Limit pages through every item exactly once, in order, and each
		// page's LastEvaluatedKey is the key of its last item.
		for _, forward := range []bool{true, false} {
			in := *keyCond
			in.ScanIndexForward = aws.Bool(forward)
			in.Limit = aws.Int32(7)
			got, pages := s.queryPages(t, &in, []string{"pk", "sk"})
			want := all
			if !forward {
				want = reversed(all)
			}
			wantItems(t, fmt.Sprintf("Query(forward=%t, Limit 7) pages", forward), renderAll(got), renderAll(want))
			if pages < 4 || pages > 5 {
				t.Errorf("Query(Limit 7) over 25 items took %d pages, want 4 (or 5 with an empty last page)", pages)
			}
		}

		// FilterExpression applies after Limit: ScannedCount counts what
		// was read, Count what matched.
		in := *keyCond
		in.FilterExpression = aws.String("even = :t")
		in.ExpressionAttributeValues = item{":p": str("p"), ":t": bl(true)}
		out, err := s.db.Query(ctx(t), &in)
		if err != nil {
			t.Fatalf("Query(FilterExpression) error = %v", err)
		}
		if out.Count != 12 || out.ScannedCount != 25 || len(out.Items) != 12 {
			t.Errorf("Query(FilterExpression) Count, ScannedCount, items = %d, %d, %d, want 12, 25, 12", out.Count, out.ScannedCount, len(out.Items))
		}
		in.Limit = aws.Int32(5)
		out, err = s.db.Query(ctx(t), &in)
		if err != nil {
			t.Fatalf("Query(FilterExpression, Limit 5) error = %v", err)
		}
		if out.Count != 2 || out.ScannedCount != 5 {
			t.Errorf("Query(FilterExpression, Limit 5) Count, ScannedCount = %d, %d, want 2, 5", out.Count, out.ScannedCount)
		}
		wantItem(t, "Query(FilterExpression, Limit 5) LastEvaluatedKey", out.LastEvaluatedKey, pksk("p", ni(5)))
		got, _ := s.queryPages(t, &in, []string{"pk", "sk"})
		var evens []item
		for _, it := range all {
			if it["even"].(*types.AttributeValueMemberBOOL).Value {
				evens = append(evens, it)
			}
		}
		wantItems(t, "Query(FilterExpression, Limit 5) pages", renderAll(got), renderAll(evens))

		// A filter on a key attribute is refused.
		bad := *keyCond
		bad.FilterExpression = aws.String("sk > :one")
		bad.ExpressionAttributeValues = item{":p": str("p"), ":one": ni(1)}
		_, err = s.db.Query(ctx(t), &bad)
		wantValidation(t, "Query(FilterExpression on the sort key)", err)

		// Select COUNT returns counts and no items.
		in = *keyCond
		in.Select = types.SelectCount
		out, err = s.db.Query(ctx(t), &in)
		if err != nil {
			t.Fatalf("Query(Select COUNT) error = %v", err)
		}
		if out.Count != 25 || out.ScannedCount != 25 || out.Items != nil {
			t.Errorf("Query(Select COUNT) Count, ScannedCount, Items = %d, %d, %v, want 25, 25, nil", out.Count, out.ScannedCount, out.Items)
		}
		in.FilterExpression = aws.String("even = :t")
		in.ExpressionAttributeValues = item{":p": str("p"), ":t": bl(true)}
		out, err = s.db.Query(ctx(t), &in)
		if err != nil {
			t.Fatalf("Query(Select COUNT, FilterExpression) error = %v", err)
		}
		if out.Count != 12 || out.ScannedCount != 25 {
			t.Errorf("Query(Select COUNT, FilterExpression) Count, ScannedCount = %d, %d, want 12, 25", out.Count, out.ScannedCount)
		}

		// ProjectionExpression keeps only the named attributes.
		in = *keyCond
		in.ProjectionExpression = aws.String("sk, #d")
		in.ExpressionAttributeNames = map[string]string{"#d": "data"}
		in.Limit = aws.Int32(2)
		out, err = s.db.Query(ctx(t), &in)
		if err != nil {
			t.Fatalf("Query(ProjectionExpression) error = %v", err)
		}
		wantItems(t, "Query(ProjectionExpression)", renderAll(out.Items),
			renderAll([]item{{"sk": ni(1), "data": str("d1")}, {"sk": ni(2), "data": str("d2")}}))
		// LastEvaluatedKey still holds the whole key.
		wantItem(t, "Query(ProjectionExpression, Limit 2) LastEvaluatedKey", out.LastEvaluatedKey, pksk("p", ni(2)))
	})

	t.Run("GlobalIndex", func(t *testing.T) {
		t.Parallel()
		table := s.createTable(t, &dynamodb.CreateTableInput{
			AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS, "sk", types.ScalarAttributeTypeS,
				"g", types.ScalarAttributeTypeS, "gs", types.ScalarAttributeTypeN),
			KeySchema: keySchema("pk", "sk"),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				{IndexName: aws.String("by-g"), KeySchema: keySchema("g", "gs"),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
				{IndexName: aws.String("by-g-keys"), KeySchema: keySchema("g", ""),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
				{IndexName: aws.String("by-g-include"), KeySchema: keySchema("g", "gs"),
					Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"x"}}},
			},
		})
		var indexed []item
		for i := 0; i < 20; i++ {
			// Several items share one index key value: gs repeats, so
			// the index orders ties itself and paging must still see
			// each item once.
			it := item{"pk": str(fmt.Sprint("p", i%3)), "sk": str(fmt.Sprint("s", i)), "g": str("G"), "gs": ni(i / 2), "x": ni(i), "y": ni(i)}
			s.put(t, table, it)
			indexed = append(indexed, it)
		}
		// Items without the index key, or with only part of it, or of
		// another index key value, are not in by-g's result.
		s.put(t, table, item{"pk": str("nokey"), "sk": str("1"), "x": ni(1)})
		s.put(t, table, item{"pk": str("norange"), "sk": str("1"), "g": str("G")})
		s.put(t, table, item{"pk": str("other"), "sk": str("1"), "g": str("H"), "gs": ni(1)})

		in := &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-g"),
			KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: item{":g": str("G")}, Limit: aws.Int32(3)}
		got, _ := s.queryPages(t, in, []string{"pk", "sk", "g", "gs"})
		if len(got) != len(indexed) {
			t.Errorf("Query(by-g, Limit 3) returned %d items, want %d", len(got), len(indexed))
		}
		wantItems(t, "Query(by-g, Limit 3) items (as a set)", renderSorted(got), renderSorted(indexed))
		for i := 1; i < len(got); i++ {
			a, _ := got[i-1]["gs"].(*types.AttributeValueMemberN)
			b, _ := got[i]["gs"].(*types.AttributeValueMemberN)
			if a == nil || b == nil || numberLess(b.Value, a.Value) {
				t.Errorf("Query(by-g) not in gs order at %d", i)
				break
			}
		}

		in = &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-g"),
			KeyConditionExpression:    aws.String("g = :g AND gs BETWEEN :a AND :b"),
			ExpressionAttributeValues: item{":g": str("G"), ":a": ni(2), ":b": ni(3)}, ScanIndexForward: aws.Bool(false)}
		out, err := s.db.Query(ctx(t), in)
		if err != nil {
			t.Fatalf("Query(by-g, BETWEEN) error = %v", err)
		}
		if out.Count != 4 {
			t.Errorf("Query(by-g, gs BETWEEN 2 AND 3) Count = %d, want 4", out.Count)
		}

		// KEYS_ONLY projects the table and index keys only; the index
		// with no range key also holds the item lacking gs.
		in = &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-g-keys"),
			KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: item{":g": str("G")}}
		out, err = s.db.Query(ctx(t), in)
		if err != nil {
			t.Fatalf("Query(by-g-keys) error = %v", err)
		}
		var want []item
		for _, it := range indexed {
			want = append(want, item{"pk": it["pk"], "sk": it["sk"], "g": it["g"]})
		}
		want = append(want, item{"pk": str("norange"), "sk": str("1"), "g": str("G")})
		wantItems(t, "Query(by-g-keys) items", renderSorted(out.Items), renderSorted(want))

		// INCLUDE projects the keys plus the named attributes.
		in = &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-g-include"),
			KeyConditionExpression: aws.String("g = :g AND gs = :z"), ExpressionAttributeValues: item{":g": str("G"), ":z": ni(0)}}
		out, err = s.db.Query(ctx(t), in)
		if err != nil {
			t.Fatalf("Query(by-g-include) error = %v", err)
		}
		want = nil
		for _, it := range indexed[:2] {
			want = append(want, item{"pk": it["pk"], "sk": it["sk"], "g": it["g"], "gs": it["gs"], "x": it["x"]})
		}
		wantItems(t, "Query(by-g-include) items", renderSorted(out.Items), renderSorted(want))

		// Strongly consistent reads are not supported on global indexes.
		in.ConsistentRead = aws.Bool(true)
		_, err = s.db.Query(ctx(t), in)
		wantValidation(t, "Query(ConsistentRead on a global index)", err)

		// An unknown index is a ValidationException, not ResourceNotFound.
		_, err = s.db.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("nope"),
			KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: item{":g": str("G")}})
		wantValidation(t, "Query(unknown index)", err)

		// Index key attributes must have the type the table defines, and
		// may not be empty.
		for _, bad := range []item{
			{"pk": str("bad"), "sk": str("1"), "g": ni(1)},
			{"pk": str("bad"), "sk": str("1"), "g": str("G"), "gs": str("1")},
		} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: bad})
			if errorCode(err) != "ValidationException" {
				t.Errorf("PutItem(%s) error = %v, want ValidationException", render(bad), err)
			}
		}
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pksk("p0", str("s0")),
			UpdateExpression: aws.String("SET gs = :s"), ExpressionAttributeValues: item{":s": str("text")}})
		wantValidation(t, "UpdateItem()", err)

		// Empty strings are refused in index keys as in table keys.
		s.skipDynalite(t, "empty strings are accepted in index key attributes")
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table),
			Item: item{"pk": str("bad"), "sk": str("1"), "g": str("")}})
		wantValidation(t, "PutItem()", err)
	})

	t.Run("GlobalIndexFollowsWrites", func(t *testing.T) {
		t.Parallel()
		table := s.createTable(t, &dynamodb.CreateTableInput{
			AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS, "g", types.ScalarAttributeTypeS),
			KeySchema:            keySchema("pk", ""),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("by-g"), KeySchema: keySchema("g", ""),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
		})
		byG := func(g string) []string {
			t.Helper()
			got, _ := s.queryPages(t, &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-g"),
				KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: item{":g": str(g)}}, []string{"pk", "g"})
			return renderSorted(got)
		}
		s.put(t, table, item{"pk": str("a"), "g": str("G"), "v": ni(1)})
		s.put(t, table, item{"pk": str("b"), "g": str("G"), "v": ni(2)})
		// Index reads are eventually consistent on DynamoDB; poll.
		s.eventually(t, "by-g after puts", func() []string { return byG("G") },
			renderSorted([]item{{"pk": str("a"), "g": str("G"), "v": ni(1)}, {"pk": str("b"), "g": str("G"), "v": ni(2)}}))

		// Moving an item to another index key moves it in the index.
		_, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pk("a"),
			UpdateExpression: aws.String("SET g = :h, v = :v"), ExpressionAttributeValues: item{":h": str("H"), ":v": ni(3)}})
		if err != nil {
			t.Fatalf("UpdateItem(SET g) error = %v", err)
		}
		s.eventually(t, "by-g H after moving a", func() []string { return byG("H") },
			renderSorted([]item{{"pk": str("a"), "g": str("H"), "v": ni(3)}}))
		s.eventually(t, "by-g G after moving a", func() []string { return byG("G") },
			renderSorted([]item{{"pk": str("b"), "g": str("G"), "v": ni(2)}}))

		// Removing the index key or the item takes it out of the index;
		// replacing an item replaces its index entry.
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pk("a"),
			UpdateExpression: aws.String("REMOVE g")})
		if err != nil {
			t.Fatalf("UpdateItem(REMOVE g) error = %v", err)
		}
		s.put(t, table, item{"pk": str("b"), "g": str("G"), "v": ni(9)})
		s.eventually(t, "by-g G after replacing b", func() []string { return byG("G") },
			renderSorted([]item{{"pk": str("b"), "g": str("G"), "v": ni(9)}}))
		s.eventually(t, "by-g H after REMOVE g", func() []string { return byG("H") }, nil)
		if _, err := s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: pk("b")}); err != nil {
			t.Fatalf("DeleteItem() error = %v", err)
		}
		s.eventually(t, "by-g G after delete", func() []string { return byG("G") }, nil)
	})

	t.Run("LocalIndex", func(t *testing.T) {
		t.Parallel()
		table := s.createTable(t, &dynamodb.CreateTableInput{
			AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeS, "sk", types.ScalarAttributeTypeS,
				"l", types.ScalarAttributeTypeN),
			KeySchema: keySchema("pk", "sk"),
			LocalSecondaryIndexes: []types.LocalSecondaryIndex{{IndexName: aws.String("by-l"), KeySchema: keySchema("pk", "l"),
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
		})
		s.put(t, table, item{"pk": str("p"), "sk": str("a"), "l": ni(3)})
		s.put(t, table, item{"pk": str("p"), "sk": str("b"), "l": ni(1)})
		s.put(t, table, item{"pk": str("p"), "sk": str("c")})
		s.put(t, table, item{"pk": str("p"), "sk": str("d"), "l": ni(2)})
		out, err := s.db.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("by-l"),
			KeyConditionExpression: aws.String("pk = :p AND l > :0"), ExpressionAttributeValues: item{":p": str("p"), ":0": ni(0)},
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("Query(by-l) error = %v", err)
		}
		wantItems(t, "Query(by-l) items", renderAll(out.Items), renderAll([]item{
			{"pk": str("p"), "sk": str("b"), "l": ni(1)},
			{"pk": str("p"), "sk": str("d"), "l": ni(2)},
			{"pk": str("p"), "sk": str("a"), "l": ni(3)},
		}))
	})

	t.Run("InvalidKeyConditions", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeS)
		for _, tc := range []struct {
			cond   string
			values item
		}{
			{"sk = :s", item{":s": str("a")}},
			{"begins_with(sk, :s)", item{":s": str("a")}},
			{"pk = :p AND other = :s", item{":p": str("p"), ":s": str("a")}},
			{"pk < :p", item{":p": str("p")}},
			{"pk = :p OR sk = :s", item{":p": str("p"), ":s": str("a")}},
			{"pk = :p AND sk <> :s", item{":p": str("p"), ":s": str("a")}},
			{"pk = :p AND sk = :s AND sk = :s", item{":p": str("p"), ":s": str("a")}},
			{"pk = :n", item{":n": ni(1)}},
			{"pk = :p", item{":p": str("p"), ":unused": str("a")}},
		} {
			_, err := s.db.Query(ctx(t), &dynamodb.QueryInput{TableName: aws.String(table),
				KeyConditionExpression: aws.String(tc.cond), ExpressionAttributeValues: tc.values})
			if errorCode(err) != "ValidationException" {
				t.Errorf("Query(%q) error = %v, want ValidationException", tc.cond, err)
			}
		}
	})
}

// queryOption adjusts the input wantQuery sends.
type queryOption func(*dynamodb.QueryInput)

// withPartition queries partition p instead of "p".
func withPartition(p string) queryOption {
	return func(in *dynamodb.QueryInput) { in.ExpressionAttributeValues[":p"] = str(p) }
}

// wantQuery runs Query on partition "p" with the sort-key condition cond
// (none when empty) and checks the result, in order.
func (s *suite) wantQuery(t *testing.T, table, cond string, values item, want []item, opts ...queryOption) {
	t.Helper()
	expr := "pk = :p"
	if cond != "" {
		expr += " AND " + cond
	}
	vals := usedValues(expr, values)
	if vals == nil {
		vals = item{}
	}
	vals[":p"] = str("p")
	in := &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String(expr), ExpressionAttributeValues: vals}
	for _, o := range opts {
		o(in)
	}
	out, err := s.db.Query(ctx(t), in)
	if err != nil {
		t.Errorf("Query(%q) error = %v", expr, err)
		return
	}
	wantItems(t, fmt.Sprintf("Query(%q)", expr), renderAll(out.Items), renderAll(want))
	if int(out.Count) != len(want) || int(out.ScannedCount) != len(want) {
		t.Errorf("Query(%q) Count, ScannedCount = %d, %d, want %d", expr, out.Count, out.ScannedCount, len(want))
	}

	// The same condition backwards yields the reverse order.
	in.ScanIndexForward = aws.Bool(false)
	out, err = s.db.Query(ctx(t), in)
	if err != nil {
		t.Errorf("Query(%q, backward) error = %v", expr, err)
		return
	}
	wantItems(t, fmt.Sprintf("Query(%q, backward)", expr), renderAll(out.Items), renderAll(reversed(want)))
}

// queryPages follows LastEvaluatedKey until the end and returns every item
// and the number of pages. Each page's LastEvaluatedKey must name exactly
// keyNames, taken from the page's last item.
func (s *suite) queryPages(t *testing.T, in *dynamodb.QueryInput, keyNames []string) ([]item, int) {
	t.Helper()
	var all []item
	pages := 0
	q := *in
	for {
		out, err := s.db.Query(ctx(t), &q)
		if err != nil {
			t.Fatalf("Query() page %d error = %v", pages+1, err)
		}
		pages++
		all = append(all, out.Items...)
		if q.Limit != nil && len(out.Items) > int(*q.Limit) {
			t.Errorf("Query(Limit %d) page %d has %d items", *q.Limit, pages, len(out.Items))
		}
		if out.LastEvaluatedKey == nil {
			return all, pages
		}
		if n := len(out.Items); n > 0 && q.Select != types.SelectCount && q.ProjectionExpression == nil && q.FilterExpression == nil {
			want := item{}
			for _, k := range keyNames {
				want[k] = out.Items[n-1][k]
			}
			if diff := cmp.Diff(render(want), render(out.LastEvaluatedKey)); diff != "" {
				t.Errorf("Query() page %d LastEvaluatedKey mismatch (-want +got):\n%s", pages, diff)
			}
		}
		if pages > 1000 {
			t.Fatalf("Query() paging does not end")
		}
		q.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func reversed(items []item) []item {
	out := make([]item, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	return out
}

// numberLess compares two canonical integer texts of small magnitude, as
// this suite's index sort keys are.
func numberLess(a, b string) bool {
	x, errX := strconv.Atoi(a)
	y, errY := strconv.Atoi(b)
	return errX == nil && errY == nil && x < y
}
