package dynamolocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustDo(t *testing.T, h *Handler, op, body string) map[string]any {
	t.Helper()
	out, err := h.Do(op, []byte(body))
	if err != nil {
		t.Fatalf("%s(%s) = %v", op, body, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s answer %s: %v", op, out, err)
	}
	return m
}

func errType(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.typ
	}
	return ""
}

// TestHandler_TTLExpiresItems checks that items past the epoch second in
// their TTL attribute are deleted, index entries with them, while
// unexpired items and items without the attribute stay.
func TestHandler_TTLExpiresItems(t *testing.T) {
	h := NewHandler()
	now := time.Unix(1_800_000_000, 0)
	h.now = func() time.Time { return now }
	mustDo(t, h, "CreateTable", `{"TableName":"ttl","BillingMode":"PAY_PER_REQUEST",
		"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"g","AttributeType":"S"}],
		"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
		"GlobalSecondaryIndexes":[{"IndexName":"by-g","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}`)
	mustDo(t, h, "UpdateTimeToLive", `{"TableName":"ttl","TimeToLiveSpecification":{"AttributeName":"exp","Enabled":true}}`)
	for i := range 10 {
		mustDo(t, h, "PutItem", fmt.Sprintf(`{"TableName":"ttl","Item":{"pk":{"S":"p%d"},"g":{"S":"g"},"exp":{"N":"%d"}}}`, i, 1_800_000_000+i*10))
	}
	mustDo(t, h, "PutItem", `{"TableName":"ttl","Item":{"pk":{"S":"keep"},"g":{"S":"g"}}}`)
	mustDo(t, h, "PutItem", `{"TableName":"ttl","Item":{"pk":{"S":"text"},"g":{"S":"g"},"exp":{"S":"1"}}}`)
	desc := mustDo(t, h, "DescribeTimeToLive", `{"TableName":"ttl"}`)
	if got := desc["TimeToLiveDescription"].(map[string]any)["TimeToLiveStatus"]; got != "ENABLED" {
		t.Fatalf("TimeToLiveStatus = %v", got)
	}

	now = now.Add(45 * time.Second) // p0..p4 expired (0, 10, 20, 30, 40 < 45)
	mustDo(t, h, "PutItem", `{"TableName":"ttl","Item":{"pk":{"S":"trigger"},"g":{"S":"h"}}}`)
	q := mustDo(t, h, "Query", `{"TableName":"ttl","IndexName":"by-g","KeyConditionExpression":"g = :g","ExpressionAttributeValues":{":g":{"S":"g"}}}`)
	var got []string
	for _, it := range q["Items"].([]any) {
		got = append(got, it.(map[string]any)["pk"].(map[string]any)["S"].(string))
	}
	want := "keep p5 p6 p7 p8 p9 text"
	if strings.Join(sorted(got), " ") != want {
		t.Errorf("items left = %v, want %s", sorted(got), want)
	}
	d := mustDo(t, h, "DescribeTable", `{"TableName":"ttl"}`)["Table"].(map[string]any)
	if d["ItemCount"].(float64) != 8 {
		t.Errorf("ItemCount = %v, want 8", d["ItemCount"])
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestHandler_Errors checks the answers to requests that are not
// operations at all.
func TestHandler_Errors(t *testing.T) {
	h := NewHandler()
	for _, c := range []struct {
		op, body, want string
	}{
		{"Nope", `{}`, "UnknownOperationException"},
		{"PutItem", `{"TableName":`, "SerializationException"},
		{"PutItem", `{"TableName":5}`, "SerializationException"},
		{"PutItem", `{"TableName":"missing","Item":{"pk":{"S":"a"}}}`, "ResourceNotFoundException"},
		{"PutItem", `{"TableName":"missing","Item":{"pk":{"N":"x"}}}`, "ValidationException"},
		{"GetItem", `{"TableName":"x"}`, "ValidationException"},
	} {
		_, err := h.Do(c.op, []byte(c.body))
		if errType(err) != c.want {
			t.Errorf("%s(%s) = %v, want %s", c.op, c.body, err, c.want)
		}
	}
}

// TestHandler_Snapshot checks that a snapshot keeps the items of its
// moment while the table goes on changing.
func TestHandler_Snapshot(t *testing.T) {
	h := NewHandler()
	mustDo(t, h, "CreateTable", `{"TableName":"snap","BillingMode":"PAY_PER_REQUEST",
		"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}`)
	for i := range 300 {
		mustDo(t, h, "PutItem", fmt.Sprintf(`{"TableName":"snap","Item":{"pk":{"N":"%d"},"v":{"S":"old"}}}`, i))
	}
	s := h.Snapshot()
	for i := range 300 {
		mustDo(t, h, "PutItem", fmt.Sprintf(`{"TableName":"snap","Item":{"pk":{"N":"%d"},"v":{"S":"new"}}}`, i))
		mustDo(t, h, "PutItem", fmt.Sprintf(`{"TableName":"snap","Item":{"pk":{"N":"%d"},"v":{"S":"added"}}}`, 1000+i))
	}
	mustDo(t, h, "DeleteItem", `{"TableName":"snap","Key":{"pk":{"N":"7"}}}`)
	if got := s.Tables(); len(got) != 1 || got[0] != "snap" {
		t.Fatalf("Tables() = %v", got)
	}
	n := 0
	s.Items("snap", func(raw []byte) bool {
		it := decode(raw)
		if it["v"].S != "old" || it["pk"].S != fmt.Sprint(n) {
			t.Fatalf("item %d = %v, want pk %d with v old", n, it, n)
		}
		n++
		return true
	})
	if n != 300 {
		t.Errorf("snapshot has %d items, want 300", n)
	}
}

// TestHandler_TokensExpire checks that a ClientRequestToken makes its
// transaction idempotent for ten minutes and is free again after.
func TestHandler_TokensExpire(t *testing.T) {
	h := NewHandler()
	now := time.Unix(1_800_000_000, 0)
	h.now = func() time.Time { return now }
	mustDo(t, h, "CreateTable", `{"TableName":"tok","BillingMode":"PAY_PER_REQUEST",
		"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}`)
	add := func(token string, n int) error {
		_, err := h.Do("TransactWriteItems", fmt.Appendf(nil, `{"TransactItems":[{"Update":{"TableName":"tok","Key":{"pk":{"S":"c"}},
			"UpdateExpression":"ADD n :n","ExpressionAttributeValues":{":n":{"N":"%d"}}}}],"ClientRequestToken":"%s"}`, n, token))
		return err
	}
	for _, step := range []struct {
		advance time.Duration
		token   string
		n       int
		wantErr string
	}{
		{0, "a", 1, ""},
		{time.Minute, "a", 1, ""}, // replayed: not applied again
		{time.Minute, "a", 2, "IdempotentParameterMismatchException"},
		{time.Minute, "b", 10, ""},
		{9 * time.Minute, "a", 2, ""}, // a is 11 minutes old: a new request
		{0, "b", 10, ""},              // b is 10 minutes old: still a replay
	} {
		now = now.Add(step.advance)
		if err := add(step.token, step.n); errType(err) != step.wantErr {
			t.Fatalf("token %s, n %d: error %v, want %q", step.token, step.n, err, step.wantErr)
		}
	}
	got := mustDo(t, h, "GetItem", `{"TableName":"tok","Key":{"pk":{"S":"c"}}}`)
	if n := got["Item"].(map[string]any)["n"].(map[string]any)["N"]; n != "13" {
		t.Errorf("n = %v, want 13 (1 + 10 + 2)", n)
	}
}
