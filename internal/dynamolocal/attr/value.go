// Package attr is DynamoDB's attribute value model: the ten value types,
// their JSON wire form, numbers with DynamoDB's precision and range, and
// the comparisons expressions and keys need.
package attr

import "strings"

// Kind is an attribute value's data type.
type Kind uint8

// The data types, named as on the wire.
const (
	KindS Kind = iota + 1
	KindN
	KindB
	KindBOOL
	KindNULL
	KindM
	KindL
	KindSS
	KindNS
	KindBS
)

var kindNames = [...]string{"", "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}

// String is the type's wire name, which is also how DynamoDB's messages
// and attribute_type() name it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// KindOf returns the kind a wire name names, and false for none.
func KindOf(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n == name && k > 0 {
			return Kind(k), true
		}
	}
	return 0, false
}

// Value is one attribute value. Values are immutable once built: items
// are shared between readers, so M, L and Set are never changed in place;
// a changed value is a new one.
type Value struct {
	Kind Kind
	// S is the text of an S, the canonical decimal text of an N, or the
	// raw bytes of a B.
	S    string
	Bool bool
	M    map[string]Value
	L    []Value
	// Set holds an SS's strings, an NS's canonical decimal texts or a
	// BS's raw bytes: never empty, never duplicated.
	Set []string
}

// Item is one item: attribute names to values.
type Item map[string]Value

// Error is input DynamoDB refuses; Message is DynamoDB's own text, sent
// back as a ValidationException.
type Error struct {
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// String returns an S value.
func String(s string) Value { return Value{Kind: KindS, S: s} }

// Number returns an N value for text, canonicalised ("1.50" is "1.5") so
// that equal numbers have equal texts.
func Number(text string) (Value, error) {
	d, err := parseDecimal(text)
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: KindN, S: d.String()}, nil
}

// MustNumber is Number for constants; it panics on a malformed number.
func MustNumber(text string) Value {
	v, err := Number(text)
	if err != nil {
		panic(err)
	}
	return v
}

// Binary returns a B value holding a copy of b.
func Binary(b []byte) Value { return Value{Kind: KindB, S: string(b)} }

// Bool returns a BOOL value.
func Bool(b bool) Value { return Value{Kind: KindBOOL, Bool: b} }

// Null returns the NULL value.
func Null() Value { return Value{Kind: KindNULL, Bool: true} }

// Equal reports whether v and w are the same type and value: numbers by
// their canonical texts (equal exactly when the numbers are), sets as
// sets, maps and lists deeply.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case KindS, KindB:
		return v.S == w.S
	case KindN:
		return v.S == w.S
	case KindBOOL:
		return v.Bool == w.Bool
	case KindNULL:
		return true
	case KindM:
		if len(v.M) != len(w.M) {
			return false
		}
		for k, x := range v.M {
			y, ok := w.M[k]
			if !ok || !x.Equal(y) {
				return false
			}
		}
		return true
	case KindL:
		if len(v.L) != len(w.L) {
			return false
		}
		for i := range v.L {
			if !v.L[i].Equal(w.L[i]) {
				return false
			}
		}
		return true
	case KindSS, KindNS, KindBS:
		if len(v.Set) != len(w.Set) {
			return false
		}
		for _, x := range v.Set {
			if !w.Contains(x) {
				return false
			}
		}
		return true
	}
	return false
}

// Contains reports whether the set v holds the element text x; numbers
// are compared by their canonical texts, which are equal exactly when the
// numbers are.
func (v Value) Contains(x string) bool {
	for _, y := range v.Set {
		if y == x {
			return true
		}
	}
	return false
}

// Compare orders two values of one of the key types: S bytewise (UTF-8),
// N numerically, B bytewise. ok is false when the kinds differ or are not
// orderable, where DynamoDB's comparisons are simply false.
func Compare(a, b Value) (c int, ok bool) {
	if a.Kind != b.Kind {
		return 0, false
	}
	switch a.Kind {
	case KindS, KindB:
		return strings.Compare(a.S, b.S), true
	case KindN:
		return compareNumbers(a.S, b.S), true
	}
	return 0, false
}

// compareNumbers orders two canonical number texts without parsing them:
// canonical texts have no exponent, no leading zeros in the integer part
// and no trailing zeros in the fraction, so the integer parts order by
// length then digits, and the fractions by digits.
func compareNumbers(a, b string) int {
	an, bn := strings.HasPrefix(a, "-"), strings.HasPrefix(b, "-")
	switch {
	case an && !bn:
		return -1
	case bn && !an:
		return 1
	case an:
		return -compareMagnitudes(a[1:], b[1:])
	}
	return compareMagnitudes(a, b)
}

func compareMagnitudes(a, b string) int {
	ai, af, _ := strings.Cut(a, ".")
	bi, bf, _ := strings.Cut(b, ".")
	if len(ai) != len(bi) {
		if len(ai) < len(bi) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ai, bi); c != 0 {
		return c
	}
	return strings.Compare(af, bf)
}

// Add returns a + b for numbers, exactly.
func Add(a, b Value) (Value, error) {
	if a.Kind != KindN || b.Kind != KindN {
		return Value{}, &Error{Message: "An operand in the update expression has an incorrect data type"}
	}
	d, err := addDecimal(mustDecimal(a.S), mustDecimal(b.S))
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: KindN, S: d.String()}, nil
}

// Sub returns a - b for numbers, exactly.
func Sub(a, b Value) (Value, error) {
	if b.Kind == KindN {
		nb := mustDecimal(b.S)
		nb.neg = !nb.neg && nb.digits != ""
		b = Value{Kind: KindN, S: nb.String()}
	}
	return Add(a, b)
}

// mustDecimal parses a canonical number text; Values only ever hold
// valid ones.
func mustDecimal(s string) decimal {
	d, err := parseDecimal(s)
	if err != nil {
		panic("attr: invalid number in value: " + s)
	}
	return d
}

// Size is the number of bytes DynamoDB counts for v toward the 400 KB
// item limit: text and bytes by length, a number by its digits, a
// document by its elements plus a few bytes of overhead.
func (v Value) Size() int {
	switch v.Kind {
	case KindS, KindB:
		return len(v.S)
	case KindN:
		return numberSize(v.S)
	case KindBOOL, KindNULL:
		return 1
	case KindM:
		n := 3
		for k, x := range v.M {
			n += len(k) + x.Size() + 1
		}
		return n
	case KindL:
		n := 3
		for _, x := range v.L {
			n += x.Size() + 1
		}
		return n
	case KindSS, KindBS:
		n := 0
		for _, x := range v.Set {
			n += len(x)
		}
		return n
	case KindNS:
		n := 0
		for _, x := range v.Set {
			n += numberSize(x)
		}
		return n
	}
	return 0
}

func numberSize(s string) int {
	d := mustDecimal(s)
	return (len(d.digits)+1)/2 + 1
}

// Size is the item's size as DynamoDB counts it: names plus values.
func (it Item) Size() int {
	n := 0
	for k, v := range it {
		n += len(k) + v.Size()
	}
	return n
}

// Clone returns a shallow copy of it: the values are shared, which is
// safe because values are immutable.
func (it Item) Clone() Item {
	c := make(Item, len(it))
	for k, v := range it {
		c[k] = v
	}
	return c
}
