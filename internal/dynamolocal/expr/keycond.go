package expr

import (
	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// SortOp is the operation of a sort key condition.
type SortOp uint8

// The sort key conditions a KeyConditionExpression may state.
const (
	SortEQ SortOp = iota + 1
	SortLT
	SortLE
	SortGT
	SortGE
	SortBetween
	SortBeginsWith
)

var sortOpNames = [...]string{"", "EQ", "LT", "LE", "GT", "GE", "BETWEEN", "BEGINS_WITH"}

// String is the operator's name in DynamoDB's messages (EQ, BEGINS_WITH, ...).
func (o SortOp) String() string {
	if int(o) < len(sortOpNames) {
		return sortOpNames[o]
	}
	return "?"
}

// KeyCondition is a parsed KeyConditionExpression: equality on the partition key and at most one
// condition on the sort key (=, <, <=, >, >=, BETWEEN, begins_with), joined by AND, parentheses allowed.
type KeyCondition struct {
	Partition string // attribute name (after #name substitution)
	Value     attr.Value
	Sort      *SortCondition // nil when the expression has none
}

// SortCondition is the sort key's part of a KeyCondition.
type SortCondition struct {
	Name   string
	Op     SortOp
	Values []attr.Value // one, or two for BETWEEN
}

// Match reports whether the sort key value v satisfies the condition.
func (c *SortCondition) Match(v attr.Value) bool {
	cmpTo := func(i int) (int, bool) { return attr.Compare(v, c.Values[i]) }
	switch c.Op {
	case SortEQ:
		return v.Equal(c.Values[0])
	case SortBeginsWith:
		w := c.Values[0]
		return v.Kind == w.Kind && len(v.S) >= len(w.S) && v.S[:len(w.S)] == w.S
	case SortBetween:
		lo, lok := cmpTo(0)
		hi, hok := cmpTo(1)
		return lok && hok && lo >= 0 && hi <= 0
	}
	c0, ok := cmpTo(0)
	if !ok {
		return false
	}
	switch c.Op {
	case SortLT:
		return c0 < 0
	case SortLE:
		return c0 <= 0
	case SortGT:
		return c0 > 0
	case SortGE:
		return c0 >= 0
	}
	return false
}

// keyCond is one condition on one key attribute, before the key schema is
// consulted.
type keyCond struct {
	name   string
	op     SortOp
	values []attr.Value
}

// ParseKeyCondition checks the expression against the key schema (hash, and range or "") and
// answers DynamoDB's errors ("Query condition missed key schema element: pk", ...). The values'
// types are not compared with the key attributes' types; the caller knows those
// ("One or more parameter values were invalid: Condition parameter type does not match schema type").
func ParseKeyCondition(s string, r *Refs, hash, rangeKey string) (*KeyCondition, error) {
	n, err := parseCondition(s, "KeyConditionExpression", r)
	if err != nil {
		return nil, err
	}
	var conds []keyCond
	if msg := collectKeyConds(n, &conds); msg != "" {
		return nil, &attr.Error{Message: msg}
	}
	for _, c := range conds {
		if msg := checkKeyCond(c); msg != "" {
			return nil, &attr.Error{Message: msg}
		}
	}
	if len(conds) != 1 && len(conds) != 2 {
		return nil, &attr.Error{Message: "Conditions can be of length 1 or 2 only"}
	}
	find := func(name string) *keyCond {
		for i := range conds {
			if conds[i].name == name {
				return &conds[i]
			}
		}
		return nil
	}
	if rangeKey == "" && len(conds) > 1 {
		return nil, &attr.Error{Message: "Query key condition not supported"}
	}
	h := find(hash)
	if h == nil {
		return nil, &attr.Error{Message: "Query condition missed key schema element: " + hash}
	}
	if h.op != SortEQ {
		return nil, &attr.Error{Message: "Query key condition not supported"}
	}
	kc := &KeyCondition{Partition: hash, Value: h.values[0]}
	if len(conds) == 2 {
		rc := find(rangeKey)
		if rc == nil {
			return nil, &attr.Error{Message: "Query condition missed key schema element: " + rangeKey}
		}
		kc.Sort = &SortCondition{Name: rc.name, Op: rc.op, Values: rc.values}
	}
	return kc, nil
}

// collectKeyConds walks a parsed key condition, refusing what a key
// condition cannot say, as DynamoDB words it.
func collectKeyConds(n *node, conds *[]keyCond) string {
	const invalid = "Invalid condition in KeyConditionExpression: "
	switch n.op {
	case cAnd:
		if msg := collectKeyConds(n.kids[0], conds); msg != "" {
			return msg
		}
		return collectKeyConds(n.kids[1], conds)
	case cOr:
		return "Invalid operator used in KeyConditionExpression: OR"
	case cNot:
		return "Invalid operator used in KeyConditionExpression: NOT"
	case cIn:
		return "Invalid operator used in KeyConditionExpression: IN"
	case cExists, cNotExists, cType, cContains:
		return "Invalid operator used in KeyConditionExpression: " + n.fn
	case cCompare:
		if n.cmp == tNe {
			return "Invalid operator used in KeyConditionExpression: <>"
		}
	case cBetween:
		if n.args[0].kind != oPath {
			return invalid + "BETWEEN operator must have the key attribute as its first operand"
		}
	case cBeginsWith:
		if n.args[0].kind != oPath {
			return invalid + "begins_with operator must have the key attribute as its first operand"
		}
	}
	c := keyCond{}
	keyAt := -1
	for i := range n.args {
		a := &n.args[i]
		switch a.kind {
		case oPath:
			if keyAt >= 0 {
				return invalid + "Multiple attribute names used in one condition"
			}
			if len(a.path) > 1 {
				return "KeyConditionExpressions cannot have conditions on nested attributes"
			}
			keyAt, c.name = i, a.path[0].name
		case oCall:
			return "KeyConditionExpressions cannot contain nested operations"
		default:
			c.values = append(c.values, a.val)
		}
	}
	if keyAt < 0 {
		return invalid + "No key attribute specified"
	}
	for _, d := range *conds {
		if d.name == c.name {
			return "KeyConditionExpressions must only contain one condition per key"
		}
	}
	switch n.op {
	case cBetween:
		c.op = SortBetween
	case cBeginsWith:
		c.op = SortBeginsWith
	default:
		// :v < sk is sk > :v.
		flip := keyAt != 0
		c.op = map[tokKind]SortOp{tEq: SortEQ, tLt: SortLT, tLe: SortLE, tGt: SortGT, tGe: SortGE}[n.cmp]
		if flip {
			c.op = map[SortOp]SortOp{SortEQ: SortEQ, SortLT: SortGT, SortLE: SortGE, SortGT: SortLT, SortGE: SortLE}[c.op]
		}
	}
	*conds = append(*conds, c)
	return ""
}

// checkKeyCond refuses values a key condition's operator cannot take.
func checkKeyCond(c keyCond) string {
	for _, v := range c.values {
		ok := false
		switch v.Kind {
		case attr.KindS, attr.KindB:
			ok = true
		case attr.KindN:
			ok = c.op != SortBeginsWith
		case attr.KindSS, attr.KindNS, attr.KindBS:
			ok = c.op == SortEQ
		}
		if !ok {
			return "One or more parameter values were invalid: ComparisonOperator " + c.op.String() +
				" is not valid for " + v.Kind.String() + " AttributeValue type"
		}
	}
	return ""
}
