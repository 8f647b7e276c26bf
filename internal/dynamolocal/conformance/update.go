package conformance

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// updateCase is one UpdateItem on a fresh item: before (nil for a missing
// item) is stored under the case's own key, then update runs and the item
// must equal after, or the call must fail with a ValidationException and
// leave before untouched.
type updateCase struct {
	name    string
	before  item // without the key
	update  string
	names   map[string]string
	values  item
	after   item // without the key; nil means the item must not exist
	invalid bool
	// dynalite names dynalite's deviation from DynamoDB in this case, if any.
	dynalite string
}

// testUpdate covers UpdateExpression: SET, REMOVE, ADD, DELETE, functions,
// document paths and the validation DynamoDB applies to expressions.
func testUpdate(t *testing.T, s *suite) {
	doc := item{
		"n": ni(10), "s": str("str"),
		"l":  l(str("a"), str("b"), str("c")),
		"m":  m(item{"x": ni(1), "child": m(item{"y": str("why")}), "lst": l(ni(0))}),
		"ss": ss("a", "b"), "ns": ns("1", "2"), "bs": bs([]byte{1}, []byte{2}),
	}
	cases := []updateCase{
		{name: "SetNew", before: doc, update: "SET z = :v", values: item{":v": str("zed")},
			after: with(doc, "z", str("zed"))},
		{name: "SetReplace", before: doc, update: "SET s = :v", values: item{":v": ni(1)},
			after: with(doc, "s", ni(1))},
		{name: "SetMany", before: doc, update: "SET a = :a, b = :b, #c = :c", names: map[string]string{"#c": "c"},
			values: item{":a": str("A"), ":b": bl(true), ":c": null()},
			after:  with(with(with(doc, "a", str("A")), "b", bl(true)), "c", null())},
		{name: "SetPlus", before: doc, update: "SET n = n + :d", values: item{":d": n("2.5")},
			after: with(doc, "n", n("12.5"))},
		{name: "SetMinus", before: doc, update: "SET n = n - :d", values: item{":d": ni(15)},
			after: with(doc, "n", ni(-5))},
		{name: "SetMinusOperands", before: doc, update: "SET z = :a - n", values: item{":a": ni(3)},
			after: with(doc, "z", ni(-7))},
		{name: "SetExactArithmetic", before: item{"n": n("0.1")}, update: "SET n = n + :d", values: item{":d": n("0.2")},
			after: item{"n": n("0.3")}},
		{name: "SetBigArithmetic", before: item{"n": n("99999999999999999999999999999999999999")},
			update: "SET n = n - :d", values: item{":d": n("99999999999999999999999999999999999998")},
			after: item{"n": ni(1)}},
		{name: "SetCopyAttribute", before: doc, update: "SET z = s", after: with(doc, "z", str("str"))},
		{name: "IfNotExistsMissing", before: doc, update: "SET z = if_not_exists(z, :v)", values: item{":v": ni(0)},
			after: with(doc, "z", ni(0))},
		{name: "IfNotExistsPresent", before: doc, update: "SET n = if_not_exists(n, :v)", values: item{":v": ni(0)},
			after: doc},
		{name: "IfNotExistsPlus", before: item{}, update: "SET c = if_not_exists(c, :zero) + :one",
			values: item{":zero": ni(0), ":one": ni(1)}, after: item{"c": ni(1)}},
		{name: "ListAppendEnd", before: doc, update: "SET l = list_append(l, :v)", values: item{":v": l(str("d"))},
			after: with(doc, "l", l(str("a"), str("b"), str("c"), str("d")))},
		{name: "ListAppendFront", before: doc, update: "SET l = list_append(:v, l)", values: item{":v": l(str("z"), str("y"))},
			after: with(doc, "l", l(str("z"), str("y"), str("a"), str("b"), str("c")))},
		{name: "ListAppendIfNotExists", before: item{}, update: "SET l = list_append(if_not_exists(l, :empty), :v)",
			values: item{":empty": l(), ":v": l(ni(1))}, after: item{"l": l(ni(1))}},
		{name: "SetNestedMap", before: doc, update: "SET m.child.y = :v, m.x = m.x + :one", values: item{":v": str("new"), ":one": ni(1)},
			after: with(doc, "m", m(item{"x": ni(2), "child": m(item{"y": str("new")}), "lst": l(ni(0))}))},
		{name: "SetNestedNewKey", before: doc, update: "SET m.child.q = :v", values: item{":v": str("q")},
			after: with(doc, "m", m(item{"x": ni(1), "child": m(item{"y": str("why"), "q": str("q")}), "lst": l(ni(0))}))},
		{name: "SetNamePlaceholderPath", before: doc, update: "SET #m.#i.#y = :v",
			names: map[string]string{"#m": "m", "#i": "child", "#y": "y"}, values: item{":v": ni(7)},
			after: with(doc, "m", m(item{"x": ni(1), "child": m(item{"y": ni(7)}), "lst": l(ni(0))}))},
		{name: "SetDottedName", before: doc, update: "SET #d = :v", names: map[string]string{"#d": "a.b"}, values: item{":v": ni(1)},
			after: with(doc, "a.b", ni(1))},
		{name: "SetListIndex", before: doc, update: "SET l[1] = :v", values: item{":v": str("B")},
			after: with(doc, "l", l(str("a"), str("B"), str("c")))},
		{name: "SetListIndexPastEnd", before: doc, update: "SET l[10] = :v", values: item{":v": str("end")},
			after: with(doc, "l", l(str("a"), str("b"), str("c"), str("end")))},
		{name: "SetNestedListIndex", before: doc, update: "SET m.lst[0] = :v", values: item{":v": str("zero")},
			after: with(doc, "m", m(item{"x": ni(1), "child": m(item{"y": str("why")}), "lst": l(str("zero"))}))},
		{name: "SetMissingParent", before: doc, update: "SET nope.x = :v", values: item{":v": ni(1)}, invalid: true},
		{name: "SetIndexOnMap", before: doc, update: "SET m[0] = :v", values: item{":v": ni(1)}, invalid: true},
		{name: "SetPlusString", before: doc, update: "SET s = s + :d", values: item{":d": ni(1)}, invalid: true},
		{name: "SetPlusMissing", before: doc, update: "SET z = z + :d", values: item{":d": ni(1)}, invalid: true},
		{name: "ListAppendNotList", before: doc, update: "SET s = list_append(s, :v)", values: item{":v": l(str("x"))}, invalid: true},
		{name: "Remove", before: doc, update: "REMOVE s, n, absent", after: without(doc, "s", "n")},
		{name: "RemoveNested", before: doc, update: "REMOVE m.child.y, m.x",
			after: with(doc, "m", m(item{"child": m(nil), "lst": l(ni(0))}))},
		// Indexes name elements of the list as it was before the update.
		{name: "RemoveListIndexes", before: doc, update: "REMOVE l[0], l[2]",
			after: with(doc, "l", l(str("b"))), dynalite: "REMOVE of several list indexes shifts the list between removals"},
		{name: "RemovePastEnd", before: doc, update: "REMOVE l[9]", after: doc},
		{name: "AddNumber", before: doc, update: "ADD n :d", values: item{":d": ni(-3)}, after: with(doc, "n", ni(7))},
		{name: "AddNumberMissing", before: doc, update: "ADD z :d", values: item{":d": n("1.5")}, after: with(doc, "z", n("1.5"))},
		{name: "AddStringSet", before: doc, update: "ADD ss :v", values: item{":v": ss("b", "c")}, after: with(doc, "ss", ss("a", "b", "c"))},
		{name: "AddNumberSet", before: doc, update: "ADD ns :v", values: item{":v": ns("3", "1.0")}, after: with(doc, "ns", ns("1", "2", "3"))},
		{name: "AddBinarySet", before: doc, update: "ADD bs :v", values: item{":v": bs([]byte{3})}, after: with(doc, "bs", bs([]byte{1}, []byte{2}, []byte{3}))},
		{name: "AddSetMissing", before: doc, update: "ADD z :v", values: item{":v": ss("x")}, after: with(doc, "z", ss("x"))},
		{name: "AddMany", before: doc, update: "ADD n :one, z :one", values: item{":one": ni(1)},
			after: with(with(doc, "n", ni(11)), "z", ni(1))},
		{name: "AddWrongSetType", before: doc, update: "ADD ss :v", values: item{":v": ns("1")}, invalid: true},
		{name: "AddToString", before: doc, update: "ADD s :v", values: item{":v": ni(1)}, invalid: true},
		{name: "AddList", before: doc, update: "ADD l :v", values: item{":v": l(str("x"))}, invalid: true},
		{name: "Delete", before: doc, update: "DELETE ss :v", values: item{":v": ss("a", "zz")}, after: with(doc, "ss", ss("b"))},
		{name: "DeleteNumbers", before: doc, update: "DELETE ns :v", values: item{":v": ns("2.0")}, after: with(doc, "ns", ns("1"))},
		{name: "DeleteEmptiesSet", before: doc, update: "DELETE ss :v", values: item{":v": ss("a", "b")}, after: without(doc, "ss")},
		{name: "DeleteMissingAttribute", before: doc, update: "DELETE z :v", values: item{":v": ss("a")}, after: doc},
		{name: "DeleteNotSet", before: doc, update: "DELETE s :v", values: item{":v": ss("a")}, invalid: true},
		{name: "AllClauses", before: doc,
			update: "SET a = :a REMOVE s ADD n :one DELETE ss :b",
			values: item{":a": str("A"), ":one": ni(1), ":b": ss("b")},
			after:  with(with(with(without(doc, "s"), "a", str("A")), "n", ni(11)), "ss", ss("a"))},
		{name: "ClausesAnyOrder", before: doc,
			update: "ADD n :one REMOVE s SET a = :a",
			values: item{":a": str("A"), ":one": ni(1)},
			after:  with(with(without(doc, "s"), "a", str("A")), "n", ni(11))},
		// UpdateItem creates a missing item from its key.
		{name: "SetCreatesItem", update: "SET a = :a", values: item{":a": str("A")}, after: item{"a": str("A")}},
		{name: "AddCreatesItem", update: "ADD c :one", values: item{":one": ni(1)}, after: item{"c": ni(1)}},
		{name: "RemoveOnMissingCreatesItem", update: "REMOVE a", after: item{}},
		{name: "UpdateKey", before: doc, update: "SET pk = :v", values: item{":v": str("other")}, invalid: true},
		{name: "RemoveKey", before: doc, update: "REMOVE pk", invalid: true},
		{name: "UnusedValue", before: doc, update: "SET a = :a", values: item{":a": str("A"), ":unused": str("x")}, invalid: true},
		{name: "UnusedName", before: doc, update: "SET a = :a", names: map[string]string{"#unused": "x"},
			values: item{":a": str("A")}, invalid: true},
		{name: "UndefinedValue", before: doc, update: "SET a = :missing", values: item{":a": str("A")}, invalid: true},
		{name: "UndefinedValueNoMap", before: doc, update: "SET a = :missing", invalid: true},
		{name: "UndefinedName", before: doc, update: "SET #absent = :a", values: item{":a": str("A")}, invalid: true},
		{name: "OverlappingPaths", before: doc, update: "SET a = :a REMOVE a", values: item{":a": str("A")}, invalid: true},
		{name: "OverlappingNested", before: doc, update: "SET m.x = :a, m = :a", values: item{":a": str("A")}, invalid: true},
		{name: "SameClauseTwice", before: doc, update: "SET a = :a SET b = :a", values: item{":a": str("A")}, invalid: true},
		{name: "ReservedWord", before: doc, update: "SET size = :a", values: item{":a": str("A")}, invalid: true},
		{name: "Syntax", before: doc, update: "SET a = ", invalid: true},
		{name: "UnknownFunction", before: doc, update: "SET a = nope(:a)", values: item{":a": str("A")}, invalid: true},
	}

	t.Run("Expressions", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		for i, tc := range cases {
			if tc.dynalite != "" && s.target.Dynalite {
				t.Logf("%s: skipped, dynalite deviates from DynamoDB: %s", tc.name, tc.dynalite)
				continue
			}
			key := fmt.Sprintf("u%02d-%s", i, tc.name)
			if tc.before != nil {
				s.put(t, table, with(tc.before, "pk", str(key)))
			}
			_, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
				TableName: aws.String(table), Key: pk(key),
				UpdateExpression:          aws.String(tc.update),
				ExpressionAttributeNames:  tc.names,
				ExpressionAttributeValues: tc.values,
			})
			got := s.get(t, table, pk(key))
			if tc.invalid {
				if errorCode(err) != "ValidationException" {
					t.Errorf("%s: UpdateItem(%q) error = %v, want ValidationException", tc.name, tc.update, err)
				}
				var want item
				if tc.before != nil {
					want = with(tc.before, "pk", str(key))
				}
				wantItem(t, tc.name+": item after refused update", got, want)
				continue
			}
			if err != nil {
				t.Errorf("%s: UpdateItem(%q) error = %v", tc.name, tc.update, err)
				continue
			}
			wantItem(t, tc.name+": item after UpdateItem("+tc.update+")", got, with(tc.after, "pk", str(key)))
		}
	})

	t.Run("RangeKeyRefused", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeN)
		s.put(t, table, pksk("a", ni(1)))
		_, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pksk("a", ni(1)),
			UpdateExpression: aws.String("SET sk = :v"), ExpressionAttributeValues: item{":v": ni(2)}})
		wantValidation(t, "UpdateItem()", err)
		_, err = s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: pksk("a", ni(1)),
			UpdateExpression: aws.String("ADD sk :v"), ExpressionAttributeValues: item{":v": ni(2)}})
		wantValidation(t, "UpdateItem()", err)
		wantItem(t, "GetItem() after refused key updates", s.get(t, table, pksk("a", ni(1))), pksk("a", ni(1)))
	})

	t.Run("ConditionWithUpdate", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		s.put(t, table, item{"pk": str("v"), "version": ni(1), "data": str("old")})
		// Optimistic locking: the update applies only at the expected version.
		update := func(expect int) error {
			_, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
				TableName: aws.String(table), Key: pk("v"),
				UpdateExpression:          aws.String("SET #d = :d, version = version + :one"),
				ConditionExpression:       aws.String("version = :expect"),
				ExpressionAttributeNames:  map[string]string{"#d": "data"},
				ExpressionAttributeValues: item{":d": str(fmt.Sprint("v", expect)), ":one": ni(1), ":expect": ni(expect)},
			})
			return err
		}
		if err := update(1); err != nil {
			t.Fatalf("UpdateItem(version 1) error = %v", err)
		}
		wantError[*types.ConditionalCheckFailedException](t, "UpdateItem(stale version)", update(1))
		wantItem(t, "GetItem() after versioned updates", s.get(t, table, pk("v")),
			item{"pk": str("v"), "version": ni(2), "data": str("v1")})
		// Values used only by the condition count as used.
		_, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
			TableName: aws.String(table), Key: pk("v"),
			UpdateExpression:          aws.String("REMOVE #d"),
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeNames:  map[string]string{"#d": "data"},
			ExpressionAttributeValues: item{":v": ni(2)},
		})
		if err != nil {
			t.Fatalf("UpdateItem(REMOVE with condition) error = %v", err)
		}
		wantItem(t, "GetItem() after REMOVE", s.get(t, table, pk("v")), item{"pk": str("v"), "version": ni(2)})
	})
}

// without returns a copy of it lacking names.
func without(it item, names ...string) item {
	out := make(item, len(it))
	for k, v := range it {
		out[k] = v
	}
	for _, name := range names {
		delete(out, name)
	}
	return out
}
