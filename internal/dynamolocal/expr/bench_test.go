package expr

import (
	"testing"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// benchCondition is a typical conditional write: create-if-absent or
// optimistic locking on a version.
const benchCondition = "attribute_not_exists(#a) OR (version = :n AND begins_with(s, :pre))"

func BenchmarkParseCondition(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCondition(benchCondition, NewRefs(testNames, testValues)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseUpdate(b *testing.B) {
	const s = "SET spent = if_not_exists(spent, :n) + :n2, updated = :s ADD requests :n"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseUpdate(s, NewRefs(testNames, testValues)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCondition_Eval(b *testing.B) {
	item := attr.Item{"a": attr.String("k"), "version": attr.MustNumber("1"), "s": attr.String("abc")}
	for _, bc := range []struct{ name, expr string }{
		{"EqualString", "a = :s"},
		{"EqualNumber", "version = :n"},
		{"LessNumber", "version < :n2"},
		{"NotExists", "attribute_not_exists(gone)"},
		{"Typical", benchCondition},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := ParseCondition(bc.expr, testRefs())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Eval(item); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c.Eval(item)
			}
		})
	}
}

func BenchmarkUpdate_Apply(b *testing.B) {
	u, err := ParseUpdate("SET spent = if_not_exists(spent, :n) + :n2, updated = :s ADD requests :n", testRefs())
	if err != nil {
		b.Fatal(err)
	}
	item := attr.Item{"pk": attr.String("k"), "spent": attr.MustNumber("41"), "requests": attr.MustNumber("7")}
	got, err := u.Apply(item)
	if err != nil || !got["spent"].Equal(attr.MustNumber("43")) {
		b.Fatalf("Apply() = %v, %v; want spent 43", got, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.Apply(item); err != nil {
			b.Fatal(err)
		}
	}
}
