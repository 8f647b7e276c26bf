package expr

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// updateItem is the item TestUpdate_Apply updates.
const updateItem = `{
	"a": {"N": "1"},
	"s": {"S": "abc"},
	"l": {"L": [{"S": "x0"}, {"S": "x1"}, {"S": "x2"}, {"S": "x3"}]},
	"m": {"M": {"x": {"N": "1"}, "y": {"L": [{"N": "5"}]}}},
	"ss": {"SS": ["a", "b"]},
	"ns": {"NS": ["1", "2"]}
}`

func TestUpdate_Apply(t *testing.T) {
	tests := []struct {
		name string
		expr string
		item string // "" is no item
		want string // the changed attributes, merged over item
		drop []string
	}{
		{"SetValue", "SET b = :s", updateItem, `{"b":{"S":"abc"}}`, nil},
		{"SetOverwrite", "SET a = :s", updateItem, `{"a":{"S":"abc"}}`, nil},
		{"SetNoItem", "SET a = :n, #b = :s", "", `{"a":{"N":"1"},"b":{"S":"abc"}}`, nil},
		{"SetPlus", "SET a = a + :n", updateItem, `{"a":{"N":"2"}}`, nil},
		{"SetMinus", "SET a = :n10 - a", updateItem, `{"a":{"N":"9"}}`, nil},
		{"SetParenthesised", "SET a = (a + :n)", updateItem, `{"a":{"N":"2"}}`, nil},
		{"SetFromPath", "SET b = m.y[0]", updateItem, `{"b":{"N":"5"}}`, nil},
		{"SetFromOriginal", "SET a = :n2, b = a", updateItem, `{"a":{"N":"2"},"b":{"N":"1"}}`, nil},
		{"SetNested", "SET m.z = :s", updateItem, `{"m":{"M":{"x":{"N":"1"},"y":{"L":[{"N":"5"}]},"z":{"S":"abc"}}}}`, nil},
		{"SetListElement", "SET l[1] = :s", updateItem, `{"l":{"L":[{"S":"x0"},{"S":"abc"},{"S":"x2"},{"S":"x3"}]}}`, nil},
		{"SetListAppendsPastEnd", "SET l[10] = :s", updateItem, `{"l":{"L":[{"S":"x0"},{"S":"x1"},{"S":"x2"},{"S":"x3"},{"S":"abc"}]}}`, nil},
		{"SetNestedListElement", "SET m.y[0] = :n", updateItem, `{"m":{"M":{"x":{"N":"1"},"y":{"L":[{"N":"1"}]}}}}`, nil},
		{"IfNotExistsAbsent", "SET b = if_not_exists(b, :n)", updateItem, `{"b":{"N":"1"}}`, nil},
		{"IfNotExistsPresent", "SET a = if_not_exists(a, :n2)", updateItem, `{}`, nil},
		{"IfNotExistsPlus", "SET c = if_not_exists(c, :n) + :n2", updateItem, `{"c":{"N":"3"}}`, nil},
		{"ListAppend", "SET l = list_append(l, :l)", updateItem,
			`{"l":{"L":[{"S":"x0"},{"S":"x1"},{"S":"x2"},{"S":"x3"},{"S":"x"}]}}`, nil},
		{"ListPrepend", "SET l = list_append(:l, l)", updateItem,
			`{"l":{"L":[{"S":"x"},{"S":"x0"},{"S":"x1"},{"S":"x2"},{"S":"x3"}]}}`, nil},
		{"ListAppendIfNotExists", "SET k = list_append(if_not_exists(k, :l), :l)", updateItem,
			`{"k":{"L":[{"S":"x"},{"S":"x"}]}}`, nil},
		{"Remove", "REMOVE s, gone", updateItem, `{}`, []string{"s"}},
		{"RemoveNested", "REMOVE m.x", updateItem, `{"m":{"M":{"y":{"L":[{"N":"5"}]}}}}`, nil},
		{"RemoveListElements", "REMOVE l[1], l[3]", updateItem, `{"l":{"L":[{"S":"x0"},{"S":"x2"}]}}`, nil},
		{"RemoveListElementsAnyOrder", "REMOVE l[3], l[0], l[1]", updateItem, `{"l":{"L":[{"S":"x2"}]}}`, nil},
		{"RemovePastEnd", "REMOVE l[9]", updateItem, `{}`, nil},
		{"SetThenRemoveShifts", "SET l[1] = :n REMOVE l[0]", updateItem, `{"l":{"L":[{"N":"1"},{"S":"x2"},{"S":"x3"}]}}`, nil},
		{"AddNumber", "ADD a :n", updateItem, `{"a":{"N":"2"}}`, nil},
		{"AddNumberCreates", "ADD c :n2", updateItem, `{"c":{"N":"2"}}`, nil},
		{"AddNested", "ADD m.x :n", updateItem, `{"m":{"M":{"x":{"N":"2"},"y":{"L":[{"N":"5"}]}}}}`, nil},
		{"AddSet", "ADD ss :ss2", updateItem, `{"ss":{"SS":["a","b","c"]}}`, nil},
		{"AddNumberSet", "ADD ns :ns", updateItem, `{}`, nil},
		{"AddSetCreates", "ADD c :ss", "", `{"c":{"SS":["a","b"]}}`, nil},
		{"Delete", "DELETE ss :ss2", updateItem, `{"ss":{"SS":["a"]}}`, nil},
		{"DeleteLast", "DELETE ss :ss", updateItem, `{}`, []string{"ss"}},
		{"DeleteAbsent", "DELETE c :ss", updateItem, `{}`, nil},
		{"AllClauses", "DELETE ss :ss2 ADD c :n REMOVE s SET a = :n2", updateItem,
			`{"a":{"N":"2"},"c":{"N":"1"},"ss":{"SS":["a"]}}`, []string{"s"}},
		{"LowerCaseKeywords", "set a = :n2 remove s", updateItem, `{"a":{"N":"2"}}`, []string{"s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseUpdate(tt.expr, testRefs())
			if err != nil {
				t.Fatalf("ParseUpdate(%q) error: %v", tt.expr, err)
			}
			item := mustItem(t, tt.item)
			before := itemJSON(t, item)
			got, err := u.Apply(item)
			if err != nil {
				t.Fatalf("Apply() error: %v", err)
			}
			want := mustItem(t, tt.item)
			if want == nil {
				want = attr.Item{}
			}
			for k, v := range mustItem(t, tt.want) {
				want[k] = v
			}
			for _, k := range tt.drop {
				delete(want, k)
			}
			if diff := cmp.Diff(itemJSON(t, want), itemJSON(t, got)); diff != "" {
				t.Errorf("Apply(%q) mismatch (-want +got):\n%s", tt.expr, diff)
			}
			if after := itemJSON(t, item); after != before {
				t.Errorf("Apply() modified its input:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestUpdate_Apply_Errors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"SET b = c + :n", "The provided expression refers to an attribute that does not exist in the item"},
		{"SET b = gone", "The provided expression refers to an attribute that does not exist in the item"},
		{"SET b = list_append(gone, :l)", "The provided expression refers to an attribute that does not exist in the item"},
		{"SET a = s + :n", "An operand in the update expression has an incorrect data type"},
		{"SET a = :n - s", "An operand in the update expression has an incorrect data type"},
		{"SET a = list_append(s, :l)", "An operand in the update expression has an incorrect data type"},
		{"ADD s :ss", "An operand in the update expression has an incorrect data type"},
		{"ADD ns :ss", "An operand in the update expression has an incorrect data type"},
		{"DELETE s :ss", "An operand in the update expression has an incorrect data type"},
		{"SET m.z.q = :n", "The document path provided in the update expression is invalid for update"},
		{"SET s.x = :n", "The document path provided in the update expression is invalid for update"},
		{"SET m[0] = :n", "The document path provided in the update expression is invalid for update"},
		{"SET l.x = :n", "The document path provided in the update expression is invalid for update"},
		{"REMOVE gone.q", "The document path provided in the update expression is invalid for update"},
		{"ADD gone.q :n", "The document path provided in the update expression is invalid for update"},
	}
	item := mustItem(t, updateItem)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			u, err := ParseUpdate(tt.expr, testRefs())
			if err != nil {
				t.Fatalf("ParseUpdate(%q) error: %v", tt.expr, err)
			}
			_, err = u.Apply(item)
			if got := errMessage(t, err); got != tt.want {
				t.Errorf("Apply(%q) error = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseUpdate_Errors(t *testing.T) {
	const prefix = "Invalid UpdateExpression: "
	tests := []struct {
		expr string
		want string
	}{
		{"", "The expression can not be empty;"},
		{"a = :n", `Syntax error; token: "a", near: "a ="`},
		{"SET", `Syntax error; token: "<EOF>", near: "SET"`},
		{"SET a", `Syntax error; token: "<EOF>", near: "a"`},
		{"SET a = ", `Syntax error; token: "<EOF>", near: "="`},
		{"SET a = a + :n + :n", `Syntax error; token: "+", near: ":n + :n"`},
		{"SET a = :n,", `Syntax error; token: "<EOF>", near: ","`},
		{"SET a = :n UPDATE b", `Syntax error; token: "UPDATE", near: ":n UPDATE b"`},
		{"REMOVE a = :n", `Syntax error; token: "=", near: "a = :n"`},
		{"ADD a b", `Syntax error; token: "b", near: "a b"`},
		{"DELETE a", `Syntax error; token: "<EOF>", near: "a"`},
		{"SET a = :n SET b = :n", `The "SET" section can only be used once in an update expression;`},
		{"REMOVE a ADD b :n remove c", `The "REMOVE" section can only be used once in an update expression;`},
		{"SET size = :n", "Attribute name is a reserved keyword; reserved keyword: size"},
		{"SET a = foo(b)", "Invalid function name; function: foo"},
		{"SET a = size(b)", "Invalid function name; function: size"},
		{"SET #x = :n", "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"SET a = :x", "An expression attribute value used in expression is not defined; attribute value: :x"},
		{"SET a = :n, a = :n2", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"SET a = :n REMOVE a.b", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"},
		{"SET #a = :n ADD a :n", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"SET a.b = :n REMOVE a[0]", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"},
		{"ADD a :s", "Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
		{"ADD a :l", "Incorrect operand type for operator or function; operator: ADD, operand type: LIST"},
		{"ADD a :m", "Incorrect operand type for operator or function; operator: ADD, operand type: MAP"},
		{"ADD a :bool", "Incorrect operand type for operator or function; operator: ADD, operand type: BOOLEAN"},
		{"DELETE a :n", "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"},
		{"DELETE a :null", "Incorrect operand type for operator or function; operator: DELETE, operand type: NULL"},
		{"DELETE a :b", "Incorrect operand type for operator or function; operator: DELETE, operand type: BINARY"},
		{"SET a = if_not_exists(b)", "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"},
		{"SET a = if_not_exists(:n, :n)", "Operator or function requires a document path; operator or function: if_not_exists"},
		{"SET a = list_append(:n, l)", "Incorrect operand type for operator or function; operator or function: list_append, operand type: N"},
		{"SET a = :s + :n", "Incorrect operand type for operator or function; operator or function: +, operand type: S"},
		{"SET a = b - :ss", "Incorrect operand type for operator or function; operator or function: -, operand type: SS"},
		// Precedence: reserved words before unknown functions before
		// repeated sections before undefined names.
		{"SET a = foo(b), size = :n", "Attribute name is a reserved keyword; reserved keyword: size"},
		{"SET #x = foo(b)", "Invalid function name; function: foo"},
		{"SET #x = :n SET b = :n", `The "SET" section can only be used once in an update expression;`},
		{"SET a = :x, #x = :n", "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"SET a = :x, a = :n", "An expression attribute value used in expression is not defined; attribute value: :x"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseUpdate(tt.expr, testRefs())
			if got := errMessage(t, err); got != prefix+tt.want {
				t.Errorf("ParseUpdate(%q) error = %q, want %q", tt.expr, got, prefix+tt.want)
			}
		})
	}
}

func TestUpdate_Roots(t *testing.T) {
	u, err := ParseUpdate("SET m.x = :n, #a = :n ADD c :n REMOVE m.y, l[0] DELETE ss :ss", testRefs())
	if err != nil {
		t.Fatal(err)
	}
	got := u.Roots()
	slices.Sort(got)
	if diff := cmp.Diff([]string{"a", "c", "l", "m", "ss"}, got); diff != "" {
		t.Errorf("Roots() mismatch (-want +got):\n%s", diff)
	}
}

func TestUpdate_Apply_Concurrent(t *testing.T) {
	u, err := ParseUpdate("SET a = a + :n, l[0] = :s REMOVE m.x ADD ss :ss2", testRefs())
	if err != nil {
		t.Fatal(err)
	}
	item := mustItem(t, updateItem)
	before := itemJSON(t, item)
	done := make(chan string)
	for range 8 {
		go func() {
			got, err := u.Apply(item)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- string(attr.AppendItem(nil, got))
		}()
	}
	first := <-done
	for range 7 {
		if got := <-done; got != first {
			t.Errorf("concurrent Apply() = %s, want %s", got, first)
		}
	}
	if after := itemJSON(t, item); after != before {
		t.Errorf("Apply() modified its input:\nbefore %s\nafter  %s", before, after)
	}
}

func TestUpdate_Updated(t *testing.T) {
	u, err := ParseUpdate("SET m.x = :n2, b = :s REMOVE l[1] ADD a :n", testRefs())
	if err != nil {
		t.Fatal(err)
	}
	before := mustItem(t, updateItem)
	after, err := u.Apply(before)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		item attr.Item
		want string
	}{
		{"Old", before, `{"a":{"N":"1"},"l":{"L":[{"S":"x1"}]},"m":{"M":{"x":{"N":"1"}}}}`},
		{"New", after, `{"a":{"N":"2"},"b":{"S":"abc"},"l":{"L":[{"S":"x2"}]},"m":{"M":{"x":{"N":"2"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, itemJSON(t, u.Updated().Apply(tt.item))); diff != "" {
				t.Errorf("Updated().Apply() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
