package dynamolocal

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// TestKeyEncoding_Order checks that encoded keys order exactly as
// attr.Compare orders the values, for numbers of every sign and scale
// and for strings with zero bytes and shared prefixes.
func TestKeyEncoding_Order(t *testing.T) {
	nums := []string{"0", "1", "-1", "10", "9", "-10", "-9", "0.5", "-0.5", "0.05", "1.5", "1.51",
		"-1.5", "-1.51", "100", "99.99", "1e125", "-1e125", "1e-130", "-1e-130", "123456789.123456789"}
	var vals []attr.Value
	for _, n := range nums {
		vals = append(vals, attr.MustNumber(n))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		vals = append(vals, attr.MustNumber(randomNumber(r)))
	}
	checkOrder(t, vals)

	strs := []attr.Value{attr.String(""), attr.String("a"), attr.String("a\x00"), attr.String("a\x00b"),
		attr.String("a\x01"), attr.String("ab"), attr.String("b"), attr.String("\xff")}
	for range 300 {
		b := make([]byte, r.IntN(4))
		for i := range b {
			b[i] = byte(r.IntN(3))
		}
		strs = append(strs, attr.Binary(b))
	}
	checkOrder(t, strs[:8])
	checkOrder(t, strs[8:])
}

func randomNumber(r *rand.Rand) string {
	digits := []byte{byte('1' + r.IntN(9))}
	for range r.IntN(6) {
		digits = append(digits, byte('0'+r.IntN(10)))
	}
	s := string(digits) + "e" + string(rune('0'+r.IntN(5)))
	if r.IntN(2) == 0 {
		s = "-" + s
	}
	if r.IntN(3) == 0 {
		s = s[:len(s)-2] + "e-" + s[len(s)-1:]
	}
	return s
}

func checkOrder(t *testing.T, vals []attr.Value) {
	t.Helper()
	for _, a := range vals {
		for _, b := range vals {
			want, _ := attr.Compare(a, b)
			ka, kb := appendKeyPart(nil, a), appendKeyPart(nil, b)
			if got := bytes.Compare(ka, kb); got != want {
				t.Fatalf("order of %q, %q: encoded %d, values %d", a.S, b.S, got, want)
			}
			// Composite keys: a partition key followed by anything sorts
			// by the partition key first.
			ca := append(slices.Clone(ka), 0xFF)
			cb := append(slices.Clone(kb), 0x00)
			if want != 0 && bytes.Compare(ca, cb) != want {
				t.Fatalf("composite order of %q, %q broken", a.S, b.S)
			}
		}
	}
}
