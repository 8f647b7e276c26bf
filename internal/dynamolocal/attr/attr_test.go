package attr

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestNumber_Canonical(t *testing.T) {
	for in, want := range map[string]string{
		"1.50": "1.5", "01": "1", "-0": "0", "0.000": "0", "1e2": "100", "1E+2": "100",
		"-1.25e-3": "-0.00125", "+7": "7", ".5": "0.5", "5.": "5", "123.456": "123.456",
		"99999999999999999999999999999999999999": "99999999999999999999999999999999999999",
		"1e125":                                  "1" + zeros(125), "1e-130": "0." + zeros(129) + "1",
	} {
		v, err := Number(in)
		if err != nil {
			t.Errorf("Number(%q) error %v", in, err)
			continue
		}
		if v.S != want {
			t.Errorf("Number(%q) = %q, want %q", in, v.S, want)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func TestNumber_Invalid(t *testing.T) {
	for in, want := range map[string]string{
		"":       "The parameter cannot be converted to a numeric value",
		"abc":    "The parameter cannot be converted to a numeric value: abc",
		"1e":     "The parameter cannot be converted to a numeric value: 1e",
		"1.2.3":  "The parameter cannot be converted to a numeric value: 1.2.3",
		"1e126":  "Number overflow. Attempting to store a number with magnitude larger than supported range",
		"1e-131": "Number underflow. Attempting to store a number with magnitude smaller than supported range",
		"123456789012345678901234567890123456789": "Attempting to store more than 38 significant digits in a Number",
	} {
		_, err := Number(in)
		if err == nil || err.Error() != want {
			t.Errorf("Number(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestCompare(t *testing.T) {
	n := MustNumber
	for _, c := range []struct {
		a, b Value
		want int
		ok   bool
	}{
		{n("9"), n("10"), -1, true},
		{n("-10"), n("-9"), -1, true},
		{n("0.001"), n("0.01"), -1, true},
		{n("1.5"), n("1.50"), 0, true},
		{n("-1"), n("0"), -1, true},
		{n("100"), n("99.99"), 1, true},
		{String("a"), String("b"), -1, true},
		{String("Z"), String("a"), -1, true},
		{Binary([]byte{1}), Binary([]byte{0, 2}), 1, true},
		{String("1"), n("1"), 0, false},
		{Bool(true), Bool(true), 0, false},
	} {
		got, ok := Compare(c.a, c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("Compare(%v, %v) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

func TestAdd(t *testing.T) {
	for _, c := range [][3]string{
		{"1", "2", "3"}, {"0.1", "0.2", "0.3"}, {"-5", "3", "-2"}, {"1.5", "-1.5", "0"},
		{"1e20", "1", "100000000000000000001"}, {"123.456", "0.0004", "123.4564"},
	} {
		got, err := Add(MustNumber(c[0]), MustNumber(c[1]))
		if err != nil || got.S != c[2] {
			t.Errorf("Add(%s, %s) = %q, %v; want %s", c[0], c[1], got.S, err, c[2])
		}
	}
	got, err := Sub(MustNumber("1"), MustNumber("3"))
	if err != nil || got.S != "-2" {
		t.Errorf("Sub(1, 3) = %q, %v", got.S, err)
	}
	if _, err := Add(MustNumber("1e37"), MustNumber("1e-10")); err == nil {
		t.Error("Add beyond 38 digits succeeded")
	}
	if _, err := Add(String("a"), MustNumber("1")); err == nil {
		t.Error("Add(S, N) succeeded")
	}
}

func TestValue_JSONRoundTrip(t *testing.T) {
	in := `{"a":{"S":"x\"\n"},"b":{"N":"1.50"},"c":{"B":"AAEC"},"d":{"BOOL":false},"e":{"NULL":true},` +
		`"f":{"M":{"g":{"L":[{"N":"2"},{"S":""}]}}},"h":{"SS":["y","x"]},"i":{"NS":["10","9"]},"j":{"BS":["AQ==","AA=="]}}`
	var it Item
	if err := json.Unmarshal([]byte(in), &it); err != nil {
		t.Fatal(err)
	}
	got := string(AppendItem(nil, it))
	want := `{"a":{"S":"x\"\n"},"b":{"N":"1.5"},"c":{"B":"AAEC"},"d":{"BOOL":false},"e":{"NULL":true},` +
		`"f":{"M":{"g":{"L":[{"N":"2"},{"S":""}]}}},"h":{"SS":["x","y"]},"i":{"NS":["9","10"]},"j":{"BS":["AA==","AQ=="]}}`
	if got != want {
		t.Errorf("round trip:\n got %s\nwant %s", got, want)
	}
	var again Item
	if err := json.Unmarshal([]byte(got), &again); err != nil {
		t.Fatal(err)
	}
	for k, v := range it {
		if !v.Equal(again[k]) {
			t.Errorf("%s: %v != %v", k, v, again[k])
		}
	}
}

func TestValue_UnmarshalInvalid(t *testing.T) {
	for in, want := range map[string]string{
		`{}`:                        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
		`{"S":"a","N":"1"}`:         "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
		`{"NULL":false}`:            "One or more parameter values were invalid: Null attribute value types must have the value of true",
		`{"SS":[]}`:                 "One or more parameter values were invalid: An string set  may not be empty",
		`{"NS":["1","1.0"]}`:        "Input collection contains duplicates",
		`{"SS":["a","a"]}`:          "One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
		`{"N":"x"}`:                 "The parameter cannot be converted to a numeric value: x",
		`{"M":{"a":{"N":"1e200"}}}`: "Number overflow. Attempting to store a number with magnitude larger than supported range",
		`{"L":[{}]}`:                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
		`{"S":5}`:                   "Supplied AttributeValue of type S is malformed",
		`{"Q":"1"}`:                 "Supplied AttributeValue has an unknown datatype: Q",
	} {
		var v Value
		err := json.Unmarshal([]byte(in), &v)
		if err == nil || err.Error() != want {
			t.Errorf("Unmarshal(%s) error = %v, want %q", in, err, want)
		}
	}
}

func TestValue_Equal(t *testing.T) {
	a := Value{Kind: KindSS, Set: []string{"a", "b"}}
	b := Value{Kind: KindSS, Set: []string{"b", "a"}}
	if !a.Equal(b) {
		t.Error("sets in other order differ")
	}
	if MustNumber("1").Equal(String("1")) {
		t.Error("N equals S")
	}
	m1 := Value{Kind: KindM, M: map[string]Value{"x": MustNumber("1")}}
	m2 := Value{Kind: KindM, M: map[string]Value{"x": MustNumber("1.0")}}
	if !m1.Equal(m2) {
		t.Error("equal maps differ")
	}
}

// FuzzValueJSON feeds arbitrary bytes to the value reader: it must never
// panic, and whatever it accepts must survive a write and a second read
// unchanged.
func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{`{"S":"a\u00e9\ud83d\ude00"}`, `{"N":"-1.5e3"}`, `{"B":"AAE="}`, `{"BOOL":true}`,
		`{"NULL":true}`, `{"M":{"a":{"L":[{"N":"1"},{"SS":["x","y"]}]}}}`, `{"NS":["1","2"]}`, `{"BS":["AA=="]}`, `{}`, `{"S":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Value
		if v.UnmarshalJSON(data) != nil {
			return
		}
		out := v.AppendJSON(nil)
		var again Value
		if err := again.UnmarshalJSON(out); err != nil {
			t.Fatalf("re-read of %s: %v", out, err)
		}
		if !v.Equal(again) {
			t.Fatalf("%s read back as %s", out, again.AppendJSON(nil))
		}
	})
}

// TestCompare_MatchesDecimal checks the text comparison of numbers against
// the parsed one over many random numbers.
func TestCompare_MatchesDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var nums []Value
	for range 400 {
		digits := []byte{byte('1' + r.IntN(9))}
		for range r.IntN(8) {
			digits = append(digits, byte('0'+r.IntN(10)))
		}
		s := string(digits) + "e" + strconv.Itoa(r.IntN(20)-10)
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		nums = append(nums, MustNumber(s))
	}
	nums = append(nums, MustNumber("0"))
	for _, a := range nums {
		for _, b := range nums {
			got, _ := Compare(a, b)
			want := mustDecimal(a.S).cmp(mustDecimal(b.S))
			if got != want {
				t.Fatalf("Compare(%s, %s) = %d, want %d", a.S, b.S, got, want)
			}
		}
	}
}
