package expr

import (
	"errors"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// FuzzParse feeds any text to every parser: none may panic, every error
// is an *attr.Error, and what parses evaluates without panicking and
// without changing the item it is given.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a = :n AND (b < :s OR NOT attribute_exists(#a.c[2]))",
		"size(l) BETWEEN :n AND :n2",
		"a IN (:n, :s, b.c)",
		"begins_with(s, :pre) AND contains(ss, :s) AND attribute_type(a, :tN)",
		"((a = :n))",
		"SET a = a + :n, l[3] = list_append(if_not_exists(l, :l), :l) REMOVE m.x ADD ns :ns DELETE ss :ss",
		"SET #a = (:n10 - a) remove l[0], l[2]",
		"a, m.y[1].q, #size",
		"pk = :s AND sk BETWEEN :n AND :n2",
		"#pk = :s and begins_with(#sk, :pre)",
		"a[99999999999999999999] = :n",
		"",
		"(",
		"#",
		"a.",
	} {
		f.Add(s)
	}
	item := mustItem(f, updateItem)
	before := itemJSON(f, item)
	f.Fuzz(func(t *testing.T, s string) {
		checkErr := func(err error) {
			var ae *attr.Error
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *attr.Error", err, err)
			}
		}
		c, err := ParseCondition(s, testRefs())
		checkErr(err)
		if err == nil {
			_, err = c.Eval(item)
			checkErr(err)
			_, err = c.Eval(nil)
			checkErr(err)
		}
		u, err := ParseUpdate(s, testRefs())
		checkErr(err)
		if err == nil {
			_, err = u.Apply(item)
			checkErr(err)
			_, err = u.Apply(nil)
			checkErr(err)
			u.Roots()
		}
		p, err := ParseProjection(s, testRefs())
		checkErr(err)
		if err == nil {
			p.Apply(item)
			p.Roots()
		}
		k, err := ParseKeyCondition(s, testRefs(), "pk", "sk")
		checkErr(err)
		if err == nil && k.Sort != nil {
			k.Sort.Match(attr.String("x"))
		}
		if after := itemJSON(t, item); after != before {
			t.Fatalf("%q changed the item:\nbefore %s\nafter  %s", s, before, after)
		}
	})
}
