package conformance

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// testBatch covers BatchWriteItem and BatchGetItem.
func testBatch(t *testing.T, s *suite) {
	t.Run("Write", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		other := s.rangeTable(t, types.ScalarAttributeTypeN)
		for i := 0; i < 5; i++ {
			s.put(t, table, item{"pk": str(fmt.Sprint("old", i))})
		}
		var reqs []types.WriteRequest
		var want []item
		for i := 0; i < 20; i++ {
			it := item{"pk": str(fmt.Sprint("new", i)), "i": ni(i)}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
			want = append(want, it)
		}
		for i := 0; i < 3; i++ {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: pk(fmt.Sprint("old", i))}})
		}
		// Deleting a missing item is not an error.
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: pk("never")}})
		want = append(want, pk("old3"), pk("old4"))

		otherReq := types.WriteRequest{PutRequest: &types.PutRequest{Item: pksk("x", ni(1))}}
		s.batchWrite(t, map[string][]types.WriteRequest{table: reqs, other: {otherReq}})

		got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table)})
		wantItems(t, "Scan() after BatchWriteItem", renderSorted(got), renderSorted(want))
		wantItem(t, "GetItem(other table) after BatchWriteItem", s.get(t, other, pksk("x", ni(1))), pksk("x", ni(1)))
	})

	t.Run("WriteRefused", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		put := func(id string) types.WriteRequest {
			return types.WriteRequest{PutRequest: &types.PutRequest{Item: pk(id)}}
		}
		var over []types.WriteRequest
		for i := 0; i < 26; i++ {
			over = append(over, put(fmt.Sprint("i", i)))
		}
		for _, tc := range []struct {
			name string
			reqs []types.WriteRequest
		}{
			{"Over25", over},
			{"DuplicatePuts", []types.WriteRequest{put("a"), put("b"), put("a")}},
			{"DuplicatePutDelete", []types.WriteRequest{put("a"), {DeleteRequest: &types.DeleteRequest{Key: pk("a")}}}},
			{"BadKey", []types.WriteRequest{put("a"), {PutRequest: &types.PutRequest{Item: item{"pk": ni(1)}}}}},
		} {
			_, err := s.db.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: tc.reqs}})
			if errorCode(err) != "ValidationException" {
				t.Errorf("BatchWriteItem(%s) error = %v, want ValidationException", tc.name, err)
			}
		}
		// A refused batch writes nothing.
		got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table)})
		wantItems(t, "Scan() after refused batches", renderSorted(got), nil)

		_, err := s.db.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
			tableName(t): {put("a")},
		}})
		wantError[*types.ResourceNotFoundException](t, "BatchWriteItem()", err)
	})

	t.Run("Get", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		other := s.hashTable(t)
		var want []item
		var writes []types.WriteRequest
		for i := 0; i < 100; i++ {
			if i%4 == 3 {
				continue // every fourth key is missing
			}
			it := item{"pk": str(fmt.Sprint("k", i)), "i": ni(i), "pad": str("x")}
			want = append(want, it)
			writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
			if len(writes) == 25 {
				s.batchWrite(t, map[string][]types.WriteRequest{table: writes})
				writes = nil
			}
		}
		if len(writes) > 0 {
			s.batchWrite(t, map[string][]types.WriteRequest{table: writes})
		}
		s.put(t, other, item{"pk": str("o"), "v": str("other")})

		var keys []item
		for i := 0; i < 100; i++ {
			keys = append(keys, pk(fmt.Sprint("k", i)))
		}
		got := s.batchGet(t, map[string]types.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}})
		wantItems(t, "BatchGetItem(100 keys) items", renderSorted(got[table]), renderSorted(want))

		// Projection, and several tables in one call.
		got = s.batchGet(t, map[string]types.KeysAndAttributes{
			table: {Keys: keys[:8], ProjectionExpression: aws.String("#i"), ExpressionAttributeNames: map[string]string{"#i": "i"}},
			other: {Keys: []item{pk("o"), pk("missing")}},
		})
		var proj []item
		for i := 0; i < 8; i++ {
			if i%4 != 3 {
				proj = append(proj, item{"i": ni(i)})
			}
		}
		wantItems(t, "BatchGetItem(ProjectionExpression) items", renderSorted(got[table]), renderSorted(proj))
		wantItems(t, "BatchGetItem(other table) items", renderSorted(got[other]), renderAll([]item{{"pk": str("o"), "v": str("other")}}))

		// More than 100 keys, or one key twice, is refused.
		over := append(append([]item(nil), keys...), pk("k100"))
		_, err := s.db.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {Keys: over}}})
		wantValidation(t, "BatchGetItem()", err)
		_, err = s.db.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {Keys: []item{pk("k1"), pk("k1")}}}})
		wantValidation(t, "BatchGetItem()", err)
		_, err = s.db.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{table: {Keys: []item{{"pk": ni(1)}}}}})
		wantValidation(t, "BatchGetItem()", err)
		_, err = s.db.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{tableName(t): {Keys: []item{pk("a")}}}})
		wantError[*types.ResourceNotFoundException](t, "BatchGetItem()", err)
	})
}

// batchWrite runs BatchWriteItem, resending unprocessed items as DynamoDB
// asks callers to.
func (s *suite) batchWrite(t *testing.T, reqs map[string][]types.WriteRequest) {
	t.Helper()
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt == 100 {
			t.Fatalf("BatchWriteItem() still has unprocessed items after 100 attempts")
		}
		out, err := s.db.BatchWriteItem(ctx(t), &dynamodb.BatchWriteItemInput{RequestItems: reqs})
		if err != nil {
			t.Fatalf("BatchWriteItem() error = %v", err)
		}
		reqs = out.UnprocessedItems
	}
}

// batchGet runs BatchGetItem, resending unprocessed keys, and returns the
// items per table.
func (s *suite) batchGet(t *testing.T, reqs map[string]types.KeysAndAttributes) map[string][]item {
	t.Helper()
	got := map[string][]item{}
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt == 100 {
			t.Fatalf("BatchGetItem() still has unprocessed keys after 100 attempts")
		}
		out, err := s.db.BatchGetItem(ctx(t), &dynamodb.BatchGetItemInput{RequestItems: reqs})
		if err != nil {
			t.Fatalf("BatchGetItem() error = %v", err)
		}
		for table, items := range out.Responses {
			got[table] = append(got[table], items...)
		}
		reqs = out.UnprocessedKeys
	}
	return got
}
