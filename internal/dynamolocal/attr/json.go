package attr

import (
	"encoding/base64"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON writes v in the wire form: {"S":"x"}, {"N":"1.5"}, {"B":"base64"}...
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// AppendJSON appends v's wire form to b. Set elements are written in
// order (bytewise, numbers numerically) because DynamoDB gives sets no
// order and a stable one makes answers reproducible.
func (v Value) AppendJSON(b []byte) []byte {
	b = append(b, `{"`...)
	b = append(b, v.Kind.String()...)
	b = append(b, `":`...)
	switch v.Kind {
	case KindS, KindN:
		b = appendString(b, v.S)
	case KindB:
		b = appendBase64(b, v.S)
	case KindBOOL, KindNULL:
		b = strconv.AppendBool(b, v.Bool)
	case KindM:
		b = appendItem(b, v.M)
	case KindL:
		b = append(b, '[')
		for i, x := range v.L {
			if i > 0 {
				b = append(b, ',')
			}
			b = x.AppendJSON(b)
		}
		b = append(b, ']')
	case KindSS, KindNS, KindBS:
		b = append(b, '[')
		for i, x := range sortedSet(v) {
			if i > 0 {
				b = append(b, ',')
			}
			if v.Kind == KindBS {
				b = appendBase64(b, x)
			} else {
				b = appendString(b, x)
			}
		}
		b = append(b, ']')
	default:
		b = append(b, "null"...)
	}
	return append(b, '}')
}

// AppendItem appends an item's wire form, a map of names to values, with
// the names sorted so that equal items encode equally.
func AppendItem(b []byte, it Item) []byte { return appendItem(b, it) }

func appendItem(b []byte, m map[string]Value) []byte {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = m[k].AppendJSON(b)
	}
	return append(b, '}')
}

func sortedSet(v Value) []string {
	s := slices.Clone(v.Set)
	if v.Kind == KindNS {
		slices.SortFunc(s, func(x, y string) int { return mustDecimal(x).cmp(mustDecimal(y)) })
	} else {
		slices.Sort(s)
	}
	return s
}

func appendBase64(b []byte, raw string) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, []byte(raw))
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string. Invalid UTF-8 cannot arrive
// (requests are decoded by encoding/json), but is escaped rather than
// passed through should it ever.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				switch c {
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				default:
					b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
				}
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// UnmarshalJSON reads and validates a value's wire form as DynamoDB does:
// exactly one data type, valid numbers within range, sets non-empty and
// without duplicates, NULL only as true.
func (v *Value) UnmarshalJSON(data []byte) error {
	d := decoder{data: data}
	out, err := d.value()
	if err != nil {
		return err
	}
	d.space()
	if d.pos != len(d.data) {
		return d.malformed()
	}
	*v = out
	return nil
}

// checkSet validates a set's elements as DynamoDB does: not empty,
// numbers valid (and canonicalised), no duplicates.
func checkSet(kind Kind, elems []string) (Value, error) {
	if len(elems) == 0 {
		switch kind {
		case KindSS:
			return Value{}, &Error{Message: "One or more parameter values were invalid: An string set  may not be empty"}
		case KindNS:
			return Value{}, &Error{Message: "One or more parameter values were invalid: An number set  may not be empty"}
		}
		return Value{}, &Error{Message: "One or more parameter values were invalid: Binary sets should not be empty"}
	}
	if kind == KindNS {
		for i, e := range elems {
			n, err := Number(e)
			if err != nil {
				return Value{}, err
			}
			elems[i] = n.S
		}
	}
	seen := make(map[string]bool, len(elems))
	for _, e := range elems {
		if seen[e] {
			switch kind {
			case KindNS:
				return Value{}, &Error{Message: "Input collection contains duplicates"}
			case KindSS:
				return Value{}, &Error{Message: "One or more parameter values were invalid: Input collection [" + joinSet(elems) + "] contains duplicates."}
			}
			return Value{}, &Error{Message: "One or more parameter values were invalid: Input collection contains duplicates of type BS."}
		}
		seen[e] = true
	}
	return Value{Kind: kind, Set: elems}, nil
}

func joinSet(elems []string) string {
	out := ""
	for i, e := range elems {
		if i > 0 {
			out += ", "
		}
		out += e
	}
	return out
}

// MarshalJSON writes the item's wire form.
func (it Item) MarshalJSON() ([]byte, error) { return appendItem(nil, it), nil }
