package dynamolocal

import (
	"strings"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// Items and index entries are kept in B-trees ordered by an encoded key:
// bytes whose plain comparison orders them as DynamoDB orders the key
// values (S and B bytewise, N numerically). Each component is
// self-delimiting, so a partition key followed by a sort key orders by
// partition, then sort key, and all of one partition's items are
// adjacent.

// appendKeyPart appends v's order-preserving, self-delimiting encoding.
func appendKeyPart(b []byte, v attr.Value) []byte {
	if v.Kind == attr.KindN {
		return appendNumberKey(b, v.S)
	}
	// S and B: bytes with 0x00 escaped as 0x00 0xFF, ended by 0x00 0x01,
	// so that a shorter value sorts before its extensions.
	for i := 0; i < len(v.S); i++ {
		c := v.S[i]
		b = append(b, c)
		if c == 0 {
			b = append(b, 0xFF)
		}
	}
	return append(b, 0, 1)
}

// appendNumberKey encodes a canonical decimal text: a class byte
// (negative, zero, positive), the exponent of the first digit as two
// bytes, then the digits and a terminator; for negatives the exponent
// and digits are inverted so that larger magnitudes sort first.
func appendNumberKey(b []byte, text string) []byte {
	neg := strings.HasPrefix(text, "-")
	if neg {
		text = text[1:]
	}
	if text == "0" {
		return append(b, 2)
	}
	digits, exp := numberDigits(text)
	e := uint16(exp + 1000)
	if neg {
		b = append(b, 1, byte(^e>>8), byte(^e))
		for i := 0; i < len(digits); i++ {
			b = append(b, '9'-digits[i]+'0')
		}
		return append(b, 0xFF)
	}
	b = append(b, 3, byte(e>>8), byte(e))
	b = append(b, digits...)
	return append(b, 0)
}

// numberDigits splits a canonical positive decimal text into its
// significant digits and the power of ten of the first one.
func numberDigits(text string) (string, int) {
	intPart, frac, _ := strings.Cut(text, ".")
	if intPart != "0" {
		digits := strings.TrimRight(intPart+frac, "0")
		return digits, len(intPart) - 1
	}
	trimmed := strings.TrimLeft(frac, "0")
	return trimmed, -(len(frac) - len(trimmed)) - 1
}

// encodeKey is the table key of an item or key map: partition key, then
// sort key when the schema has one.
func (s *keySchema) encodeKey(it attr.Item) string {
	b := make([]byte, 0, 48)
	b = appendKeyPart(b, it[s.hash])
	if s.rng != "" {
		b = appendKeyPart(b, it[s.rng])
	}
	return string(b)
}

// encodePartition is the prefix all of one partition's keys share.
func encodePartition(v attr.Value) string { return string(appendKeyPart(nil, v)) }
