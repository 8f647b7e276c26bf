package expr

import (
	"encoding/base64"
	"strconv"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// opndKind is what an operand is.
type opndKind uint8

const (
	oPath  opndKind = iota // a document path
	oValue                 // a :value, resolved at parse time
	oCall                  // a function: size in conditions; if_not_exists, list_append in updates
	oPlus                  // a + b, in updates
	oMinus                 // a - b, in updates
)

// operand is one operand of a comparison, function or SET action.
type operand struct {
	kind   opndKind
	path   path
	val    attr.Value
	fn     string    // function name for oCall
	args   []operand // oCall's arguments, oPlus's and oMinus's two sides
	parens int       // parentheses written directly around it
}

// knownType is the operand's type when the parser can know it: a value's,
// or what a function returns; 0 for paths, whose type only the item knows.
func (o *operand) knownType() attr.Kind {
	switch o.kind {
	case oValue:
		return o.val.Kind
	case oPlus, oMinus:
		return attr.KindN
	case oCall:
		switch o.fn {
		case "size":
			return attr.KindN
		case "list_append":
			return attr.KindL
		case "if_not_exists":
			if len(o.args) == 2 {
				return o.args[1].knownType()
			}
		}
	}
	return 0
}

// parseOperand parses a path, a :value, a function call or a parenthesised
// operand. arith allows a + b and a - b inside parentheses (SET values).
func (p *parser) parseOperand(check func(*operand), arith bool) (operand, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		var o operand
		var err error
		if arith {
			o, err = p.parseSetValue(check)
		} else {
			o, err = p.parseOperand(check, arith)
		}
		if err != nil {
			return operand{}, err
		}
		if err := p.expect(tRParen); err != nil {
			return operand{}, err
		}
		if o.parens > 0 {
			p.note(pParens, "The expression has redundant parentheses;")
		}
		o.parens++
		return o, nil
	case tValue:
		v, err := p.parseValue()
		return operand{kind: oValue, val: v}, err
	case tIdent:
		if p.peekAt(1).kind == tLParen && !isKeyword(p.text(t)) {
			return p.parseCall(check, arith)
		}
		fallthrough
	case tName:
		pa, err := p.parsePath()
		return operand{kind: oPath, path: pa}, err
	}
	return operand{}, p.syntaxError()
}

// parseCall parses name(operand, ...) and hands it to check, which judges
// the function for the expression kind.
func (p *parser) parseCall(check func(*operand), arith bool) (operand, error) {
	o := operand{kind: oCall, fn: p.text(p.next())}
	p.next() // (
	for {
		a, err := p.parseOperand(check, arith)
		if err != nil {
			return operand{}, err
		}
		o.args = append(o.args, a)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if err := p.expect(tRParen); err != nil {
		return operand{}, err
	}
	check(&o)
	return o, nil
}

// operandsMsg is DynamoDB's text for a function given the wrong number of operands.
func operandsMsg(fn string, n int) string {
	return "Incorrect number of operands for operator or function; operator or function: " + fn +
		", number of operands: " + strconv.Itoa(n)
}

// operandTypeMsg is DynamoDB's text for an operand of the wrong type.
func operandTypeMsg(fn string, k attr.Kind) string {
	return "Incorrect operand type for operator or function; operator or function: " + fn +
		", operand type: " + k.String()
}

// literal formats a value as DynamoDB's messages quote one: {N:1}.
func literal(v attr.Value) string {
	s := v.S
	switch v.Kind {
	case attr.KindB:
		s = base64.StdEncoding.EncodeToString([]byte(v.S))
	case attr.KindBOOL:
		s = strconv.FormatBool(v.Bool)
	case attr.KindNULL:
		s = "true"
	case attr.KindS, attr.KindN:
	default:
		b, _ := v.MarshalJSON()
		s = string(b)
	}
	return "{" + v.Kind.String() + ":" + s + "}"
}

// sizeOf is size(): the length in bytes of an S or B, the number of
// elements of a set, list or map; false for other types.
func sizeOf(v attr.Value) (int, bool) {
	switch v.Kind {
	case attr.KindS, attr.KindB:
		return len(v.S), true
	case attr.KindSS, attr.KindNS, attr.KindBS:
		return len(v.Set), true
	case attr.KindL:
		return len(v.L), true
	case attr.KindM:
		return len(v.M), true
	}
	return 0, false
}
