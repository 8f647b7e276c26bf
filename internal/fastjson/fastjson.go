// Package fastjson decodes and encodes the hot path's JSON (the OpenAI
// request, the Converse request and answer, the chat completion, the usage
// event) with github.com/segmentio/encoding/json, which does without most
// of encoding/json's reflection and allocations, while keeping
// encoding/json's results and errors.
//
// The two agree on values: the fuzz tests of the gateway's types hold
// every input one decodes to decode the same in the other, and every value
// to encode to the same bytes. They differ in errors: segmentio's name
// the rest of the input rather than the JSON type, and report some syntax
// errors as an early end. So a failed decode is done again with
// encoding/json, whose error is the one returned; failures are the
// client's mistakes, rare and cheap next to a request.
package fastjson

import (
	stdjson "encoding/json"

	segjson "github.com/segmentio/encoding/json"
)

// Unmarshal decodes data into *v as encoding/json.Unmarshal does, errors
// included. On an error *v is left as encoding/json leaves it.
func Unmarshal[T any](data []byte, v *T) error {
	if err := segjson.Unmarshal(data, v); err == nil {
		return nil
	}
	// A failed decode may have filled part of *v; start afresh so the
	// result is encoding/json's alone.
	var zero T
	*v = zero
	return stdjson.Unmarshal(data, v)
}

// Marshal encodes v as encoding/json.Marshal does.
func Marshal(v any) ([]byte, error) {
	return segjson.Marshal(v)
}
