package fastjson_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

type inner struct {
	N int    `json:"n"`
	S string `json:"s"`
}

type doc struct {
	A     int               `json:"a"`
	B     string            `json:"b"`
	Items []inner           `json:"items"`
	M     map[string]int    `json:"m"`
	Raw   json.RawMessage   `json:"raw"`
	Any   any               `json:"any"`
	Ptr   *inner            `json:"ptr"`
	Extra map[string]string `json:"-"`
}

// TestUnmarshal_AsEncodingJSON: values and errors are encoding/json's,
// for inputs that decode and for each kind of failure, including those
// where encoding/json keeps the fields it decoded before the error.
func TestUnmarshal_AsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"a":1,"b":"x","items":[{"n":1,"s":"y"},{"n":2}],"m":{"k":3},"raw":{"z":[1, 2]},"any":[1,"2",{"3":null}],"ptr":{"n":4}}`,
		`{"A":1,"B":"case-insensitive","a":2}`,
		`{"a":"not a number","b":"kept","items":[{"n":"x","s":"kept too"}]}`,
		`{"items":[{"n":1},{"n":true}],"b":"after"}`,
		`{"a":1,}`,
		`{"a":1`,
		`[1,2]`,
		`{"a":1e400}`,
		`{"b":"\ud800 lone surrogate", "a": 1.0}`,
		`{"a":1} trailing`,
		``,
	} {
		var fast, std doc
		errFast := fastjson.Unmarshal([]byte(in), &fast)
		errStd := json.Unmarshal([]byte(in), &std)
		if (errFast == nil) != (errStd == nil) || (errStd != nil && errFast.Error() != errStd.Error()) {
			t.Errorf("Unmarshal(%q) error = %v, encoding/json's = %v", in, errFast, errStd)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("Unmarshal(%q) =\n  %+v\nencoding/json gives\n  %+v", in, fast, std)
		}
	}
}

// TestMarshal_AsEncodingJSON: encodings are encoding/json's byte for byte,
// HTML escaping and MarshalJSON output compacting included.
func TestMarshal_AsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, v := range []any{
		doc{A: 1, B: "<b>&amp;</b> \u2028 é \x7f", Items: []inner{{N: 1}}, M: map[string]int{"b": 2, "a": 1}, Raw: json.RawMessage(`{ "spaced" : [ 1 , 2 ] }`), Any: []any{1.5, "x", nil}},
		doc{},
		map[string]any{"z": 1, "a": []byte("bytes"), "f": 1e21, "g": 0.000001},
	} {
		fast, errFast := fastjson.Marshal(v)
		std, errStd := json.Marshal(v)
		if errFast != nil || errStd != nil || string(fast) != string(std) {
			t.Errorf("Marshal(%+v) =\n  %s (%v)\nencoding/json gives\n  %s (%v)", v, fast, errFast, std, errStd)
		}
	}
}
