package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// testTransact covers TransactWriteItems and TransactGetItems.
func testTransact(t *testing.T, s *suite) {
	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		s.requireTransactions(t)
		table := s.hashTable(t)
		other := s.rangeTable(t, types.ScalarAttributeTypeN)
		s.put(t, table, item{"pk": str("upd"), "n": ni(1)})
		s.put(t, table, item{"pk": str("del")})
		s.put(t, table, item{"pk": str("chk"), "state": str("open")})
		_, err := s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			txPut(table, item{"pk": str("new"), "v": str("x")}, "attribute_not_exists(pk)", nil),
			txUpdate(table, pk("upd"), "SET n = n + :one", "", item{":one": ni(1)}),
			txDelete(table, pk("del"), "attribute_exists(pk)", nil),
			txCheck(table, pk("chk"), "#s = :open", map[string]string{"#s": "state"}, item{":open": str("open")}),
			txPut(other, pksk("o", ni(1)), "", nil),
		}})
		if err != nil {
			t.Fatalf("TransactWriteItems() error = %v", err)
		}
		got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table)})
		wantItems(t, "Scan() after TransactWriteItems", renderSorted(got), renderSorted([]item{
			{"pk": str("new"), "v": str("x")}, {"pk": str("upd"), "n": ni(2)}, {"pk": str("chk"), "state": str("open")},
		}))
		wantItem(t, "GetItem(other table)", s.get(t, other, pksk("o", ni(1))), pksk("o", ni(1)))
	})

	t.Run("CanceledByCondition", func(t *testing.T) {
		t.Parallel()
		s.requireTransactions(t)
		table := s.hashTable(t)
		before := []item{
			{"pk": str("a"), "n": ni(1)},
			{"pk": str("b"), "n": ni(1)},
			{"pk": str("c"), "state": str("closed")},
			{"pk": str("d"), "n": ni(4)},
		}
		for _, it := range before {
			s.put(t, table, it)
		}
		actions := []types.TransactWriteItem{
			txPut(table, item{"pk": str("new")}, "", nil),
			txUpdate(table, pk("a"), "SET n = n + :one", "", item{":one": ni(1)}),
			txCheck(table, pk("c"), "#s = :open", map[string]string{"#s": "state"}, item{":open": str("open")}),
			txDelete(table, pk("b"), "", nil),
		}
		_, err := s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: actions})
		tce := wantError[*types.TransactionCanceledException](t, "TransactWriteItems()", err)
		wantReasons(t, tce, []string{"None", "None", "ConditionalCheckFailed", "None"})
		for _, r := range tce.CancellationReasons {
			if r.Item != nil {
				t.Errorf("CancellationReason.Item = %s without ReturnValuesOnConditionCheckFailure, want none", render(r.Item))
			}
		}
		got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table)})
		wantItems(t, "Scan() after canceled transaction", renderSorted(got), renderSorted(before))

		// ALL_OLD returns the item that failed its condition, in its
		// action's reason; a failing Put on a missing item has no item.
		actions[2].ConditionCheck.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		actions = append(actions, txPut(table, item{"pk": str("d")}, "attribute_not_exists(pk)", nil))
		actions[4].Put.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		actions = append(actions, txUpdate(table, pk("missing"), "SET n = :one", "attribute_exists(pk)", item{":one": ni(1)}))
		actions[5].Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		_, err = s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: actions})
		tce = wantError[*types.TransactionCanceledException](t, "TransactWriteItems()", err)
		wantReasons(t, tce, []string{"None", "None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed", "ConditionalCheckFailed"})
		if len(tce.CancellationReasons) == 6 {
			wantItem(t, "CancellationReasons[2].Item", tce.CancellationReasons[2].Item, before[2])
			wantItem(t, "CancellationReasons[4].Item", tce.CancellationReasons[4].Item, before[3])
			wantItem(t, "CancellationReasons[5].Item", tce.CancellationReasons[5].Item, nil)
		}
		got, _ = s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table)})
		wantItems(t, "Scan() after second canceled transaction", renderSorted(got), renderSorted(before))
	})

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		s.requireTransactions(t)
		table := s.hashTable(t)
		s.put(t, table, item{"pk": str("a"), "n": ni(1)})
		s.put(t, table, item{"pk": str("s"), "s": str("text")})
		var over []types.TransactWriteItem
		for i := 0; i < 101; i++ {
			over = append(over, txPut(table, pk(fmt.Sprint("i", i)), "", nil))
		}
		for _, tc := range []struct {
			name    string
			actions []types.TransactWriteItem
		}{
			{"SameItemTwice", []types.TransactWriteItem{
				txUpdate(table, pk("a"), "SET n = :one", "", item{":one": ni(1)}),
				txCheck(table, pk("a"), "attribute_exists(pk)", nil, nil),
			}},
			{"SameItemPutDelete", []types.TransactWriteItem{
				txPut(table, pk("b"), "", nil),
				txDelete(table, pk("b"), "", nil),
			}},
			{"Over100", over},
			{"BadKey", []types.TransactWriteItem{
				txPut(table, pk("c"), "", nil),
				txPut(table, item{"pk": ni(1)}, "", nil),
			}},
		} {
			_, err := s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: tc.actions})
			if errorCode(err) != "ValidationException" {
				t.Errorf("TransactWriteItems(%s) error = %v, want ValidationException", tc.name, err)
			}
		}
		// Updating a key attribute is refused; DynamoDB may say so before
		// the transaction starts or as the action's cancellation reason.
		_, err := s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			txPut(table, pk("c"), "", nil),
			txUpdate(table, pk("a"), "SET pk = :x", "", item{":x": str("x")}),
		}})
		var tce *types.TransactionCanceledException
		switch {
		case errors.As(err, &tce):
			wantReasons(t, tce, []string{"None", "ValidationError"})
		case errorCode(err) != "ValidationException":
			t.Errorf("TransactWriteItems(key update) error = %v, want ValidationException or TransactionCanceledException", err)
		}
		// An action that is invalid only for the item it meets cancels
		// the transaction with a ValidationError reason.
		_, err = s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			txPut(table, pk("c"), "", nil),
			txUpdate(table, pk("s"), "SET s = s + :one", "", item{":one": ni(1)}),
		}})
		tce = wantError[*types.TransactionCanceledException](t, "TransactWriteItems()", err)
		wantReasons(t, tce, []string{"None", "ValidationError"})

		got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table)})
		wantItems(t, "Scan() after refused transactions", renderSorted(got), renderSorted([]item{{"pk": str("a"), "n": ni(1)}, {"pk": str("s"), "s": str("text")}}))

		_, err = s.db.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			txPut(tableName(t), pk("x"), "", nil),
		}})
		wantError[*types.ResourceNotFoundException](t, "TransactWriteItems()", err)
	})

	t.Run("Idempotency", func(t *testing.T) {
		t.Parallel()
		s.requireTransactions(t)
		table := s.hashTable(t)
		token := aws.String(fmt.Sprintf("token-%s-%d", runID, tableSeq.Add(1)))
		in := &dynamodb.TransactWriteItemsInput{ClientRequestToken: token, TransactItems: []types.TransactWriteItem{
			txUpdate(table, pk("c"), "ADD n :one", "", item{":one": ni(1)}),
		}}
		for i := 0; i < 3; i++ {
			if _, err := s.db.TransactWriteItems(ctx(t), in); err != nil {
				t.Fatalf("TransactWriteItems(same token, attempt %d) error = %v", i+1, err)
			}
		}
		wantItem(t, "GetItem() after one token sent three times", s.get(t, table, pk("c")), item{"pk": str("c"), "n": ni(1)})

		changed := &dynamodb.TransactWriteItemsInput{ClientRequestToken: token, TransactItems: []types.TransactWriteItem{
			txUpdate(table, pk("c"), "ADD n :two", "", item{":two": ni(2)}),
		}}
		_, err := s.db.TransactWriteItems(ctx(t), changed)
		wantError[*types.IdempotentParameterMismatchException](t, "TransactWriteItems()", err)
		wantItem(t, "GetItem() after mismatched token", s.get(t, table, pk("c")), item{"pk": str("c"), "n": ni(1)})

		// Another token applies again.
		in.ClientRequestToken = aws.String(*token + "-2")
		if _, err := s.db.TransactWriteItems(ctx(t), in); err != nil {
			t.Fatalf("TransactWriteItems(new token) error = %v", err)
		}
		wantItem(t, "GetItem() after a new token", s.get(t, table, pk("c")), item{"pk": str("c"), "n": ni(2)})
	})

	t.Run("Get", func(t *testing.T) {
		t.Parallel()
		s.requireTransactions(t)
		table := s.hashTable(t)
		other := s.rangeTable(t, types.ScalarAttributeTypeS)
		a := item{"pk": str("a"), "v": ni(1), "w": str("wide")}
		o := item{"pk": str("o"), "sk": str("1"), "v": ni(2)}
		s.put(t, table, a)
		s.put(t, other, o)
		out, err := s.db.TransactGetItems(ctx(t), &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
			{Get: &types.Get{TableName: aws.String(table), Key: pk("a")}},
			{Get: &types.Get{TableName: aws.String(table), Key: pk("missing")}},
			{Get: &types.Get{TableName: aws.String(other), Key: pksk("o", str("1"))}},
			{Get: &types.Get{TableName: aws.String(table), Key: pk("a"), ProjectionExpression: aws.String("#v"),
				ExpressionAttributeNames: map[string]string{"#v": "v"}}},
		}})
		if err != nil {
			t.Fatalf("TransactGetItems() error = %v", err)
		}
		var got []string
		for _, r := range out.Responses {
			got = append(got, render(r.Item))
		}
		want := []string{render(a), render(item(nil)), render(o), render(item{"v": ni(1)})}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("TransactGetItems() responses mismatch (-want +got):\n%s", diff)
		}

		_, err = s.db.TransactGetItems(ctx(t), &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
			{Get: &types.Get{TableName: aws.String(table), Key: item{"pk": ni(1)}}},
		}})
		wantValidation(t, "TransactGetItems()", err)
	})
}

func txPut(table string, it item, cond string, values item) types.TransactWriteItem {
	p := &types.Put{TableName: aws.String(table), Item: it, ExpressionAttributeValues: values}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Put: p}
}

func txUpdate(table string, key item, update, cond string, values item) types.TransactWriteItem {
	u := &types.Update{TableName: aws.String(table), Key: key, UpdateExpression: aws.String(update), ExpressionAttributeValues: values}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Update: u}
}

func txDelete(table string, key item, cond string, values item) types.TransactWriteItem {
	d := &types.Delete{TableName: aws.String(table), Key: key, ExpressionAttributeValues: values}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Delete: d}
}

func txCheck(table string, key item, cond string, names map[string]string, values item) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: key,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values}}
}

// wantReasons checks the cancellation reason codes, one per action in
// order.
func wantReasons(t *testing.T, tce *types.TransactionCanceledException, want []string) {
	t.Helper()
	var got []string
	for _, r := range tce.CancellationReasons {
		got = append(got, aws.ToString(r.Code))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TransactionCanceledException.CancellationReasons codes mismatch (-want +got):\n%s", diff)
	}
}
