package conformance

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// testItem covers single-item reads and writes: PutItem, GetItem,
// DeleteItem and UpdateItem's ReturnValues, condition expressions,
// projections and key validation.
func testItem(t *testing.T, s *suite) {
	t.Run("PutGetDelete", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		first := item{"pk": str("a"), "v": ni(1), "tags": ss("x", "y")}
		out, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: first, ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatalf("PutItem() error = %v", err)
		}
		wantItem(t, "PutItem(new, ALL_OLD) Attributes", out.Attributes, nil)
		wantItem(t, "GetItem()", s.get(t, table, pk("a")), first)

		// PutItem replaces the whole item: attributes not named vanish.
		second := item{"pk": str("a"), "w": str("two")}
		out, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: second, ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatalf("PutItem() error = %v", err)
		}
		wantItem(t, "PutItem(replace, ALL_OLD) Attributes", out.Attributes, first)
		wantItem(t, "GetItem() after replace", s.get(t, table, pk("a")), second)

		got, err := s.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String(table), Key: pk("a"), ConsistentRead: aws.Bool(false)})
		if err != nil {
			t.Fatalf("GetItem(ConsistentRead false) error = %v", err)
		}
		// An eventually consistent read may lag on DynamoDB; it may only
		// return the item or nothing, never something else.
		if got.Item != nil {
			wantItem(t, "GetItem(ConsistentRead false)", got.Item, second)
		}

		del, err := s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: pk("a"), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatalf("DeleteItem() error = %v", err)
		}
		wantItem(t, "DeleteItem(ALL_OLD) Attributes", del.Attributes, second)
		wantItem(t, "GetItem() after delete", s.get(t, table, pk("a")), nil)

		// Deleting a missing item succeeds and returns nothing.
		del, err = s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: pk("a"), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatalf("DeleteItem(missing) error = %v", err)
		}
		wantItem(t, "DeleteItem(missing) Attributes", del.Attributes, nil)
	})

	t.Run("ReturnValuesRefused", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		s.put(t, table, item{"pk": str("b"), "v": ni(1)})
		// PutItem and DeleteItem support only NONE and ALL_OLD.
		for _, rv := range []types.ReturnValue{types.ReturnValueAllNew, types.ReturnValueUpdatedOld, types.ReturnValueUpdatedNew} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: pk("a"), ReturnValues: rv})
			if errorCode(err) != "ValidationException" {
				t.Errorf("PutItem(ReturnValues %s) error = %v, want ValidationException", rv, err)
			}
		}
		wantItem(t, "GetItem() after refused puts", s.get(t, table, pk("a")), nil)
		s.skipDynalite(t, "DeleteItem accepts every ReturnValues value")
		for _, rv := range []types.ReturnValue{types.ReturnValueAllNew, types.ReturnValueUpdatedOld, types.ReturnValueUpdatedNew} {
			_, err := s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: pk("b"), ReturnValues: rv})
			if errorCode(err) != "ValidationException" {
				t.Errorf("DeleteItem(ReturnValues %s) error = %v, want ValidationException", rv, err)
			}
		}
		wantItem(t, "GetItem() after refused deletes", s.get(t, table, pk("b")), item{"pk": str("b"), "v": ni(1)})
	})

	t.Run("UpdateReturnValues", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		base := item{"a": ni(1), "b": str("keep"), "c": str("gone")}
		update := "SET a = a + :one, d = :d REMOVE c"
		after := item{"a": ni(2), "b": str("keep"), "d": str("new")}
		for _, tc := range []struct {
			rv   types.ReturnValue
			want item
		}{
			{types.ReturnValueNone, nil},
			{types.ReturnValueAllOld, base},
			{types.ReturnValueAllNew, after},
			// UPDATED_* name only the attributes the update touched; c is
			// removed so it has no new value, d had no old value.
			{types.ReturnValueUpdatedOld, item{"a": ni(1), "c": str("gone")}},
			{types.ReturnValueUpdatedNew, item{"a": ni(2), "d": str("new")}},
		} {
			id := string(tc.rv)
			s.put(t, table, with(base, "pk", str(id)))
			out, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
				TableName: aws.String(table), Key: pk(id), UpdateExpression: aws.String(update),
				ExpressionAttributeValues: item{":one": ni(1), ":d": str("new")},
				ReturnValues:              tc.rv,
			})
			if err != nil {
				t.Fatalf("UpdateItem(%s) error = %v", tc.rv, err)
			}
			want := tc.want
			if tc.rv == types.ReturnValueAllOld || tc.rv == types.ReturnValueAllNew {
				want = with(want, "pk", str(id))
			}
			wantItem(t, "UpdateItem("+id+") Attributes", out.Attributes, want)
			wantItem(t, "GetItem() after UpdateItem("+id+")", s.get(t, table, pk(id)), with(after, "pk", str(id)))
		}
	})

	t.Run("Conditions", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		stored := item{
			"pk": str("c"), "n": ni(5), "s": str("hello"), "tags": ss("red", "blue"),
			"lst": l(str("x"), ni(2)), "m": m(item{"child": str("v")}), "flag": bl(true), "nothing": null(),
			"bin": b([]byte{1, 2}),
		}
		s.put(t, table, stored)
		values := item{":5": ni(5), ":4": ni(4), ":6": ni(6), ":hello": str("hello"), ":he": str("he"),
			":red": str("red"), ":green": str("green"), ":x": str("x"), ":S": str("S"), ":N": str("N"), ":SS": str("SS"), ":2": ni(2),
			":t": bl(true), ":NULL": str("NULL")}
		for _, tc := range []struct {
			cond string
			pass bool
		}{
			{"attribute_exists(pk)", true},
			{"attribute_not_exists(pk)", false},
			{"attribute_exists(absent)", false},
			{"attribute_not_exists(absent)", true},
			{"n = :5", true},
			{"n <> :5", false},
			{"n < :6", true},
			{"n <= :4", false},
			{"n > :4", true},
			{"n >= :6", false},
			{"n BETWEEN :4 AND :6", true},
			{"n BETWEEN :6 AND :6", false},
			{"n IN (:4, :5)", true},
			{"n IN (:4, :6)", false},
			{"begins_with(s, :he)", true},
			{"begins_with(s, :x)", false},
			{"contains(s, :he)", true},
			{"contains(tags, :red)", true},
			{"contains(tags, :green)", false},
			{"contains(lst, :x)", true},
			{"size(s) = :5", true},
			{"size(tags) = :2", true},
			{"size(lst) > :2", false},
			{"attribute_type(s, :S)", true},
			{"attribute_type(n, :N)", true},
			{"attribute_type(tags, :SS)", true},
			{"attribute_type(n, :S)", false},
			{"m.child = :hello", false},
			{"attribute_exists(m.child)", true},
			{"lst[0] = :x", true},
			{"lst[1] = :2", true},
			{"attribute_exists(lst[2])", false},
			{"n = :5 AND s = :hello", true},
			{"n = :4 OR s = :hello", true},
			{"NOT n = :5", false},
			{"NOT (n = :4 OR n = :6) AND (s = :hello)", true},
			{"n = s", false},
			// A comparison with a missing attribute is false, not an error.
			{"absent = :5", false},
			{"absent <> :5", true},
			// Comparing values of different types is false.
			{"s < :5", false},
			{"flag = :t", true},
			{"attribute_type(#nothing, :NULL)", true},
			{"size(bin) = :2", true},
		} {
			var names map[string]string
			if containsToken(tc.cond, "#nothing") {
				names = map[string]string{"#nothing": "nothing"}
			}
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{
				TableName: aws.String(table), Item: stored,
				ConditionExpression:       aws.String(tc.cond),
				ExpressionAttributeNames:  names,
				ExpressionAttributeValues: usedValues(tc.cond, values),
			})
			if tc.pass && err != nil {
				t.Errorf("PutItem(ConditionExpression %q) error = %v, want success", tc.cond, err)
			}
			if !tc.pass {
				var ccf *types.ConditionalCheckFailedException
				if !errors.As(err, &ccf) {
					t.Errorf("PutItem(ConditionExpression %q) error = %v, want ConditionalCheckFailedException", tc.cond, err)
				}
			}
		}
	})

	t.Run("InvalidConditions", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		s.put(t, table, item{"pk": str("c"), "n": ni(5)})
		for _, tc := range []struct {
			cond   string
			names  map[string]string
			values item
		}{
			{"n = :undefined", nil, item{":v": ni(1)}},
			{"n = :v", nil, item{":v": ni(1), ":unused": ni(2)}},
			{"n = :v", map[string]string{"#unused": "n"}, item{":v": ni(1)}},
			{"#undefined = :v", nil, item{":v": ni(1)}},
			{"n = ", nil, nil},
			{"n == :v", nil, item{":v": ni(1)}},
			{"nope(n)", nil, nil},
			{"attribute_exists(:v)", nil, item{":v": ni(1)}},
			{"n BETWEEN :b AND :a", nil, item{":a": ni(1), ":b": ni(2)}},
		} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{
				TableName: aws.String(table), Item: pk("c"),
				ConditionExpression:       aws.String(tc.cond),
				ExpressionAttributeNames:  tc.names,
				ExpressionAttributeValues: tc.values,
			})
			wantValidation(t, fmt.Sprintf("PutItem(ConditionExpression %q)", tc.cond), err)
		}
		wantItem(t, "GetItem() after refused conditions", s.get(t, table, pk("c")), item{"pk": str("c"), "n": ni(5)})
	})

	t.Run("ConditionalCheckFailed", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		stored := item{"pk": str("x"), "v": ni(1), "note": str("first")}
		_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: stored,
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		if err != nil {
			t.Fatalf("PutItem(new, attribute_not_exists) error = %v", err)
		}
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: pk("x"),
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		ccf := wantError[*types.ConditionalCheckFailedException](t, "PutItem()", err)
		if got := errorMessage(err); got != "The conditional request failed" {
			t.Errorf("ConditionalCheckFailedException message = %q, want %q", got, "The conditional request failed")
		}
		wantItem(t, "ConditionalCheckFailedException.Item without ReturnValuesOnConditionCheckFailure", ccf.Item, nil)

		s.skipDynalite(t, "ReturnValuesOnConditionCheckFailure is ignored")
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: pk("x"),
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		ccf = wantError[*types.ConditionalCheckFailedException](t, "PutItem()", err)
		wantItem(t, "PutItem ConditionalCheckFailedException.Item", ccf.Item, stored)

		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pk("x"),
			UpdateExpression: aws.String("SET v = :2"), ConditionExpression: aws.String("v = :2"),
			ExpressionAttributeValues:           item{":2": ni(2)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		ccf = wantError[*types.ConditionalCheckFailedException](t, "UpdateItem()", err)
		wantItem(t, "UpdateItem ConditionalCheckFailedException.Item", ccf.Item, stored)

		_, err = s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: pk("x"),
			ConditionExpression: aws.String("v = :2"), ExpressionAttributeValues: item{":2": ni(2)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		ccf = wantError[*types.ConditionalCheckFailedException](t, "DeleteItem()", err)
		wantItem(t, "DeleteItem ConditionalCheckFailedException.Item", ccf.Item, stored)
		wantItem(t, "GetItem() after failed conditions", s.get(t, table, pk("x")), stored)

		// On a missing item there is nothing to return.
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pk("absent"),
			UpdateExpression: aws.String("SET v = :2"), ConditionExpression: aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues:           item{":2": ni(2)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		ccf = wantError[*types.ConditionalCheckFailedException](t, "UpdateItem()", err)
		wantItem(t, "ConditionalCheckFailedException.Item on a missing item", ccf.Item, nil)
		wantItem(t, "GetItem(absent)", s.get(t, table, pk("absent")), nil)
	})

	t.Run("ConditionalDeleteAndUpdate", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		s.put(t, table, item{"pk": str("d"), "v": ni(1)})
		_, err := s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: pk("d"),
			ConditionExpression: aws.String("v = :1"), ExpressionAttributeValues: item{":1": ni(1)}})
		if err != nil {
			t.Fatalf("DeleteItem(condition holds) error = %v", err)
		}
		wantItem(t, "GetItem() after conditional delete", s.get(t, table, pk("d")), nil)
		// UpdateItem with attribute_exists does not create a missing item.
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pk("d"),
			UpdateExpression: aws.String("SET v = :1"), ConditionExpression: aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: item{":1": ni(1)}})
		wantError[*types.ConditionalCheckFailedException](t, "UpdateItem()", err)
		wantItem(t, "GetItem() after refused update", s.get(t, table, pk("d")), nil)
	})

	t.Run("Projection", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		s.put(t, table, item{
			"pk": str("p"), "a": str("A"), "b": ni(2), "name": str("reserved"),
			"m": m(item{"x": ni(1), "y": ni(2), "deep": m(item{"z": str("Z")})}),
			"l": l(str("l0"), str("l1"), m(item{"k": str("v"), "o": str("other")})),
		})
		for _, tc := range []struct {
			proj  string
			names map[string]string
			want  item
		}{
			{"a", nil, item{"a": str("A")}},
			{"a, b, absent", nil, item{"a": str("A"), "b": ni(2)}},
			{"#n", map[string]string{"#n": "name"}, item{"name": str("reserved")}},
			{"m.x", nil, item{"m": m(item{"x": ni(1)})}},
			{"m.deep.z, m.y", nil, item{"m": m(item{"y": ni(2), "deep": m(item{"z": str("Z")})})}},
			{"l[1]", nil, item{"l": l(str("l1"))}},
			{"l[2].k, l[0]", nil, item{"l": l(str("l0"), m(item{"k": str("v")}))}},
			{"l[7]", nil, item{}},
			{"pk", nil, item{"pk": str("p")}},
		} {
			out, err := s.db.GetItem(ctx(t), &dynamodb.GetItemInput{
				TableName: aws.String(table), Key: pk("p"), ProjectionExpression: aws.String(tc.proj),
				ExpressionAttributeNames: tc.names, ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				t.Errorf("GetItem(ProjectionExpression %q) error = %v", tc.proj, err)
				continue
			}
			got := out.Item
			if len(tc.want) == 0 && len(got) == 0 {
				// DynamoDB answers {} or no Item when nothing projects;
				// both say the same thing.
				continue
			}
			wantItem(t, "GetItem(ProjectionExpression "+tc.proj+")", got, tc.want)
		}
		// A reserved word must go through a placeholder.
		_, err := s.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String(table), Key: pk("p"),
			ProjectionExpression: aws.String("name")})
		wantValidation(t, "GetItem()", err)
	})

	t.Run("KeyValidation", func(t *testing.T) {
		t.Parallel()
		hash := s.hashTable(t)
		rng := s.rangeTable(t, types.ScalarAttributeTypeN)
		for _, tc := range []struct {
			name  string
			table string
			item  item
		}{
			{"MissingHash", hash, item{"other": str("x")}},
			{"HashWrongType", hash, item{"pk": ni(1)}},
			{"HashEmptyString", hash, item{"pk": str("")}},
			{"HashNull", hash, item{"pk": null()}},
			{"MissingRange", rng, item{"pk": str("a")}},
			{"RangeWrongType", rng, item{"pk": str("a"), "sk": str("1")}},
		} {
			_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(tc.table), Item: tc.item})
			if errorCode(err) != "ValidationException" {
				t.Errorf("PutItem(%s) error = %v, want ValidationException", tc.name, err)
			}
			_, err = s.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String(tc.table), Key: tc.item})
			if errorCode(err) != "ValidationException" {
				t.Errorf("GetItem(%s) error = %v, want ValidationException", tc.name, err)
			}
		}
		// A key names exactly the key attributes.
		_, err := s.db.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: aws.String(hash), Key: item{"pk": str("a"), "extra": str("b")}})
		wantValidation(t, "GetItem()", err)
		_, err = s.db.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: aws.String(rng), Key: pk("a")})
		wantValidation(t, "DeleteItem()", err)
		// Binary keys may not be empty either.
		bin := s.createTable(t, &dynamodb.CreateTableInput{
			AttributeDefinitions: attrDefs("pk", types.ScalarAttributeTypeB),
			KeySchema:            keySchema("pk", ""),
		})
		_, err = s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(bin), Item: item{"pk": b([]byte{})}})
		wantValidation(t, "PutItem()", err)
		// Empty strings and binaries are fine outside keys.
		s.put(t, hash, item{"pk": str("e"), "empty": str(""), "bin": b([]byte{})})
		wantItem(t, "GetItem(empty non-key values)", s.get(t, hash, pk("e")), item{"pk": str("e"), "empty": str(""), "bin": b([]byte{})})
	})

	t.Run("ItemSize", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		// 400 KB counts attribute names and values in UTF-8 bytes.
		big := item{"pk": str("big"), "v": str(strings.Repeat("x", 400*1024))}
		_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: big})
		wantValidation(t, "PutItem()", err)
		wantItem(t, "GetItem() after refused put", s.get(t, table, pk("big")), nil)

		fits := item{"pk": str("fits"), "v": str(strings.Repeat("x", 400*1024-100))}
		s.put(t, table, fits)
		if got := s.get(t, table, pk("fits")); render(got) != render(fits) {
			t.Errorf("GetItem() of a 399.9 KB item does not round-trip")
		}
		// Growing an item past the limit by UpdateItem is refused too.
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pk("fits"),
			UpdateExpression: aws.String("SET w = :w"), ExpressionAttributeValues: item{":w": str(strings.Repeat("y", 1000))}})
		wantValidation(t, "UpdateItem()", err)
	})
}

// with returns a copy of it with name set to v.
func with(it item, name string, v types.AttributeValue) item {
	out := make(item, len(it)+1)
	for k, e := range it {
		out[k] = e
	}
	out[name] = v
	return out
}

// usedValues returns the entries of values whose placeholders appear in
// expr: DynamoDB refuses unused values.
func usedValues(expr string, values item) item {
	out := item{}
	for k, v := range values {
		if containsToken(expr, k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// containsToken reports whether placeholder occurs in expr as a whole
// token (":5" must not match ":50").
func containsToken(expr, placeholder string) bool {
	for i := 0; ; {
		j := strings.Index(expr[i:], placeholder)
		if j < 0 {
			return false
		}
		end := i + j + len(placeholder)
		if end == len(expr) || !isNameChar(expr[end]) {
			return true
		}
		i = end
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
