package expr

import (
	"strconv"
	"strings"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// step is one element of a document path: a map key or a list index.
type step struct {
	name    string
	index   int
	isIndex bool
}

// path is a document path, such as a.b[2].c, with #names already
// resolved. Its first step is always a name: a top-level attribute.
type path []step

// String formats p as DynamoDB's messages do: [a, b, [2], c].
func (p path) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		if s.isIndex {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		} else {
			b.WriteString(s.name)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// equal reports whether p and q are the same path.
func (p path) equal(q path) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// get returns the value p names in it, and false when there is none:
// a missing attribute or element, or a step into a value of the wrong type.
func (p path) get(it attr.Item) (attr.Value, bool) {
	v, ok := it[p[0].name]
	if !ok {
		return attr.Value{}, false
	}
	for _, s := range p[1:] {
		if v, ok = child(v, s); !ok {
			return attr.Value{}, false
		}
	}
	return v, true
}

// child returns the element s names in v.
func child(v attr.Value, s step) (attr.Value, bool) {
	if s.isIndex {
		if v.Kind != attr.KindL || s.index >= len(v.L) {
			return attr.Value{}, false
		}
		return v.L[s.index], true
	}
	if v.Kind != attr.KindM {
		return attr.Value{}, false
	}
	c, ok := v.M[s.name]
	return c, ok
}

// clash compares two paths of one expression, which DynamoDB refuses when
// one contains the other ("overlap") or when they step into the same
// value once as a map and once as a list ("conflict").
func clash(p, q path) (overlap, conflict bool) {
	for i := 0; i < len(p) && i < len(q); i++ {
		if p[i].isIndex != q[i].isIndex {
			return false, true
		}
		if p[i] != q[i] {
			return false, false
		}
	}
	return true, false
}

// errInvalidPath is DynamoDB's answer to an update that steps through a
// missing value or one of the wrong type.
const errInvalidPath = "The document path provided in the update expression is invalid for update"

// with returns a copy of the value v with the element at p (relative to v)
// changed by fn, which receives the current element (ok false when absent)
// and returns the new one, or remove true to delete it. Values are
// immutable, so each value along p is copied; the rest is shared.
func with(v attr.Value, p path, fn func(old attr.Value, ok bool) (attr.Value, bool, error)) (attr.Value, error) {
	s := p[0]
	last := len(p) == 1
	if s.isIndex {
		if v.Kind != attr.KindL {
			return attr.Value{}, &attr.Error{Message: errInvalidPath}
		}
		var cur attr.Value
		ok := s.index < len(v.L)
		if ok {
			cur = v.L[s.index]
		}
		nv, remove, err := step1(cur, ok, last, p, fn)
		if err != nil {
			return attr.Value{}, err
		}
		switch {
		case remove && !ok:
			return v, nil
		case remove:
			l := make([]attr.Value, 0, len(v.L)-1)
			l = append(append(l, v.L[:s.index]...), v.L[s.index+1:]...)
			return attr.Value{Kind: attr.KindL, L: l}, nil
		case ok:
			l := slicesClone(v.L)
			l[s.index] = nv
			return attr.Value{Kind: attr.KindL, L: l}, nil
		default:
			// DynamoDB appends when the index is past the end of the list.
			l := make([]attr.Value, len(v.L), len(v.L)+1)
			copy(l, v.L)
			return attr.Value{Kind: attr.KindL, L: append(l, nv)}, nil
		}
	}
	if v.Kind != attr.KindM {
		return attr.Value{}, &attr.Error{Message: errInvalidPath}
	}
	cur, ok := v.M[s.name]
	nv, remove, err := step1(cur, ok, last, p, fn)
	if err != nil {
		return attr.Value{}, err
	}
	if remove && !ok {
		return v, nil
	}
	m := make(map[string]attr.Value, len(v.M)+1)
	for k, x := range v.M {
		m[k] = x
	}
	if remove {
		delete(m, s.name)
	} else {
		m[s.name] = nv
	}
	return attr.Value{Kind: attr.KindM, M: m}, nil
}

// change changes the element at p in the item it, which the caller owns,
// as with does for values.
func change(it attr.Item, p path, fn func(attr.Value, bool) (attr.Value, bool, error)) error {
	name := p[0].name
	cur, ok := it[name]
	nv, remove, err := step1(cur, ok, len(p) == 1, p, fn)
	switch {
	case err != nil:
		return err
	case remove:
		delete(it, name)
	default:
		it[name] = nv
	}
	return nil
}

// step1 applies fn at the end of the path, or descends one level.
func step1(cur attr.Value, ok, last bool, p path, fn func(attr.Value, bool) (attr.Value, bool, error)) (attr.Value, bool, error) {
	if last {
		return fn(cur, ok)
	}
	if !ok {
		return attr.Value{}, false, &attr.Error{Message: errInvalidPath}
	}
	nv, err := with(cur, p[1:], fn)
	return nv, false, err
}

func slicesClone(l []attr.Value) []attr.Value {
	return append([]attr.Value(nil), l...)
}
