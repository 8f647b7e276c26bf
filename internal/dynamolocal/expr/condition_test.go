package expr

import (
	"strings"
	"testing"
)

// evalItem is the item TestCondition_Eval evaluates against.
const evalItem = `{
	"a": {"N": "1"},
	"s": {"S": "abc"},
	"size": {"N": "3"},
	"x.y": {"S": "dotted"},
	"l": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"x": {"N": "1"}}}]},
	"m": {"M": {"x": {"N": "1"}, "y": {"L": [{"N": "5"}]}}},
	"ss": {"SS": ["a", "b"]},
	"ns": {"NS": ["1", "2"]},
	"bs": {"BS": ["eA=="]},
	"bb": {"B": "YWJj"},
	"t": {"BOOL": true},
	"z": {"NULL": true}
}`

func TestCondition_Eval(t *testing.T) {
	item := mustItem(t, evalItem)
	tests := []struct {
		expr string
		want bool
	}{
		{"a = :n", true},
		{"a = :n2", false},
		{"a = :s", false}, // different types are unequal, not an error
		{"a <> :n", false},
		{"a <> :s", true},
		{"gone <> :n", true},
		{"gone <> nope", false},
		{"gone = :n", false},
		{"a < :n2", true},
		{"a <= :n", true},
		{"a > :n", false},
		{"a >= :n", true},
		{"a < :s", false},
		{"s > :pre", true},
		{"s < :s2", true},
		{":n < a", false},
		{":n2 > a", true},
		{"a BETWEEN :n AND :n2", true},
		{"a BETWEEN :n2 AND :n10", false},
		{"s BETWEEN :n AND :n2", false},
		{"s between :pre and :s2", true},
		{"a IN (:s, :n)", true},
		{"a IN (:s, :n2)", false},
		{"gone IN (:n)", false},
		{"attribute_exists(a)", true},
		{"attribute_exists(gone)", false},
		{"attribute_not_exists(gone)", true},
		{"attribute_exists(m.y[0])", true},
		{"attribute_exists(m.y[1])", false},
		{"attribute_exists(a.b)", false},
		{"attribute_exists(#dot)", true},
		{"attribute_type(a, :tN)", true},
		{"attribute_type(a, :tS)", false},
		{"attribute_type(gone, :tN)", false},
		{"begins_with(s, :pre)", true},
		{"begins_with(s, :s2)", false},
		{"begins_with(bb, :b)", true},
		{"begins_with(a, :pre)", false},
		{"contains(s, :pre)", true},
		{"contains(bb, :b)", true},
		{"contains(ss, :pre)", false},
		{"contains(ns, :n2)", true},
		{"contains(ns, :s)", false},
		{"contains(l, :n2)", true},
		{"contains(l, :m)", true},
		{"contains(l, :s)", false},
		{"contains(a, :n)", false},
		{"size(s) = :n", false},
		{"size(l) > :n2", true},
		{"size(m) = :n2", true},
		{"size(ss) = :n2", true},
		{"size(bb) <= :n", false},
		{"size(a) = :n", false}, // size of a number is no value
		{"size(gone) <> :n", true},
		{"size(s) = size(#size)", false},
		{"size(l) = #size", true},
		{"m.y[0] = :n", false},
		{"l[2].x = :n", true},
		{"l[1] = :n2", true},
		{"l[9] = :n2", false},
		{"m.x = l[2].x", true},
		{"#a = :n", true},
		{"NOT a = :n", false},
		{"NOT NOT a = :n", true},
		{"a = :n AND s = :s", true},
		{"a = :n AND s = :s2", false},
		{"a = :n2 OR s = :s", true},
		// AND binds tighter than OR, NOT tighter than AND.
		{"a = :n2 AND s = :s2 OR s = :s", true},
		{"a = :n2 AND (s = :s2 OR s = :s)", false},
		{"NOT a = :n OR s = :s", true},
		{"NOT (a = :n OR s = :s)", false},
		{"a = :n AND NOT s = :s", false},
		{"(a) = :n", true},
		{"a = (:n)", true},
		{"(size(s)) = :n", false},
		{"(a = :n) and (s = :s)", true},
		{"t = :bool", true},
		{"z = :null", true},
		{"ss = :ss", true},
		{"l = :l", false},
		{"a=:n", true},
		{"\ta\n=\r:n ", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := ParseCondition(tt.expr, testRefs())
			if err != nil {
				t.Fatalf("ParseCondition(%q) error: %v", tt.expr, err)
			}
			got, err := c.Eval(item)
			if err != nil {
				t.Fatalf("Eval() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("Eval(%q) = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestCondition_Eval_NoItem(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute_not_exists(pk)", true},
		{"attribute_exists(pk)", false},
		{"pk = :s", false},
		{"pk <> :s", true},
		{"NOT contains(s, :s)", true},
	}
	for _, tt := range tests {
		c, err := ParseCondition(tt.expr, testRefs())
		if err != nil {
			t.Fatalf("ParseCondition(%q) error: %v", tt.expr, err)
		}
		if got, _ := c.Eval(nil); got != tt.want {
			t.Errorf("Eval(%q, nil) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestParseCondition_Errors(t *testing.T) {
	const prefix = "Invalid ConditionExpression: "
	tests := []struct {
		expr string
		want string
	}{
		{"", "The expression can not be empty;"},
		{"a = :n and", `Syntax error; token: "<EOF>", near: "and"`},
		{"a = :n b", `Syntax error; token: "b", near: ":n b"`},
		{"a == :n", `Syntax error; token: "=", near: "== :n"`},
		{"a-b = :n", `Syntax error; token: "-", near: "a-b"`},
		{"a $ :n", `Syntax error; token: "$", near: "a $ :n"`},
		{"a[1 = :n", `Syntax error; token: "=", near: "1 = :n"`},
		{"a[x] = :n", `Syntax error; token: "x", near: "[x]"`},
		{"NOT a", `Syntax error; token: "<EOF>", near: "a"`},
		{"a BETWEEN :n OR :n2", `Syntax error; token: "OR", near: ":n OR :n2"`},
		{"a IN :n", `Syntax error; token: ":n", near: "IN :n"`},
		{"a IN ()", `Syntax error; token: ")", near: "()"`},
		{"(a = :n", `Syntax error; token: "<EOF>", near: ":n"`},
		{"a = :n)", `Syntax error; token: ")", near: ":n)"`},
		{"and = :n", `Syntax error; token: "and", near: "and ="`},
		{"a.in = :n", `Syntax error; token: "in", near: ".in ="`},
		{"# = :n", `Syntax error; token: "#", near: "# ="`},
		{"a = :", `Syntax error; token: ":", near: "= :"`},
		{"((a = :n))", "The expression has redundant parentheses;"},
		{"a = :n and ((a = :n or a = :n))", "The expression has redundant parentheses;"},
		{"((a)) = :n", "The expression has redundant parentheses;"},
		{"foo(a) = :n", "Invalid function name; function: foo"},
		{"ATTRIBUTE_EXISTS(a)", "Invalid function name; function: ATTRIBUTE_EXISTS"},
		{"if_not_exists(a, :n) = :n", "Invalid function name; function: if_not_exists"},
		{"size(a)", "The function is not allowed to be used this way in an expression; function: size"},
		{"size(a) and a = :n", "The function is not allowed to be used this way in an expression; function: size"},
		{"attribute_exists(a) = :bool", "The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"contains(begins_with(a, :s), :s)", "The function is not allowed to be used this way in an expression; function: begins_with"},
		{"size = :n", "Attribute name is a reserved keyword; reserved keyword: size"},
		{"a.Value = :n", "Attribute name is a reserved keyword; reserved keyword: Value"},
		{"#x = :n", "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"a = :x", "An expression attribute value used in expression is not defined; attribute value: :x"},
		{"attribute_exists(a, b)", "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
		{"begins_with(a)", "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"},
		{"a = a", "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
		{"m.x[1] <> m.x[1]", "The first operand must be distinct from the remaining operands for this operator or function; operator: <>, first operand: [m, x, [1]]"},
		{"contains(a, a)", "The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [a]"},
		{"attribute_exists(:n)", "Operator or function requires a document path; operator or function: attribute_exists"},
		{"begins_with(a, :n)", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"attribute_type(a, :n)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
		{"attribute_type(a, b)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}"},
		{"attribute_type(a, :tX)", "Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"},
		{"size(:n) = :n", "Incorrect operand type for operator or function; operator or function: size, operand type: N"},
		{"a BETWEEN :n AND :s", "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:abc}"},
		{"a BETWEEN :n2 AND :n", "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"},
		{"a IN (" + strings.Repeat(":n, ", 100) + ":n)", "The IN operator is provided with too many operands; number of operands: 101"},
		// Precedence among problems: parentheses, unknown function,
		// misused function, reserved word, then the rest.
		{"((size = :x))", "The expression has redundant parentheses;"},
		{"size = :x", "Attribute name is a reserved keyword; reserved keyword: size"},
		{"foo(size) = :n", "Invalid function name; function: foo"},
		{"#x = :y", "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"a = a and b = :x", "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
		{"b = :x and a = a", "An expression attribute value used in expression is not defined; attribute value: :x"},
		{"a = :n and attribute_exists(:n, :n)", "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseCondition(tt.expr, testRefs())
			if got := errMessage(t, err); got != prefix+tt.want {
				t.Errorf("ParseCondition(%q) error = %q, want %q", tt.expr, got, prefix+tt.want)
			}
		})
	}
}

func TestParseFilter_Label(t *testing.T) {
	_, err := ParseFilter("a = :x", testRefs())
	want := "Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: :x"
	if got := errMessage(t, err); got != want {
		t.Errorf("ParseFilter() error = %q, want %q", got, want)
	}
	if _, err := ParseFilter("a IN (:n, :n2)", testRefs()); err != nil {
		t.Errorf("ParseFilter() error: %v", err)
	}
}

func TestParseCondition_InLimit(t *testing.T) {
	s := "a IN (" + strings.Repeat(":n, ", 99) + ":n2)"
	c, err := ParseCondition(s, testRefs())
	if err != nil {
		t.Fatalf("ParseCondition(IN with 100 operands) error: %v", err)
	}
	if got, _ := c.Eval(mustItem(t, `{"a":{"N":"2"}}`)); !got {
		t.Error("Eval(IN with 100 operands) = false, want true")
	}
}
