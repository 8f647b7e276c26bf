// Package expr implements DynamoDB's expression language: condition and
// filter expressions, update expressions, projection expressions and key
// condition expressions, with DynamoDB's validation rules and error texts.
//
// Parsing resolves every #name and :value placeholder, so a parsed
// expression does not depend on its Refs afterwards and may be evaluated
// any number of times, concurrently. Errors are *attr.Error values whose
// Message is DynamoDB's text, meant to be sent as a ValidationException.
package expr

import (
	"slices"
	"strings"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// Refs holds a request's ExpressionAttributeNames and ExpressionAttributeValues and records which
// are used, because DynamoDB refuses a request that defines names or values no expression uses.
// A Refs serves one request: parse all of the request's expressions with it, then call
// CheckUnused. Not safe for concurrent use.
type Refs struct {
	names  map[string]string
	values map[string]attr.Value
	// The placeholders used so far; requests use few, so a list is
	// cheaper than a set.
	usedNames  []string
	usedValues []string
}

// NewRefs returns the Refs of one request. Either map may be nil.
func NewRefs(names map[string]string, values map[string]attr.Value) *Refs {
	return &Refs{names: names, values: values}
}

// name resolves the placeholder #n, marking it used.
func (r *Refs) name(n string) (string, bool) {
	if r == nil {
		return "", false
	}
	s, ok := r.names[n]
	if ok && !slices.Contains(r.usedNames, n) {
		r.usedNames = append(r.usedNames, n)
	}
	return s, ok
}

// value resolves the placeholder :v, marking it used.
func (r *Refs) value(v string) (attr.Value, bool) {
	if r == nil {
		return attr.Value{}, false
	}
	x, ok := r.values[v]
	if ok && !slices.Contains(r.usedValues, v) {
		r.usedValues = append(r.usedValues, v)
	}
	return x, ok
}

// CheckUnused returns DynamoDB's error for names or values that no parsed
// expression used ("Value provided in ExpressionAttributeValues unused in
// expressions: keys: {:x}"), names first, keys sorted; nil when all are used.
func (r *Refs) CheckUnused() error {
	if r == nil {
		return nil
	}
	if keys := unused(r.names, r.usedNames); keys != "" {
		return &attr.Error{Message: "Value provided in ExpressionAttributeNames unused in expressions: keys: {" + keys + "}"}
	}
	if keys := unused(r.values, r.usedValues); keys != "" {
		return &attr.Error{Message: "Value provided in ExpressionAttributeValues unused in expressions: keys: {" + keys + "}"}
	}
	return nil
}

// unused lists, sorted and comma-separated, the keys of defined not in used.
func unused[V any](defined map[string]V, used []string) string {
	if len(used) == len(defined) {
		return ""
	}
	var keys []string
	for k := range defined {
		if !slices.Contains(used, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}
