package expr

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// testNames and testValues are the ExpressionAttributeNames and
// ExpressionAttributeValues every table test may use.
var testNames = map[string]string{
	"#a":    "a",
	"#b":    "b",
	"#size": "size",
	"#pk":   "pk",
	"#sk":   "sk",
	"#dot":  "x.y",
}

var testValues = map[string]attr.Value{
	":s":    attr.String("abc"),
	":s2":   attr.String("abd"),
	":pre":  attr.String("ab"),
	":n":    attr.MustNumber("1"),
	":n2":   attr.MustNumber("2"),
	":n10":  attr.MustNumber("10"),
	":b":    attr.Binary([]byte("ab")),
	":bool": attr.Bool(true),
	":null": attr.Null(),
	":ss":   {Kind: attr.KindSS, Set: []string{"a", "b"}},
	":ss2":  {Kind: attr.KindSS, Set: []string{"b", "c"}},
	":ns":   {Kind: attr.KindNS, Set: []string{"1", "2"}},
	":bs":   {Kind: attr.KindBS, Set: []string{"x"}},
	":l":    {Kind: attr.KindL, L: []attr.Value{attr.String("x")}},
	":m":    {Kind: attr.KindM, M: map[string]attr.Value{"x": attr.MustNumber("1")}},
	":tN":   attr.String("N"),
	":tS":   attr.String("S"),
	":tX":   attr.String("X"),
}

func testRefs() *Refs { return NewRefs(testNames, testValues) }

// mustItem decodes an item from DynamoDB's JSON.
func mustItem(tb testing.TB, s string) attr.Item {
	tb.Helper()
	if s == "" {
		return nil
	}
	var it attr.Item
	if err := json.Unmarshal([]byte(s), &it); err != nil {
		tb.Fatalf("item %s: %v", s, err)
	}
	return it
}

// itemJSON encodes an item as DynamoDB's JSON, keys sorted, for comparisons.
func itemJSON(tb testing.TB, it attr.Item) string {
	tb.Helper()
	return string(attr.AppendItem(nil, it))
}

// errMessage returns the *attr.Error's message, failing on other errors.
func errMessage(tb testing.TB, err error) string {
	tb.Helper()
	if err == nil {
		return ""
	}
	var ae *attr.Error
	if !errors.As(err, &ae) {
		tb.Fatalf("error %v (%T) is not an *attr.Error", err, err)
	}
	return ae.Message
}

func TestRefs_CheckUnused(t *testing.T) {
	tests := []struct {
		name   string
		names  map[string]string
		values map[string]attr.Value
		expr   string
		want   string
	}{
		{"AllUsed", map[string]string{"#a": "a"}, map[string]attr.Value{":v": attr.String("x")}, "#a = :v", ""},
		{"None", nil, nil, "a = b", ""},
		{"UnusedName", map[string]string{"#a": "a", "#z": "z", "#y": "y"}, map[string]attr.Value{":v": attr.String("x")}, "#a = :v",
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#y, #z}"},
		{"UnusedValue", nil, map[string]attr.Value{":v": attr.String("x"), ":w": attr.String("y")}, "a = :v",
			"Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},
		{"NamesFirst", map[string]string{"#z": "z"}, map[string]attr.Value{":w": attr.String("y")}, "a = b",
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#z}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRefs(tt.names, tt.values)
			if _, err := ParseCondition(tt.expr, r); err != nil {
				t.Fatalf("ParseCondition(%q) error: %v", tt.expr, err)
			}
			if got := errMessage(t, r.CheckUnused()); got != tt.want {
				t.Errorf("CheckUnused() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefs_CheckUnused_AcrossExpressions(t *testing.T) {
	r := NewRefs(map[string]string{"#a": "a", "#p": "p"}, map[string]attr.Value{":v": attr.MustNumber("1"), ":c": attr.MustNumber("2")})
	if _, err := ParseUpdate("SET #a = :v", r); err != nil {
		t.Fatal(err)
	}
	if got := errMessage(t, r.CheckUnused()); got == "" {
		t.Fatal("CheckUnused() = nil before the other expressions are parsed, want an error")
	}
	if _, err := ParseCondition("b < :c", r); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProjection("#p", r); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckUnused(); err != nil {
		t.Errorf("CheckUnused() = %v, want nil", err)
	}
}
