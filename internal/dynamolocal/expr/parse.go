package expr

import (
	"strconv"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// problem is a kind of semantic error. DynamoDB parses a whole expression
// before it judges it, and when an expression has several problems it
// reports one by a fixed precedence, which differs between expression
// kinds; the parser records the first problem of each kind and answers
// with the first in its expression kind's order.
type problem uint8

const (
	pParens          problem = iota // redundant parentheses
	pUnknownFunction                // no such function
	pMisusedFunction                // a function where it cannot be used
	pReserved                       // unescaped reserved word
	pSection                        // update clause used twice
	pUndefined                      // the first undefined #name or :value
	pName                           // undefined #name
	pValue                          // undefined :value
	pOverlap                        // paths overlap
	pConflict                       // paths conflict
	pOperator                       // ADD or DELETE operand type
	pOperands                       // number of operands
	pDistinct                       // the same path on both sides
	pFunction                       // a function's operand types
	pCondition                      // the first condition's problem, see lockCondition
	numProblems
)

// The orders in which each expression kind reports its problems.
var (
	conditionOrder  = []problem{pParens, pUnknownFunction, pMisusedFunction, pReserved, pCondition}
	conditionGroup  = []problem{pUndefined, pOperands, pDistinct, pFunction}
	updateOrder     = []problem{pReserved, pUnknownFunction, pSection, pName, pValue, pOverlap, pConflict, pOperator, pOperands, pFunction}
	projectionOrder = []problem{pReserved, pName, pOverlap, pConflict}
)

// parser holds one parse's state. Syntax errors end the parse at once;
// other problems are recorded and judged at the end.
type parser struct {
	src      string
	label    string // "ConditionExpression", ... for messages
	toks     []token
	pos      int
	refs     *Refs
	problems [numProblems]string
	match    []int32 // closing-parenthesis indexes, built on first use
}

func newParser(src, label string, r *Refs) *parser {
	return &parser{src: src, label: label, toks: lex(src), refs: r}
}

func (p *parser) peek() token         { return p.toks[p.pos] }
func (p *parser) peekAt(n int) token  { return p.toks[min(p.pos+n, len(p.toks)-1)] }
func (p *parser) text(t token) string { return p.src[t.start:t.end] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

// keyword reports whether the current token is the keyword kw (upper
// case); keywords are case-insensitive.
func (p *parser) keyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && equalFold(p.text(t), kw)
}

// isKeyword reports whether s is one of the grammar's own words, which can
// never name an attribute, even where they are not otherwise expected.
func isKeyword(s string) bool {
	for _, kw := range [...]string{"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"} {
		if equalFold(s, kw) {
			return true
		}
	}
	return false
}

// equalFold compares s with the upper-case ASCII word kw, ignoring case.
func equalFold(s, kw string) bool {
	if len(s) != len(kw) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}

// isReserved reports whether name is one of DynamoDB's reserved words.
func isReserved(name string) bool {
	var buf [32]byte
	if len(name) > len(buf) {
		return false // no reserved word is this long
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	_, ok := reserved[string(buf[:len(name)])]
	return ok
}

// errorf returns an *attr.Error labelled with the expression kind.
func (p *parser) errorf(msg string) error {
	return &attr.Error{Message: "Invalid " + p.label + ": " + msg}
}

// syntaxError reports the current token as DynamoDB does: the token and
// the text from the previous token to the next.
func (p *parser) syntaxError() error {
	t := p.peek()
	tok := "<EOF>"
	if t.kind != tEOF {
		tok = p.text(t)
	}
	start, end := t.start, t.end
	if p.pos > 0 {
		start = p.toks[p.pos-1].start
		if t.kind == tEOF {
			end = p.toks[p.pos-1].end
		}
	}
	if n := p.peekAt(1); t.kind != tEOF && n.kind != tEOF {
		end = n.end
	}
	return p.errorf(`Syntax error; token: "` + tok + `", near: "` + p.src[start:end] + `"`)
}

// expect consumes a token of kind k or fails with a syntax error.
func (p *parser) expect(k tokKind) error {
	if p.peek().kind != k {
		return p.syntaxError()
	}
	p.next()
	return nil
}

// note records a problem unless one of its kind is already recorded.
func (p *parser) note(k problem, msg string) {
	if p.problems[k] == "" {
		p.problems[k] = msg
	}
}

// lockCondition fixes, once the first comparison or condition function
// with a problem is parsed, which problem a condition expression reports
// among its conditions' problems: DynamoDB reports the first condition's.
func (p *parser) lockCondition() {
	if p.problems[pCondition] != "" {
		return
	}
	for _, k := range conditionGroup {
		if p.problems[k] != "" {
			p.problems[pCondition] = p.problems[k]
			return
		}
	}
}

// judge returns the error for the recorded problems in the given order.
func (p *parser) judge(order []problem) error {
	for _, k := range order {
		if p.problems[k] != "" {
			return p.errorf(p.problems[k])
		}
	}
	return nil
}

// start checks what DynamoDB checks before parsing.
func (p *parser) start() error {
	if p.src == "" {
		return p.errorf("The expression can not be empty;")
	}
	return nil
}

// parsePath parses a document path: a name or #name, then any number of
// .name, .#name and [index] steps.
func (p *parser) parsePath() (path, error) {
	first, err := p.pathName()
	if err != nil {
		return nil, err
	}
	pa := path{first}
	for {
		switch p.peek().kind {
		case tDot:
			p.next()
			s, err := p.pathName()
			if err != nil {
				return nil, err
			}
			pa = append(pa, s)
		case tLBracket:
			p.next()
			t := p.peek()
			if t.kind != tNumber {
				return nil, p.syntaxError()
			}
			n, err := strconv.Atoi(p.text(t))
			if err != nil {
				return nil, p.syntaxError()
			}
			p.next()
			if err := p.expect(tRBracket); err != nil {
				return nil, err
			}
			pa = append(pa, step{index: n, isIndex: true})
		default:
			return pa, nil
		}
	}
}

// pathName parses one name step of a path.
func (p *parser) pathName() (step, error) {
	t := p.peek()
	switch t.kind {
	case tIdent:
		s := p.text(t)
		if isKeyword(s) {
			return step{}, p.syntaxError()
		}
		if isReserved(s) {
			p.note(pReserved, "Attribute name is a reserved keyword; reserved keyword: "+s)
		}
		p.next()
		return step{name: s}, nil
	case tName:
		s := p.text(t)
		name, ok := p.refs.name(s)
		if !ok {
			msg := "An expression attribute name used in the document path is not defined; attribute name: " + s
			p.note(pName, msg)
			p.note(pUndefined, msg)
		}
		p.next()
		return step{name: name}, nil
	}
	return step{}, p.syntaxError()
}

// parseValue parses a :value placeholder.
func (p *parser) parseValue() (attr.Value, error) {
	t := p.peek()
	if t.kind != tValue {
		return attr.Value{}, p.syntaxError()
	}
	p.next()
	s := p.text(t)
	v, ok := p.refs.value(s)
	if !ok {
		msg := "An expression attribute value used in expression is not defined; attribute value: " + s
		p.note(pValue, msg)
		p.note(pUndefined, msg)
	}
	return v, nil
}

// matchingParen returns the index of the token closing the parenthesis at
// token i, or -1. The pairs are found once per parse so that deeply nested
// expressions stay linear.
func (p *parser) matchingParen(i int) int {
	if p.match == nil {
		p.match = make([]int32, len(p.toks))
		var open []int32
		for j, t := range p.toks {
			p.match[j] = -1
			switch t.kind {
			case tLParen:
				open = append(open, int32(j))
			case tRParen:
				if n := len(open); n > 0 {
					p.match[open[n-1]] = int32(j)
					open = open[:n-1]
				}
			}
		}
	}
	return int(p.match[i])
}
