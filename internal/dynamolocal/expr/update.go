package expr

import (
	"cmp"
	"slices"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// Runtime errors of updates, in DynamoDB's words.
const (
	errMissingOperand = "The provided expression refers to an attribute that does not exist in the item"
	errOperandType    = "An operand in the update expression has an incorrect data type"
)

// clause is an update expression's clause kind.
type clause uint8

const (
	clauseSet clause = iota
	clauseRemove
	clauseAdd
	clauseDelete
)

var clauseNames = [...]string{"SET", "REMOVE", "ADD", "DELETE"}

// action is one action of an update: SET path = val, REMOVE path,
// ADD path val or DELETE path val.
type action struct {
	clause clause
	path   path
	val    operand
}

// Update is a parsed UpdateExpression. It is immutable and safe for
// concurrent use.
type Update struct {
	writes  []action // SET, ADD and DELETE actions, in expression order
	removes []action // REMOVE actions, deepest and highest list index first
	roots   []string
	updated *Projection
}

// ParseUpdate parses an UpdateExpression, resolving its placeholders
// through r. Errors are *attr.Error with DynamoDB's texts.
func ParseUpdate(s string, r *Refs) (*Update, error) {
	p := newParser(s, "UpdateExpression", r)
	if err := p.start(); err != nil {
		return nil, err
	}
	u := &Update{}
	var seen [len(clauseNames)]bool
	var paths []path
	for {
		c, ok := p.clause()
		if !ok {
			return nil, p.syntaxError()
		}
		if seen[c] {
			p.note(pSection, `The "`+clauseNames[c]+`" section can only be used once in an update expression;`)
		}
		seen[c] = true
		p.next()
		for {
			a, err := p.parseAction(c)
			if err != nil {
				return nil, err
			}
			p.checkPaths(paths, a.path)
			paths = append(paths, a.path)
			if c == clauseRemove {
				u.removes = append(u.removes, a)
			} else {
				u.writes = append(u.writes, a)
			}
			if !slices.Contains(u.roots, a.path[0].name) {
				u.roots = append(u.roots, a.path[0].name)
			}
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		if p.peek().kind == tEOF {
			break
		}
	}
	if err := p.judge(updateOrder); err != nil {
		return nil, err
	}
	// Every action addresses the item as it was. Removing list elements
	// from the highest index down keeps the lower indexes valid.
	slices.SortStableFunc(u.removes, func(a, b action) int { return -comparePaths(a.path, b.path) })
	// The paths neither overlap nor conflict, as a projection's must not.
	u.updated = &Projection{tree: &projNode{}, roots: u.roots}
	for _, pa := range paths {
		u.updated.tree.add(pa)
	}
	return u, nil
}

// clause reports which clause keyword the current token is.
func (p *parser) clause() (clause, bool) {
	for c, kw := range clauseNames {
		if p.keyword(kw) {
			return clause(c), true
		}
	}
	return 0, false
}

// parseAction parses one action of clause c.
func (p *parser) parseAction(c clause) (action, error) {
	pa, err := p.parsePath()
	if err != nil {
		return action{}, err
	}
	a := action{clause: c, path: pa}
	switch c {
	case clauseSet:
		if err := p.expect(tEq); err != nil {
			return action{}, err
		}
		a.val, err = p.parseSetValue(p.checkUpdateCall)
	case clauseAdd, clauseDelete:
		var v attr.Value
		v, err = p.parseValue()
		a.val = operand{kind: oValue, val: v}
		p.checkOperator(c, v)
	}
	return a, err
}

// parseSetValue parses a SET action's value: an operand, or two joined
// by + or -.
func (p *parser) parseSetValue(check func(*operand)) (operand, error) {
	a, err := p.parseOperand(check, true)
	if err != nil {
		return operand{}, err
	}
	var o operand
	switch p.peek().kind {
	case tPlus:
		o.kind = oPlus
	case tMinus:
		o.kind = oMinus
	default:
		return a, nil
	}
	op := p.text(p.next())
	b, err := p.parseOperand(check, true)
	if err != nil {
		return operand{}, err
	}
	o.args = []operand{a, b}
	for i := range o.args {
		if k := immediateType(&o.args[i]); k != 0 && k != attr.KindN {
			p.note(pFunction, operandTypeMsg(op, k))
			break
		}
	}
	return o, nil
}

// immediateType is the type of a :value operand, 0 for anything else.
func immediateType(o *operand) attr.Kind {
	if o.kind == oValue {
		return o.val.Kind
	}
	return 0
}

// checkUpdateCall judges a function call of an update expression.
func (p *parser) checkUpdateCall(o *operand) {
	if o.fn != "if_not_exists" && o.fn != "list_append" {
		p.note(pUnknownFunction, "Invalid function name; function: "+o.fn)
		return
	}
	if len(o.args) != 2 {
		p.note(pOperands, operandsMsg(o.fn, len(o.args)))
		return
	}
	if o.fn == "if_not_exists" {
		if o.args[0].kind != oPath {
			p.note(pFunction, "Operator or function requires a document path; operator or function: "+o.fn)
		}
		return
	}
	for i := range o.args {
		if k := immediateType(&o.args[i]); k != 0 && k != attr.KindL {
			p.note(pFunction, operandTypeMsg(o.fn, k))
			return
		}
	}
}

// operatorTypeNames names types as ADD's and DELETE's messages do.
var operatorTypeNames = map[attr.Kind]string{
	attr.KindS: "STRING", attr.KindN: "NUMBER", attr.KindB: "BINARY", attr.KindNULL: "NULL",
	attr.KindBOOL: "BOOLEAN", attr.KindL: "LIST", attr.KindM: "MAP",
}

// checkOperator refuses ADD of anything but a number or set, and DELETE
// of anything but a set.
func (p *parser) checkOperator(c clause, v attr.Value) {
	name, scalar := operatorTypeNames[v.Kind]
	if scalar && (c != clauseAdd || v.Kind != attr.KindN) {
		p.note(pOperator, "Incorrect operand type for operator or function; operator: "+clauseNames[c]+", operand type: "+name)
	}
}

// checkPaths refuses a path that overlaps or conflicts with an earlier one.
func (p *parser) checkPaths(earlier []path, pa path) {
	for _, q := range earlier {
		overlap, conflict := clash(q, pa)
		switch {
		case overlap:
			p.note(pOverlap, "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: "+
				q.String()+", path two: "+pa.String())
		case conflict:
			p.note(pConflict, "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: "+
				q.String()+", path two: "+pa.String())
		}
	}
}

// comparePaths orders paths step by step, list indexes numerically; a
// path sorts after its prefixes.
func comparePaths(a, b path) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if c := cmp.Compare(x.name, y.name); c != 0 {
			return c
		}
		if c := cmp.Compare(x.index, y.index); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// Roots are the top-level attribute names the update writes or removes; the caller refuses
// updates to key attributes ("Cannot update attribute pk. This attribute is part of the key").
func (u *Update) Roots() []string { return slices.Clone(u.roots) }

// Updated is a projection of the paths the update writes or removes: applied to the item before
// and after the update, it gives what ReturnValues UPDATED_OLD and UPDATED_NEW return.
func (u *Update) Updated() *Projection { return u.updated }

// Apply returns the updated item; it never modifies item (copy what changes; values are immutable).
// item may be nil when there is no item yet. SET values are computed from the item as it was
// before the update, as DynamoDB does. Errors are *attr.Error with DynamoDB's texts.
func (u *Update) Apply(item attr.Item) (attr.Item, error) {
	vals := make([]attr.Value, len(u.writes))
	for i := range u.writes {
		a := &u.writes[i]
		if a.clause != clauseSet {
			continue
		}
		v, err := a.val.evalSet(item)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	// The item's top level is copied once; below it, with copies only
	// the values along each changed path.
	out := make(attr.Item, len(item)+len(u.roots))
	for k, v := range item {
		out[k] = v
	}
	for i := range u.writes {
		a := &u.writes[i]
		var err error
		switch a.clause {
		case clauseSet:
			err = change(out, a.path, func(attr.Value, bool) (attr.Value, bool, error) { return vals[i], false, nil })
		case clauseAdd:
			err = change(out, a.path, a.add)
		case clauseDelete:
			err = change(out, a.path, a.delete)
		}
		if err != nil {
			return nil, err
		}
	}
	for i := range u.removes {
		if err := change(out, u.removes[i].path, remove); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func remove(attr.Value, bool) (attr.Value, bool, error) { return attr.Value{}, true, nil }

// add is ADD: a number is added to the attribute (0 when absent), a set
// is merged into it; the attribute is created when absent.
func (a *action) add(old attr.Value, ok bool) (attr.Value, bool, error) {
	v := a.val.val
	if !ok {
		return v, false, nil
	}
	if old.Kind != v.Kind {
		return attr.Value{}, false, &attr.Error{Message: errOperandType}
	}
	if v.Kind == attr.KindN {
		n, err := attr.Add(old, v)
		return n, false, err
	}
	set := slices.Clone(old.Set)
	for _, e := range v.Set {
		if !old.Contains(e) {
			set = append(set, e)
		}
	}
	return attr.Value{Kind: old.Kind, Set: set}, false, nil
}

// delete is DELETE: the set's elements are removed from the attribute,
// and the attribute with them when none are left.
func (a *action) delete(old attr.Value, ok bool) (attr.Value, bool, error) {
	v := a.val.val
	if !ok {
		return attr.Value{}, true, nil
	}
	if old.Kind != v.Kind {
		return attr.Value{}, false, &attr.Error{Message: errOperandType}
	}
	var set []string
	for _, e := range old.Set {
		if !v.Contains(e) {
			set = append(set, e)
		}
	}
	if len(set) == 0 {
		return attr.Value{}, true, nil
	}
	return attr.Value{Kind: old.Kind, Set: set}, false, nil
}

// evalSet computes a SET value from the item as it was.
func (o *operand) evalSet(it attr.Item) (attr.Value, error) {
	switch o.kind {
	case oValue:
		return o.val, nil
	case oPath:
		v, ok := o.path.get(it)
		if !ok {
			return attr.Value{}, &attr.Error{Message: errMissingOperand}
		}
		return v, nil
	case oPlus, oMinus:
		a, b, err := evalPair(o.args, it)
		if err != nil {
			return attr.Value{}, err
		}
		if a.Kind != attr.KindN || b.Kind != attr.KindN {
			return attr.Value{}, &attr.Error{Message: errOperandType}
		}
		if o.kind == oPlus {
			return attr.Add(a, b)
		}
		return attr.Sub(a, b)
	case oCall:
		if o.fn == "if_not_exists" {
			if v, ok := o.args[0].path.get(it); ok {
				return v, nil
			}
			return o.args[1].evalSet(it)
		}
		a, b, err := evalPair(o.args, it)
		if err != nil {
			return attr.Value{}, err
		}
		if a.Kind != attr.KindL || b.Kind != attr.KindL {
			return attr.Value{}, &attr.Error{Message: errOperandType}
		}
		l := make([]attr.Value, 0, len(a.L)+len(b.L))
		return attr.Value{Kind: attr.KindL, L: append(append(l, a.L...), b.L...)}, nil
	}
	return attr.Value{}, &attr.Error{Message: errOperandType}
}

func evalPair(args []operand, it attr.Item) (attr.Value, attr.Value, error) {
	a, err := args[0].evalSet(it)
	if err != nil {
		return attr.Value{}, attr.Value{}, err
	}
	b, err := args[1].evalSet(it)
	return a, b, err
}
