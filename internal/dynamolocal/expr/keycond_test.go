package expr

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

func TestParseKeyCondition(t *testing.T) {
	s, pre, n, n2 := testValues[":s"], testValues[":pre"], testValues[":n"], testValues[":n2"]
	tests := []struct {
		expr     string
		rangeKey string
		want     *KeyCondition
	}{
		{"pk = :s", "sk", &KeyCondition{Partition: "pk", Value: s}},
		{"#pk = :s", "", &KeyCondition{Partition: "pk", Value: s}},
		{":s = pk", "sk", &KeyCondition{Partition: "pk", Value: s}},
		{"pk = :s AND sk = :pre", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortEQ, Values: []attr.Value{pre}}}},
		{"sk < :n AND pk = :s", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortLT, Values: []attr.Value{n}}}},
		{"pk = :s and sk <= :n", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortLE, Values: []attr.Value{n}}}},
		{"pk = :s AND #sk > :n", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortGT, Values: []attr.Value{n}}}},
		{"pk = :s AND sk >= :n", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortGE, Values: []attr.Value{n}}}},
		// A value on the left flips the comparison.
		{":s = pk AND :n < sk", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortGT, Values: []attr.Value{n}}}},
		{":s = pk AND :n >= sk", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortLE, Values: []attr.Value{n}}}},
		{"(pk = :s) AND (sk BETWEEN :n AND :n2)", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortBetween, Values: []attr.Value{n, n2}}}},
		{"pk = :s AND begins_with(sk, :pre)", "sk", &KeyCondition{Partition: "pk", Value: s,
			Sort: &SortCondition{Name: "sk", Op: SortBeginsWith, Values: []attr.Value{pre}}}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseKeyCondition(tt.expr, testRefs(), "pk", tt.rangeKey)
			if err != nil {
				t.Fatalf("ParseKeyCondition(%q) error: %v", tt.expr, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseKeyCondition(%q) mismatch (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestParseKeyCondition_Errors(t *testing.T) {
	tests := []struct {
		expr     string
		rangeKey string
		want     string
	}{
		{"pk = :s OR sk = :s", "sk", "Invalid operator used in KeyConditionExpression: OR"},
		{"NOT pk = :s", "sk", "Invalid operator used in KeyConditionExpression: NOT"},
		{"pk IN (:s)", "sk", "Invalid operator used in KeyConditionExpression: IN"},
		{"pk <> :s", "sk", "Invalid operator used in KeyConditionExpression: <>"},
		{"attribute_exists(pk)", "sk", "Invalid operator used in KeyConditionExpression: attribute_exists"},
		{"contains(pk, :s)", "sk", "Invalid operator used in KeyConditionExpression: contains"},
		{"size(pk) = :n", "sk", "KeyConditionExpressions cannot contain nested operations"},
		{"pk = :s AND :s BETWEEN sk AND :s", "sk", "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"},
		{"pk = :s AND begins_with(:s, sk)", "sk", "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"},
		{"pk = sk", "sk", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{"pk.x = :s", "sk", "KeyConditionExpressions cannot have conditions on nested attributes"},
		{":s = :s", "sk", "Invalid condition in KeyConditionExpression: No key attribute specified"},
		{"pk = :s AND pk = :s", "sk", "KeyConditionExpressions must only contain one condition per key"},
		{"sk = :s", "sk", "Query condition missed key schema element: pk"},
		{"pk = :s AND x = :s", "sk", "Query condition missed key schema element: sk"},
		{"pk = :s AND sk = :s", "", "Query key condition not supported"},
		{"pk = :s AND sk = :s AND x = :s", "sk", "Conditions can be of length 1 or 2 only"},
		{"pk < :s", "sk", "Query key condition not supported"},
		{"pk = :s AND sk < :ss", "sk", "One or more parameter values were invalid: ComparisonOperator LT is not valid for SS AttributeValue type"},
		{"pk = :s AND sk = :m", "sk", "One or more parameter values were invalid: ComparisonOperator EQ is not valid for M AttributeValue type"},
		{"pk = :s AND sk = :bool", "sk", "One or more parameter values were invalid: ComparisonOperator EQ is not valid for BOOL AttributeValue type"},
		{"pk = :s AND begins_with(sk, :n)", "sk", "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"pk = :x", "sk", "Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x"},
		{"pk = ", "sk", `Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "="`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseKeyCondition(tt.expr, testRefs(), "pk", tt.rangeKey)
			if got := errMessage(t, err); got != tt.want {
				t.Errorf("ParseKeyCondition(%q) error = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestSortCondition_Match(t *testing.T) {
	v := func(s string) attr.Value { return attr.String(s) }
	tests := []struct {
		cond SortCondition
		val  attr.Value
		want bool
	}{
		{SortCondition{Op: SortEQ, Values: []attr.Value{v("b")}}, v("b"), true},
		{SortCondition{Op: SortEQ, Values: []attr.Value{v("b")}}, v("c"), false},
		{SortCondition{Op: SortLT, Values: []attr.Value{v("b")}}, v("a"), true},
		{SortCondition{Op: SortLT, Values: []attr.Value{v("b")}}, v("b"), false},
		{SortCondition{Op: SortLE, Values: []attr.Value{v("b")}}, v("b"), true},
		{SortCondition{Op: SortGT, Values: []attr.Value{v("b")}}, v("c"), true},
		{SortCondition{Op: SortGE, Values: []attr.Value{v("b")}}, v("a"), false},
		{SortCondition{Op: SortGT, Values: []attr.Value{attr.MustNumber("9")}}, attr.MustNumber("10"), true},
		{SortCondition{Op: SortGT, Values: []attr.Value{attr.MustNumber("9")}}, v("10"), false},
		{SortCondition{Op: SortBetween, Values: []attr.Value{v("b"), v("d")}}, v("c"), true},
		{SortCondition{Op: SortBetween, Values: []attr.Value{v("b"), v("d")}}, v("d"), true},
		{SortCondition{Op: SortBetween, Values: []attr.Value{v("b"), v("d")}}, v("e"), false},
		{SortCondition{Op: SortBeginsWith, Values: []attr.Value{v("ab")}}, v("abc"), true},
		{SortCondition{Op: SortBeginsWith, Values: []attr.Value{v("ab")}}, v("a"), false},
		{SortCondition{Op: SortBeginsWith, Values: []attr.Value{attr.Binary([]byte("ab"))}}, v("abc"), false},
	}
	for _, tt := range tests {
		if got := tt.cond.Match(tt.val); got != tt.want {
			t.Errorf("%v %v .Match(%v) = %v, want %v", tt.cond.Op, tt.cond.Values, tt.val, got, tt.want)
		}
	}
}
