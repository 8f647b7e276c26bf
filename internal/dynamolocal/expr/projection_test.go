package expr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const projectionItem = `{
	"a": {"N": "1"},
	"size": {"N": "3"},
	"l": {"L": [{"S": "x0"}, {"S": "x1"}, {"S": "x2"}, {"S": "x3"}]},
	"m": {"M": {"x": {"N": "1"}, "y": {"L": [{"N": "5"}, {"M": {"q": {"S": "z"}, "r": {"S": "w"}}}]}}}
}`

func TestProjection_Apply(t *testing.T) {
	item := mustItem(t, projectionItem)
	tests := []struct {
		expr  string
		want  string
		roots []string
	}{
		{"a", `{"a":{"N":"1"}}`, []string{"a"}},
		{"a, l", `{"a":{"N":"1"},"l":{"L":[{"S":"x0"},{"S":"x1"},{"S":"x2"},{"S":"x3"}]}}`, []string{"a", "l"}},
		{"a, gone", `{"a":{"N":"1"}}`, []string{"a", "gone"}},
		{"#size", `{"size":{"N":"3"}}`, []string{"size"}},
		{"l[3], l[1]", `{"l":{"L":[{"S":"x1"},{"S":"x3"}]}}`, []string{"l"}},
		{"l[9]", `{}`, []string{"l"}},
		{"m.y[1].q, m.x", `{"m":{"M":{"x":{"N":"1"},"y":{"L":[{"M":{"q":{"S":"z"}}}]}}}}`, []string{"m"}},
		{"m.y[0], m.y[5]", `{"m":{"M":{"y":{"L":[{"N":"5"}]}}}}`, []string{"m"}},
		{"a.b", `{}`, []string{"a"}},
		{"l.x", `{}`, []string{"l"}},
		{"m[0]", `{}`, []string{"m"}},
		{"m.gone", `{}`, []string{"m"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := ParseProjection(tt.expr, testRefs())
			if err != nil {
				t.Fatalf("ParseProjection(%q) error: %v", tt.expr, err)
			}
			if diff := cmp.Diff(tt.want, itemJSON(t, p.Apply(item))); diff != "" {
				t.Errorf("Apply(%q) mismatch (-want +got):\n%s", tt.expr, diff)
			}
			if diff := cmp.Diff(tt.roots, p.Roots()); diff != "" {
				t.Errorf("Roots() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProjection_Errors(t *testing.T) {
	const prefix = "Invalid ProjectionExpression: "
	tests := []struct {
		expr string
		want string
	}{
		{"", "The expression can not be empty;"},
		{"a, ", `Syntax error; token: "<EOF>", near: ","`},
		{"a b", `Syntax error; token: "b", near: "a b"`},
		{":n", `Syntax error; token: ":n", near: ":n"`},
		{"a[-1]", `Syntax error; token: "-", near: "[-1"`},
		{"size", "Attribute name is a reserved keyword; reserved keyword: size"},
		{"#x", "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"a, a", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"m.x, m", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m, x], path two: [m]"},
		{"l[3],l[3].x", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [l, [3]], path two: [l, [3], x]"},
		{"m.x, m[0]", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [m, x], path two: [m, [0]]"},
		{"#x, size", "Attribute name is a reserved keyword; reserved keyword: size"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseProjection(tt.expr, testRefs())
			if got := errMessage(t, err); got != prefix+tt.want {
				t.Errorf("ParseProjection(%q) error = %q, want %q", tt.expr, got, prefix+tt.want)
			}
		})
	}
}
