package expr

import "unicode/utf8"

// tokKind is a lexical token's kind.
type tokKind uint8

const (
	tEOF      tokKind = iota
	tIdent            // attribute name, keyword or function name
	tName             // #name placeholder
	tValue            // :value placeholder
	tNumber           // list index digits
	tLParen           // (
	tRParen           // )
	tLBracket         // [
	tRBracket         // ]
	tComma            // ,
	tDot              // .
	tEq               // =
	tNe               // <>
	tLt               // <
	tLe               // <=
	tGt               // >
	tGe               // >=
	tPlus             // +
	tMinus            // -
	tIllegal          // any other character
)

// token is one token: its kind and where its text lies in the expression.
type token struct {
	kind       tokKind
	start, end int
}

// lex splits s into tokens, ending with a tEOF token at len(s). It never
// fails: a character no token starts with becomes a tIllegal token, which
// the parser reports as DynamoDB does, as a syntax error at that token.
func lex(s string) []token {
	toks := make([]token, 0, len(s)/3+2)
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		start := i
		kind := tIllegal
		switch {
		case isNameStart(c):
			kind = tIdent
			i = scanName(s, i+1)
		case c >= '0' && c <= '9':
			kind = tNumber
			for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			}
		case c == '#' || c == ':':
			if j := scanName(s, i+1); j > i+1 {
				kind = tName
				if c == ':' {
					kind = tValue
				}
				i = j
			} else {
				i++
			}
		default:
			kind, i = punct(s, i)
		}
		toks = append(toks, token{kind: kind, start: start, end: i})
	}
	return append(toks, token{kind: tEOF, start: len(s), end: len(s)})
}

// punct scans the operator or punctuation at s[i], returning its kind and
// the index after it; an unknown character is one whole UTF-8 sequence.
func punct(s string, i int) (tokKind, int) {
	next := byte(0)
	if i+1 < len(s) {
		next = s[i+1]
	}
	switch s[i] {
	case '(':
		return tLParen, i + 1
	case ')':
		return tRParen, i + 1
	case '[':
		return tLBracket, i + 1
	case ']':
		return tRBracket, i + 1
	case ',':
		return tComma, i + 1
	case '.':
		return tDot, i + 1
	case '=':
		return tEq, i + 1
	case '+':
		return tPlus, i + 1
	case '-':
		return tMinus, i + 1
	case '<':
		switch next {
		case '>':
			return tNe, i + 2
		case '=':
			return tLe, i + 2
		}
		return tLt, i + 1
	case '>':
		if next == '=' {
			return tGe, i + 2
		}
		return tGt, i + 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return tIllegal, i + n
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isNameChar(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9'
}

// scanName returns the index after the name characters starting at i.
func scanName(s string, i int) int {
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	return i
}

// isComparator reports whether k is one of = <> < <= > >=.
func isComparator(k tokKind) bool { return k >= tEq && k <= tGe }
