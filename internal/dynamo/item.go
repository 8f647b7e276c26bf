package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// timeLayout stores instants as fixed-width UTC strings, so that string
// order is time order in condition expressions and the items stay readable
// in table browsers.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// item is one DynamoDB item being read or written.
type item map[string]types.AttributeValue

func attrS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func attrN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func attrTime(t time.Time) types.AttributeValue { return attrS(t.UTC().Format(timeLayout)) }

// setS sets a string attribute, leaving it out when empty: DynamoDB
// refuses empty strings in key attributes and they carry nothing elsewhere.
func (it item) setS(name, v string) {
	if v != "" {
		it[name] = attrS(v)
	}
}

func (it item) setN(name string, v int64) {
	if v != 0 {
		it[name] = attrN(v)
	}
}

func (it item) setTime(name string, t time.Time) {
	if !t.IsZero() {
		it[name] = attrTime(t)
	}
}

func (it item) setStrings(name string, v []string) {
	if len(v) == 0 {
		return
	}
	// A list, not a string set: sets cannot be empty and lose the order
	// the operator gave.
	l := make([]types.AttributeValue, len(v))
	for i, e := range v {
		l[i] = attrS(e)
	}
	it[name] = &types.AttributeValueMemberL{Value: l}
}

func (it item) str(name string) (string, error) {
	switch v := it[name].(type) {
	case nil:
		return "", nil
	case *types.AttributeValueMemberS:
		return v.Value, nil
	default:
		return "", fmt.Errorf("attribute %s: want a string, have %T", name, v)
	}
}

func (it item) num(name string) (int64, error) {
	switch v := it[name].(type) {
	case nil:
		return 0, nil
	case *types.AttributeValueMemberN:
		i, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("attribute %s: %w", name, err)
		}
		return i, nil
	default:
		return 0, fmt.Errorf("attribute %s: want a number, have %T", name, v)
	}
}

func (it item) boolean(name string) (bool, error) {
	switch v := it[name].(type) {
	case nil:
		return false, nil
	case *types.AttributeValueMemberBOOL:
		return v.Value, nil
	default:
		return false, fmt.Errorf("attribute %s: want a boolean, have %T", name, v)
	}
}

func (it item) time(name string) (time.Time, error) {
	v, err := it.str(name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", name, err)
	}
	return t, nil
}

func (it item) strings(name string) ([]string, error) {
	switch v := it[name].(type) {
	case nil:
		return nil, nil
	case *types.AttributeValueMemberL:
		out := make([]string, len(v.Value))
		for i, e := range v.Value {
			es, ok := e.(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("attribute %s[%d]: want a string, have %T", name, i, e)
			}
			out[i] = es.Value
		}
		return out, nil
	default:
		return nil, fmt.Errorf("attribute %s: want a list, have %T", name, v)
	}
}
