package attr

import (
	"encoding/base64"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written reader for the value wire form: encoding/json would
// re-scan every nested value once per level and allocate a map per
// value, which made decoding the largest cost of a write. Input reaching
// it has passed encoding/json's syntax check (it is part of a request
// body), but the reader still refuses anything malformed rather than
// trusting that.

// UnmarshalJSON reads an item: a JSON object of names to values.
func (it *Item) UnmarshalJSON(data []byte) error {
	d := decoder{data: data}
	d.space()
	if d.literal("null") {
		*it = nil
		return nil
	}
	m, err := d.valueMap()
	if err != nil {
		return err
	}
	d.space()
	if d.pos != len(d.data) {
		return d.malformed()
	}
	*it = m
	return nil
}

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) malformed() *Error {
	return &Error{Message: "Supplied AttributeValue is not valid JSON at offset " + strconv.Itoa(d.pos)}
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.space()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) expect(c byte) bool {
	if d.peek() == c {
		d.pos++
		return true
	}
	return false
}

func (d *decoder) literal(s string) bool {
	if len(d.data)-d.pos >= len(s) && string(d.data[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

// valueMap reads {"name": value, ...}.
func (d *decoder) valueMap() (map[string]Value, error) {
	if !d.expect('{') {
		return nil, d.malformed()
	}
	m := map[string]Value{}
	if d.expect('}') {
		return m, nil
	}
	for {
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if !d.expect(':') {
			return nil, d.malformed()
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[name] = v
		if d.expect(',') {
			continue
		}
		if d.expect('}') {
			return m, nil
		}
		return nil, d.malformed()
	}
}

// value reads one {"TYPE": payload} object, validated as UnmarshalJSON
// validates it.
func (d *decoder) value() (Value, error) {
	if !d.expect('{') {
		return Value{}, d.malformed()
	}
	if d.expect('}') {
		return Value{}, &Error{Message: "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"}
	}
	name, err := d.str()
	if err != nil {
		return Value{}, err
	}
	if !d.expect(':') {
		return Value{}, d.malformed()
	}
	kind, ok := KindOf(name)
	if !ok {
		return Value{}, &Error{Message: "Supplied AttributeValue has an unknown datatype: " + name}
	}
	v, err := d.payload(kind)
	if err != nil {
		return Value{}, err
	}
	if d.peek() == ',' {
		return Value{}, &Error{Message: "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"}
	}
	if !d.expect('}') {
		return Value{}, d.malformed()
	}
	return v, nil
}

func (d *decoder) payload(kind Kind) (Value, error) {
	malformed := &Error{Message: "Supplied AttributeValue of type " + kind.String() + " is malformed"}
	switch kind {
	case KindS, KindN, KindB:
		if d.peek() != '"' {
			return Value{}, malformed
		}
		s, err := d.str()
		if err != nil {
			return Value{}, err
		}
		switch kind {
		case KindN:
			return Number(s)
		case KindB:
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return Value{}, malformed
			}
			return Binary(b), nil
		}
		return String(s), nil
	case KindBOOL, KindNULL:
		d.space()
		var b bool
		switch {
		case d.literal("true"):
			b = true
		case d.literal("false"):
		default:
			return Value{}, malformed
		}
		if kind == KindBOOL {
			return Bool(b), nil
		}
		if !b {
			return Value{}, &Error{Message: "One or more parameter values were invalid: Null attribute value types must have the value of true"}
		}
		return Null(), nil
	case KindM:
		if d.peek() != '{' {
			return Value{}, malformed
		}
		m, err := d.valueMap()
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindM, M: m}, nil
	case KindL:
		if !d.expect('[') {
			return Value{}, malformed
		}
		l := []Value{}
		if d.expect(']') {
			return Value{Kind: KindL, L: l}, nil
		}
		for {
			v, err := d.value()
			if err != nil {
				return Value{}, err
			}
			l = append(l, v)
			if d.expect(',') {
				continue
			}
			if d.expect(']') {
				return Value{Kind: KindL, L: l}, nil
			}
			return Value{}, d.malformed()
		}
	}
	// Sets: arrays of strings, then the checks decodeSet makes.
	if !d.expect('[') {
		return Value{}, malformed
	}
	var elems []string
	if !d.expect(']') {
		for {
			if d.peek() != '"' {
				return Value{}, malformed
			}
			s, err := d.str()
			if err != nil {
				return Value{}, err
			}
			if kind == KindBS {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return Value{}, malformed
				}
				s = string(b)
			}
			elems = append(elems, s)
			if d.expect(',') {
				continue
			}
			if d.expect(']') {
				break
			}
			return Value{}, d.malformed()
		}
	}
	return checkSet(kind, elems)
}

// str reads a JSON string.
func (d *decoder) str() (string, error) {
	if !d.expect('"') {
		return "", d.malformed()
	}
	start := d.pos
	// Fast path: no escapes.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			raw := d.data[start:d.pos]
			d.pos++
			if !utf8.Valid(raw) {
				// As encoding/json does: invalid bytes become U+FFFD.
				return string([]rune(string(raw))), nil
			}
			return string(raw), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.pos++
	}
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(buf) {
				buf = []byte(string([]rune(string(buf))))
			}
			return string(buf), nil
		case c < 0x20:
			return "", d.malformed()
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			return "", d.malformed()
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.malformed()
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.literal(`\u`) {
					if r2, ok = d.hex4(); !ok {
						return "", d.malformed()
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					buf = utf8.AppendRune(buf, dec)
					continue
				}
				buf = utf8.AppendRune(buf, utf8.RuneError)
				if r2 >= 0 {
					buf = utf8.AppendRune(buf, r2)
				}
				continue
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.malformed()
		}
	}
	return "", d.malformed()
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.data[d.pos:d.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(n), true
}
