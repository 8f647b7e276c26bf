package attr

import (
	"math/big"
	"strings"
)

// DynamoDB's limits on numbers: 38 significant digits, and a magnitude
// between 1E-130 and 9.99…E+125.
const (
	maxDigits   = 38
	maxExponent = 125
	minExponent = -130
)

// decimal is a number as DynamoDB keeps it: sign × 0.digits × 10^exp
// would be one reading; here digits holds the significant digits without
// leading or trailing zeros and exp is the power of ten of the first
// digit, so 1.5 is {digits "15", exp 0} and 0.015 is {"15", -2}. Zero has
// no digits.
type decimal struct {
	neg    bool
	digits string
	exp    int
}

// parseDecimal reads the forms DynamoDB accepts: an optional sign, digits
// with an optional point, and an optional exponent.
func parseDecimal(s string) (decimal, *Error) {
	bad := func() (decimal, *Error) {
		if s == "" {
			return decimal{}, &Error{Message: "The parameter cannot be converted to a numeric value"}
		}
		return decimal{}, &Error{Message: "The parameter cannot be converted to a numeric value: " + s}
	}
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	var mant strings.Builder
	point := -1
	seen := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mant.WriteByte(c)
			seen = true
		case c == '.' && point < 0:
			point = mant.Len()
		default:
			goto exponent
		}
	}
exponent:
	if !seen {
		return bad()
	}
	e := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return bad()
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return bad()
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return bad()
			}
			if e < 1_000_000 {
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
	}
	m := mant.String()
	if point < 0 {
		point = len(m)
	}
	// Strip leading zeros, moving the point with them.
	lead := 0
	for lead < len(m) && m[lead] == '0' {
		lead++
	}
	m = m[lead:]
	point -= lead
	m = strings.TrimRight(m, "0")
	if m == "" {
		return decimal{}, nil
	}
	d.digits = m
	d.exp = point - 1 + e
	if d.exp > maxExponent {
		return decimal{}, &Error{Message: "Number overflow. Attempting to store a number with magnitude larger than supported range"}
	}
	if d.exp < minExponent {
		return decimal{}, &Error{Message: "Number underflow. Attempting to store a number with magnitude smaller than supported range"}
	}
	if len(d.digits) > maxDigits {
		return decimal{}, &Error{Message: "Attempting to store more than 38 significant digits in a Number"}
	}
	return d, nil
}

// String is the plain notation DynamoDB answers with: no exponent, no
// superfluous zeros.
func (d decimal) String() string {
	if d.digits == "" {
		return "0"
	}
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	switch {
	case d.exp < 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -d.exp-1))
		b.WriteString(d.digits)
	case d.exp+1 >= len(d.digits):
		b.WriteString(d.digits)
		b.WriteString(strings.Repeat("0", d.exp+1-len(d.digits)))
	default:
		b.WriteString(d.digits[:d.exp+1])
		b.WriteByte('.')
		b.WriteString(d.digits[d.exp+1:])
	}
	return b.String()
}

// cmp orders d and e numerically.
func (d decimal) cmp(e decimal) int {
	ds, es := d.sign(), e.sign()
	if ds != es {
		if ds < es {
			return -1
		}
		return 1
	}
	if ds == 0 {
		return 0
	}
	c := 0
	switch {
	case d.exp != e.exp:
		c = 1
		if d.exp < e.exp {
			c = -1
		}
	default:
		c = strings.Compare(d.digits, e.digits)
	}
	return c * ds
}

func (d decimal) sign() int {
	switch {
	case d.digits == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// scaled returns d as an integer times 10^scale, with scale the power of
// its last digit.
func (d decimal) scaled() (*big.Int, int) {
	if d.digits == "" {
		return new(big.Int), 0
	}
	n, _ := new(big.Int).SetString(d.digits, 10)
	if d.neg {
		n.Neg(n)
	}
	return n, d.exp - len(d.digits) + 1
}

// addDecimal is d + e exactly, refused when the result needs more digits
// or range than DynamoDB keeps.
func addDecimal(d, e decimal) (decimal, *Error) {
	a, as := d.scaled()
	b, bs := e.scaled()
	scale := min(as, bs)
	ten := big.NewInt(10)
	if as > scale {
		a.Mul(a, new(big.Int).Exp(ten, big.NewInt(int64(as-scale)), nil))
	}
	if bs > scale {
		b.Mul(b, new(big.Int).Exp(ten, big.NewInt(int64(bs-scale)), nil))
	}
	sum := a.Add(a, b)
	text := sum.String()
	if scale != 0 {
		text += "e" + itoa(scale)
	}
	return parseDecimal(text)
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
