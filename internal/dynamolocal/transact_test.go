package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// Actions on tables keyed by pk alone.

func txPutNew(table, pk string, attrs ...any) types.TransactWriteItem {
	item := map[string]types.AttributeValue{"pk": s(pk)}
	for i := 0; i+1 < len(attrs); i += 2 {
		item[attrs[i].(string)] = attrs[i+1].(types.AttributeValue)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}
}

func txAdd(table, pk string, delta int) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(table),
		Key:                       key(pk),
		UpdateExpression:          aws.String("ADD #n :d"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": n(delta)},
	}}
}

func txDelete(table, pk string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table), Key: key(pk)}}
}

func txCheck(table, pk, cond string, values map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(table),
		Key:                       key(pk),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeValues: values,
	}}
}

func transact(db *dynamodb.Client, items ...types.TransactWriteItem) error {
	_, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// cancellationCodes returns the reason codes of a TransactionCanceledException.
func cancellationCodes(t *testing.T, err error) []string {
	t.Helper()
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("TransactWriteItems() error = %v, want a TransactionCanceledException", err)
	}
	var codes []string
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	return codes
}

// seed creates table "t" with items a (n=1), b (n=2, color ok) and
// c (n=3).
func seed(t *testing.T) *dynamodb.Client {
	t.Helper()
	db, _ := newTestClient(t)
	createTable(t, db, "t", "pk")
	putItem(t, db, "t", map[string]types.AttributeValue{"pk": s("a"), "n": n(1)})
	putItem(t, db, "t", map[string]types.AttributeValue{"pk": s("b"), "n": n(2), "color": s("ok")})
	putItem(t, db, "t", map[string]types.AttributeValue{"pk": s("c"), "n": n(3)})
	return db
}

func TestHandler_TransactWriteItems(t *testing.T) {
	t.Parallel()
	ok := map[string]types.AttributeValue{":ok": s("ok")}

	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		createTable(t, db, "other", "pk")
		err := transact(db,
			txPutNew("t", "m1", "v", s("x")),
			txAdd("t", "a", 10),
			txAdd("t", "new", 5),
			txDelete("t", "c"),
			txCheck("t", "b", "color = :ok", ok),
			txCheck("t", "absent", "attribute_not_exists(pk)", nil),
			txAdd("other", "a", 7), // same key, other table: another item
		)
		if err != nil {
			t.Fatalf("TransactWriteItems() error = %v", err)
		}
		// The checked items are untouched; "absent" was not created.
		want := []string{`color="ok" n=2 pk="b"`, `n=11 pk="a"`, `n=5 pk="new"`, `pk="m1" v="x"`}
		if diff := cmp.Diff(want, dump(t, db, "t")); diff != "" {
			t.Errorf("items mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{`n=7 pk="a"`}, dump(t, db, "other")); diff != "" {
			t.Errorf("other items mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ConditionFailedLeavesNoTrace", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		before := dump(t, db, "t")
		err := transact(db,
			txPutNew("t", "m1"),  // created, then removed
			txAdd("t", "a", 10),  // changed, then restored
			txAdd("t", "new", 5), // created, then removed
			txDelete("t", "c"),   // deleted, then restored
			txPutNew("t", "b"),   // fails: b exists
			txCheck("t", "absent", "attribute_exists(pk)", nil), // fails
			txCheck("t", "a2", "attribute_not_exists(pk)", nil),
		)
		want := []string{"None", "None", "None", "None", "ConditionalCheckFailed", "ConditionalCheckFailed", "None"}
		if diff := cmp.Diff(want, cancellationCodes(t, err)); diff != "" {
			t.Errorf("CancellationReasons mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(before, dump(t, db, "t")); diff != "" {
			t.Errorf("items changed by a canceled transaction (-before +after):\n%s", diff)
		}
	})

	t.Run("ConditionCheckFailed", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		before := dump(t, db, "t")
		err := transact(db,
			txAdd("t", "a", 10),
			txCheck("t", "c", "color = :ok", ok),
		)
		if diff := cmp.Diff([]string{"None", "ConditionalCheckFailed"}, cancellationCodes(t, err)); diff != "" {
			t.Errorf("CancellationReasons mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(before, dump(t, db, "t")); diff != "" {
			t.Errorf("items changed by a canceled transaction (-before +after):\n%s", diff)
		}
	})

	t.Run("ReturnOldItem", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		put := txPutNew("t", "b")
		put.Put.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		err := transact(db, txAdd("t", "a", 1), put)
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) || len(tce.CancellationReasons) != 2 {
			t.Fatalf("TransactWriteItems() error = %v, want a TransactionCanceledException of 2 reasons", err)
		}
		r := tce.CancellationReasons[1]
		if got := aws.ToString(r.Message); got != msgConditionFail {
			t.Errorf("reason message = %q, want %q", got, msgConditionFail)
		}
		if got, ok := r.Item["color"].(*types.AttributeValueMemberS); !ok || got.Value != "ok" {
			t.Errorf("reason item = %#v, want the old item b", r.Item)
		}
		if tce.CancellationReasons[0].Item != nil {
			t.Errorf("reason 0 item = %#v, want none", tce.CancellationReasons[0].Item)
		}
	})

	t.Run("Message", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		err := transact(db, txAdd("t", "a", 1), txPutNew("t", "b"))
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			t.Fatalf("TransactWriteItems() error = %v, want a TransactionCanceledException", err)
		}
		want := "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
		if got := aws.ToString(tce.Message); got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
	})

	t.Run("OtherErrorLeavesNoTrace", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		before := dump(t, db, "t")
		bad := txAdd("t", "c", 1)
		bad.Update.UpdateExpression = aws.String("ADD #n")
		err := transact(db, txPutNew("t", "m1"), txAdd("t", "a", 1), bad)
		if code := apiErrorCode(err); code != "ValidationException" {
			t.Errorf("TransactWriteItems() error = %v, want ValidationException", err)
		}
		if diff := cmp.Diff(before, dump(t, db, "t")); diff != "" {
			t.Errorf("items changed by a failed transaction (-before +after):\n%s", diff)
		}
	})

	t.Run("MissingTable", func(t *testing.T) {
		t.Parallel()
		db := seed(t)
		err := transact(db, txAdd("t", "a", 1), txAdd("nope", "a", 1))
		if code := apiErrorCode(err); code != "ResourceNotFoundException" {
			t.Errorf("TransactWriteItems() error = %v, want ResourceNotFoundException", err)
		}
	})
}

func TestHandler_TransactWriteItemsRefused(t *testing.T) {
	t.Parallel()
	db := seed(t)
	createTable(t, db, "t2", "pk", "sk")
	before := dump(t, db, "t")
	many := make([]types.TransactWriteItem, maxTransactItems+1)
	for i := range many {
		many[i] = txPutNew("t", fmt.Sprintf("m%03d", i))
	}
	for _, tc := range []struct {
		name  string
		items []types.TransactWriteItem
		msg   string
	}{
		{"TwoUpdates", []types.TransactWriteItem{txAdd("t", "a", 1), txAdd("t", "a", 2)}, msgDuplicateItem},
		{"PutAndCheck", []types.TransactWriteItem{txPutNew("t", "x"), txAdd("t", "b", 1), txCheck("t", "x", "attribute_not_exists(pk)", nil)}, msgDuplicateItem},
		{"TooMany", many, msgTooManyItems},
		{"MissingKey", []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("t"), Item: map[string]types.AttributeValue{"v": n(1)}}}},
			"One or more parameter values were invalid: Missing the key pk in the item"},
		{"PartialKey", []types.TransactWriteItem{txAdd("t2", "a", 1)}, msgKeyMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := transact(db, tc.items...)
			if code := apiErrorCode(err); code != "ValidationException" {
				t.Fatalf("TransactWriteItems() error = %v, want ValidationException", err)
			}
			var ae interface{ ErrorMessage() string }
			if errors.As(err, &ae) && ae.ErrorMessage() != tc.msg {
				t.Errorf("message = %q, want %q", ae.ErrorMessage(), tc.msg)
			}
		})
	}
	if diff := cmp.Diff(before, dump(t, db, "t")); diff != "" {
		t.Errorf("items changed by refused transactions (-before +after):\n%s", diff)
	}
}

func TestHandler_TableRecreated(t *testing.T) {
	t.Parallel()
	db, _ := newTestClient(t)
	ctx := context.Background()
	createTable(t, db, "t", "pk")
	if err := transact(db, txAdd("t", "a", 1)); err != nil {
		t.Fatalf("TransactWriteItems() error = %v", err)
	}
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("t")}); err != nil {
		t.Fatalf("DeleteTable() error = %v", err)
	}
	createTable(t, db, "t", "id")
	err := transact(db, types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: map[string]types.AttributeValue{"id": s("x")}}})
	if err != nil {
		t.Fatalf("TransactWriteItems() on the recreated table error = %v", err)
	}
}

// TestHandler_TransactWriteItemsConcurrent runs transactions on shared
// rows from 8 goroutines: each commits a marker and moves amounts between
// two of four counters, and every other one reuses a marker and must be
// canceled whole. The counters must end as the committed transactions add
// up, which only a serial order of whole transactions gives.
func TestHandler_TransactWriteItemsConcurrent(t *testing.T) {
	t.Parallel()
	db, _ := newTestClient(t)
	createTable(t, db, "t", "pk")
	const workers, rounds, rows = 8, 40, 4
	var (
		mu        sync.Mutex
		want      [rows]int
		committed int
	)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				from, to := (w+r)%rows, (w+r+1)%rows
				amount := w*100 + r + 1
				err := transact(db,
					txPutNew("t", fmt.Sprintf("m-%d-%d", w, r/2)),
					txAdd("t", fmt.Sprintf("row%d", from), -amount),
					txAdd("t", fmt.Sprintf("row%d", to), amount),
					txAdd("t", "total", 1),
				)
				var tce *types.TransactionCanceledException
				switch {
				case err == nil:
					if r%2 == 1 {
						errs <- fmt.Errorf("worker %d round %d: reused marker committed", w, r)
						return
					}
					mu.Lock()
					want[from] -= amount
					want[to] += amount
					committed++
					mu.Unlock()
				case errors.As(err, &tce) && r%2 == 1:
				default:
					errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if committed != workers*rounds/2 {
		t.Fatalf("%d transactions committed, want %d", committed, workers*rounds/2)
	}
	wantItems := []string{}
	for i, v := range want {
		wantItems = append(wantItems, fmt.Sprintf(`n=%d pk="row%d"`, v, i))
	}
	wantItems = append(wantItems, fmt.Sprintf(`n=%d pk="total"`, committed))
	for w := range workers {
		for r := 0; r < rounds/2; r++ {
			wantItems = append(wantItems, fmt.Sprintf(`pk="m-%d-%d"`, w, r))
		}
	}
	slices.Sort(wantItems)
	got := dump(t, db, "t")
	if diff := cmp.Diff(wantItems, got); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
}
