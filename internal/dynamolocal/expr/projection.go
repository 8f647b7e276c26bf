package expr

import (
	"slices"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// Projection is a parsed ProjectionExpression. It is immutable and safe
// for concurrent use.
type Projection struct {
	tree  *projNode
	roots []string
}

// projNode is one level of the projected paths: a whole value taken
// (leaf), or the map keys or list indexes to descend into.
type projNode struct {
	leaf    bool
	fields  map[string]*projNode
	indexes []int // sorted, the keys of elems
	elems   map[int]*projNode
}

// ParseProjection parses a ProjectionExpression, resolving its #names
// through r. Errors are *attr.Error with DynamoDB's texts.
func ParseProjection(s string, r *Refs) (*Projection, error) {
	p := newParser(s, "ProjectionExpression", r)
	if err := p.start(); err != nil {
		return nil, err
	}
	var paths []path
	for {
		pa, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		p.checkPaths(paths, pa)
		paths = append(paths, pa)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if p.peek().kind != tEOF {
		return nil, p.syntaxError()
	}
	if err := p.judge(projectionOrder); err != nil {
		return nil, err
	}
	pr := &Projection{tree: &projNode{}}
	for _, pa := range paths {
		pr.tree.add(pa)
		if !slices.Contains(pr.roots, pa[0].name) {
			pr.roots = append(pr.roots, pa[0].name)
		}
	}
	return pr, nil
}

// add records pa below n. Paths neither overlap nor conflict, so a leaf
// is never descended into and a node is either a map's or a list's.
func (n *projNode) add(pa path) {
	for _, s := range pa {
		var next *projNode
		if s.isIndex {
			if n.elems == nil {
				n.elems = map[int]*projNode{}
			}
			if next = n.elems[s.index]; next == nil {
				next = &projNode{}
				n.elems[s.index] = next
				i, _ := slices.BinarySearch(n.indexes, s.index)
				n.indexes = slices.Insert(n.indexes, i, s.index)
			}
		} else {
			if n.fields == nil {
				n.fields = map[string]*projNode{}
			}
			if next = n.fields[s.name]; next == nil {
				next = &projNode{}
				n.fields[s.name] = next
			}
		}
		n = next
	}
	n.leaf = true
}

// Roots are the top-level attribute names the projection reads.
func (p *Projection) Roots() []string { return slices.Clone(p.roots) }

// Apply returns the projected attributes of item. Nested paths keep their
// structure, like DynamoDB: a.b yields {a: {b: ...}}, and list elements
// keep their order but not their indexes (l[3] alone yields a one-element
// list). Paths that name nothing in item are left out.
func (p *Projection) Apply(item attr.Item) attr.Item {
	out := make(attr.Item, len(p.tree.fields))
	for name, n := range p.tree.fields {
		if v, ok := item[name]; ok {
			if w, ok := n.project(v); ok {
				out[name] = w
			}
		}
	}
	return out
}

// project returns the part of v that n selects, and false when it selects
// nothing.
func (n *projNode) project(v attr.Value) (attr.Value, bool) {
	switch {
	case n.leaf:
		return v, true
	case n.fields != nil && v.Kind == attr.KindM:
		m := make(map[string]attr.Value, len(n.fields))
		for name, c := range n.fields {
			if x, ok := v.M[name]; ok {
				if w, ok := c.project(x); ok {
					m[name] = w
				}
			}
		}
		return attr.Value{Kind: attr.KindM, M: m}, len(m) > 0
	case n.elems != nil && v.Kind == attr.KindL:
		var l []attr.Value
		for _, i := range n.indexes {
			if i < len(v.L) {
				if w, ok := n.elems[i].project(v.L[i]); ok {
					l = append(l, w)
				}
			}
		}
		return attr.Value{Kind: attr.KindL, L: l}, len(l) > 0
	}
	return attr.Value{}, false
}
