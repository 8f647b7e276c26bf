package expr

import (
	"slices"
	"strconv"
	"strings"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// maxInOperands is how many values DynamoDB's IN accepts.
const maxInOperands = 100

// condOp is a condition node's operation.
type condOp uint8

const (
	cAnd condOp = iota
	cOr
	cNot
	cCompare    // cmp holds the comparator
	cBetween    // args: value, lower, upper
	cIn         // args: value, candidates...
	cExists     // attribute_exists(path)
	cNotExists  // attribute_not_exists(path)
	cType       // attribute_type(path, :type)
	cBeginsWith // begins_with(a, b)
	cContains   // contains(a, b)
	cInvalid    // a function misused as a condition; the parse fails
)

// node is one node of a parsed condition.
type node struct {
	op    condOp
	cmp   tokKind // for cCompare: tEq ... tGe
	kids  [2]*node
	args  []operand
	fn    string // the function's name for function nodes
	paren bool   // written in parentheses
}

// Condition is a parsed ConditionExpression or FilterExpression. It is
// immutable and safe for concurrent use.
type Condition struct {
	root *node
}

// ParseCondition parses a ConditionExpression, resolving its placeholders
// through r. Errors are *attr.Error with DynamoDB's texts.
func ParseCondition(s string, r *Refs) (*Condition, error) {
	n, err := parseCondition(s, "ConditionExpression", r)
	if err != nil {
		return nil, err
	}
	return &Condition{root: n}, nil
}

// ParseFilter parses a FilterExpression: the same language as
// ParseCondition, with errors labelled as DynamoDB labels them for filters.
func ParseFilter(s string, r *Refs) (*Condition, error) {
	n, err := parseCondition(s, "FilterExpression", r)
	if err != nil {
		return nil, err
	}
	return &Condition{root: n}, nil
}

// Eval reports whether item satisfies the condition. item may be nil when
// there is no item: attribute_not_exists is then true and comparisons
// false. Comparing values of different types is false, not an error, so
// the error is always nil today; it is kept for conditions that can fail.
func (c *Condition) Eval(item attr.Item) (bool, error) {
	return c.root.eval(item), nil
}

func parseCondition(s, label string, r *Refs) (*node, error) {
	p := newParser(s, label, r)
	if err := p.start(); err != nil {
		return nil, err
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.syntaxError()
	}
	if err := p.judge(conditionOrder); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseOr() (*node, error) {
	left, err := p.parseAnd()
	for err == nil && p.keyword("OR") {
		p.next()
		var right *node
		if right, err = p.parseAnd(); err == nil {
			left = &node{op: cOr, kids: [2]*node{left, right}}
		}
	}
	return left, err
}

func (p *parser) parseAnd() (*node, error) {
	left, err := p.parseNot()
	for err == nil && p.keyword("AND") {
		p.next()
		var right *node
		if right, err = p.parseNot(); err == nil {
			left = &node{op: cAnd, kids: [2]*node{left, right}}
		}
	}
	return left, err
}

func (p *parser) parseNot() (*node, error) {
	if !p.keyword("NOT") {
		return p.parsePrimary()
	}
	p.next()
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return &node{op: cNot, kids: [2]*node{x}}, nil
}

// parsePrimary parses a parenthesised condition, a comparison or a
// condition function. An opening parenthesis whose group is followed by a
// comparator, BETWEEN or IN opens an operand, as in (a) = :v.
func (p *parser) parsePrimary() (*node, error) {
	if p.peek().kind == tLParen {
		j := p.matchingParen(p.pos)
		operandFollows := false
		if j >= 0 && j+1 < len(p.toks) {
			t := p.toks[j+1]
			s := p.text(t)
			operandFollows = isComparator(t.kind) || t.kind == tIdent && (equalFold(s, "BETWEEN") || equalFold(s, "IN"))
		}
		if !operandFollows {
			p.next()
			n, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tRParen); err != nil {
				return nil, err
			}
			if n.paren {
				p.note(pParens, "The expression has redundant parentheses;")
			}
			n.paren = true
			return n, nil
		}
	}
	return p.parseComparison()
}

// parseComparison parses what starts with an operand: a comparison,
// BETWEEN, IN, or a condition function.
func (p *parser) parseComparison() (*node, error) {
	n, err := p.parseComparison1()
	p.lockCondition()
	return n, err
}

func (p *parser) parseComparison1() (*node, error) {
	left, err := p.parseOperand(p.checkConditionCall, false)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case isComparator(t.kind):
		p.next()
		right, err := p.parseOperand(p.checkConditionCall, false)
		if err != nil {
			return nil, err
		}
		p.checkMisused(left, right)
		p.checkDistinct(p.text(t), &left, &right)
		return &node{op: cCompare, cmp: t.kind, args: []operand{left, right}}, nil
	case p.keyword("BETWEEN"):
		p.next()
		lo, err := p.parseOperand(p.checkConditionCall, false)
		if err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, p.syntaxError()
		}
		p.next()
		hi, err := p.parseOperand(p.checkConditionCall, false)
		if err != nil {
			return nil, err
		}
		p.checkMisused(left, lo, hi)
		p.checkBetween(lo, hi)
		return &node{op: cBetween, args: []operand{left, lo, hi}}, nil
	case p.keyword("IN"):
		p.next()
		if err := p.expect(tLParen); err != nil {
			return nil, err
		}
		args := []operand{left}
		for {
			o, err := p.parseOperand(p.checkConditionCall, false)
			if err != nil {
				return nil, err
			}
			args = append(args, o)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		if err := p.expect(tRParen); err != nil {
			return nil, err
		}
		p.checkMisused(args...)
		if n := len(args) - 1; n > maxInOperands {
			p.note(pOperands, "The IN operator is provided with too many operands; number of operands: "+strconv.Itoa(n))
		}
		return &node{op: cIn, args: args}, nil
	}
	if left.kind != oCall || left.parens > 0 {
		return nil, p.syntaxError()
	}
	n := &node{op: cInvalid, fn: left.fn, args: left.args}
	switch left.fn {
	case "attribute_exists":
		n.op = cExists
	case "attribute_not_exists":
		n.op = cNotExists
	case "attribute_type":
		n.op = cType
	case "begins_with":
		n.op = cBeginsWith
	case "contains":
		n.op = cContains
	case "size":
		p.note(pMisusedFunction, "The function is not allowed to be used this way in an expression; function: size")
	}
	return n, nil
}

// conditionFunctions maps the condition language's functions to their
// number of operands.
var conditionFunctions = map[string]int{
	"attribute_exists":     1,
	"attribute_not_exists": 1,
	"attribute_type":       2,
	"begins_with":          2,
	"contains":             2,
	"size":                 1,
}

// checkConditionCall judges a function call of a condition as DynamoDB
// does: known name, operand count, distinct operands, operand types.
func (p *parser) checkConditionCall(o *operand) {
	p.checkMisused(o.args...)
	want, ok := conditionFunctions[o.fn]
	if !ok {
		p.note(pUnknownFunction, "Invalid function name; function: "+o.fn)
		return
	}
	if len(o.args) != want {
		p.note(pOperands, operandsMsg(o.fn, len(o.args)))
		return
	}
	if want == 2 {
		p.checkDistinct(o.fn, &o.args[0], &o.args[1])
	}
	switch o.fn {
	case "attribute_exists", "attribute_not_exists":
		if o.args[0].kind != oPath {
			p.note(pFunction, "Operator or function requires a document path; operator or function: "+o.fn)
		}
	case "begins_with":
		for i := range o.args {
			if k := o.args[i].knownType(); k != 0 && k != attr.KindS && k != attr.KindB {
				p.note(pFunction, operandTypeMsg(o.fn, k))
				return
			}
		}
	case "attribute_type":
		a := &o.args[1]
		switch k := a.knownType(); {
		case k == 0:
			p.note(pFunction, "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}")
		case k != attr.KindS:
			p.note(pFunction, operandTypeMsg(o.fn, k))
		case a.kind == oValue:
			if _, ok := attr.KindOf(a.val.S); !ok {
				p.note(pFunction, "Invalid attribute type name found; type: "+a.val.S+", valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
			}
		}
	case "size":
		if k := o.args[0].knownType(); k == attr.KindN || k == attr.KindBOOL || k == attr.KindNULL {
			p.note(pFunction, operandTypeMsg(o.fn, k))
		}
	}
}

// checkMisused refuses condition functions used as operands; only size
// yields a value.
func (p *parser) checkMisused(args ...operand) {
	for i := range args {
		if args[i].kind == oCall && args[i].fn != "size" {
			p.note(pMisusedFunction, "The function is not allowed to be used this way in an expression; function: "+args[i].fn)
			return
		}
	}
}

// checkDistinct refuses comparing a path with itself.
func (p *parser) checkDistinct(op string, a, b *operand) {
	if a.kind == oPath && b.kind == oPath && a.path.equal(b.path) {
		p.note(pDistinct, "The first operand must be distinct from the remaining operands for this operator or function; operator: "+
			op+", first operand: "+a.path.String())
	}
}

// checkBetween refuses bounds of different types or in the wrong order.
func (p *parser) checkBetween(lo, hi operand) {
	if lo.kind != oValue || hi.kind != oValue || lo.val.Kind == 0 || hi.val.Kind == 0 {
		return
	}
	bounds := "lower bound operand: AttributeValue: " + literal(lo.val) + ", upper bound operand: AttributeValue: " + literal(hi.val)
	if lo.val.Kind != hi.val.Kind {
		p.note(pFunction, "The BETWEEN operator requires same data type for lower and upper bounds; "+bounds)
		return
	}
	if c, ok := attr.Compare(lo.val, hi.val); ok && c > 0 {
		p.note(pFunction, "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "+bounds)
	}
}

// eval evaluates the condition against it.
func (n *node) eval(it attr.Item) bool {
	switch n.op {
	case cAnd:
		return n.kids[0].eval(it) && n.kids[1].eval(it)
	case cOr:
		return n.kids[0].eval(it) || n.kids[1].eval(it)
	case cNot:
		return !n.kids[0].eval(it)
	case cCompare:
		a, aok := n.args[0].eval(it)
		b, bok := n.args[1].eval(it)
		return compare(n.cmp, a, aok, b, bok)
	case cBetween:
		v, ok := n.args[0].eval(it)
		lo, lok := n.args[1].eval(it)
		hi, hok := n.args[2].eval(it)
		return ok && lok && hok && compare(tGe, v, ok, lo, lok) && compare(tLe, v, ok, hi, hok)
	case cIn:
		v, ok := n.args[0].eval(it)
		if !ok {
			return false
		}
		for i := 1; i < len(n.args); i++ {
			if w, ok := n.args[i].eval(it); ok && v.Equal(w) {
				return true
			}
		}
		return false
	case cExists:
		_, ok := n.args[0].path.get(it)
		return ok
	case cNotExists:
		_, ok := n.args[0].path.get(it)
		return !ok
	case cType:
		v, ok := n.args[0].eval(it)
		t, tok := n.args[1].eval(it)
		return ok && tok && t.Kind == attr.KindS && v.Kind.String() == t.S
	case cBeginsWith:
		v, ok := n.args[0].eval(it)
		pre, pok := n.args[1].eval(it)
		return ok && pok && v.Kind == pre.Kind && (v.Kind == attr.KindS || v.Kind == attr.KindB) &&
			strings.HasPrefix(v.S, pre.S)
	case cContains:
		v, ok := n.args[0].eval(it)
		x, xok := n.args[1].eval(it)
		return ok && xok && contains(v, x)
	}
	return false
}

// compare applies a comparator. An operand that does not exist makes
// every comparison false except <>, which is true when only one side
// exists; values of different or unordered types compare unequal.
func compare(op tokKind, a attr.Value, aok bool, b attr.Value, bok bool) bool {
	if !aok || !bok {
		return op == tNe && aok != bok
	}
	switch op {
	case tEq:
		return a.Equal(b)
	case tNe:
		return !a.Equal(b)
	}
	c, ok := attr.Compare(a, b)
	if !ok {
		return false
	}
	switch op {
	case tLt:
		return c < 0
	case tLe:
		return c <= 0
	case tGt:
		return c > 0
	case tGe:
		return c >= 0
	}
	return false
}

// contains is contains(v, x): a substring of an S or B, a member of a
// set, or an element of a list.
func contains(v, x attr.Value) bool {
	switch v.Kind {
	case attr.KindS, attr.KindB:
		return x.Kind == v.Kind && strings.Contains(v.S, x.S)
	case attr.KindSS:
		return x.Kind == attr.KindS && v.Contains(x.S)
	case attr.KindNS:
		return x.Kind == attr.KindN && v.Contains(x.S)
	case attr.KindBS:
		return x.Kind == attr.KindB && v.Contains(x.S)
	case attr.KindL:
		for _, e := range v.L {
			if e.Equal(x) {
				return true
			}
		}
	}
	return false
}

// eval resolves a condition operand: a path's value, a :value, or size().
func (o *operand) eval(it attr.Item) (attr.Value, bool) {
	switch o.kind {
	case oPath:
		return o.path.get(it)
	case oValue:
		return o.val, true
	case oCall:
		if o.fn != "size" || len(o.args) != 1 {
			return attr.Value{}, false
		}
		v, ok := o.args[0].eval(it)
		if !ok {
			return attr.Value{}, false
		}
		n, ok := sizeOf(v)
		if !ok {
			return attr.Value{}, false
		}
		return attr.Value{Kind: attr.KindN, S: strconv.Itoa(n)}, true
	}
	return attr.Value{}, false
}

// Roots returns the top-level attribute names the condition reads, each
// once: a Query refuses a filter on its key attributes.
func (c *Condition) Roots() []string {
	var roots []string
	var walkOperand func(o *operand)
	walkOperand = func(o *operand) {
		if len(o.path) > 0 && !slices.Contains(roots, o.path[0].name) {
			roots = append(roots, o.path[0].name)
		}
		for i := range o.args {
			walkOperand(&o.args[i])
		}
	}
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		for i := range n.args {
			walkOperand(&n.args[i])
		}
		walk(n.kids[0])
		walk(n.kids[1])
	}
	walk(c.root)
	return roots
}
