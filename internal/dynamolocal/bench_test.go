package dynamolocal

import (
	"fmt"
	"testing"
)

// BenchmarkTransactWriteItems runs the aggregator's kind of transaction on
// tables of 1k and 200k items: "markers" puts 20 new marker items and
// adds to 5 existing rows, "updates" adds to 25 existing rows. Their cost
// must not grow with the table: writes are O(log n).
func BenchmarkTransactWriteItems(b *testing.B) {
	for _, size := range []int{1_000, 200_000} {
		h := NewHandler()
		populate(b, h, size)
		seq := 0
		for _, bc := range []struct {
			name    string
			markers int
		}{{"markers", 20}, {"updates", 0}} {
			b.Run(fmt.Sprintf("items=%d/%s", size, bc.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					seq++
					if _, err := h.Do("TransactWriteItems", benchTransaction(seq, bc.markers)); err != nil {
						b.Fatalf("TransactWriteItems() = %v", err)
					}
				}
			})
		}
	}
}

// BenchmarkPutItem puts new items, with a by-time index, into tables of
// 1k and 200k items.
func BenchmarkPutItem(b *testing.B) {
	for _, size := range []int{1_000, 200_000} {
		h := NewHandler()
		populate(b, h, size)
		b.Run(fmt.Sprintf("items=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				put := fmt.Sprintf(`{"TableName":"stats","Item":{"pk":{"S":"new#%09d"},"sk":{"S":"x"},"hour":{"S":"2026-05-01T12"},"ts":{"N":"%d"},"cost_micros":{"N":"4200"}},"ConditionExpression":"attribute_not_exists(pk)"}`, i, i)
				if _, err := h.Do("PutItem", []byte(put)); err != nil {
					b.Fatalf("PutItem() = %v", err)
				}
			}
		})
	}
}

// populate creates the table "stats" keyed by pk and sk, with an index
// by hour and time, and puts n items in it, the first 25 of them the rows
// benchTransaction adds to.
func populate(b *testing.B, h *Handler, n int) {
	b.Helper()
	create := `{"TableName":"stats","BillingMode":"PAY_PER_REQUEST",` +
		`"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"},` +
		`{"AttributeName":"hour","AttributeType":"S"},{"AttributeName":"ts","AttributeType":"N"}],` +
		`"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],` +
		`"GlobalSecondaryIndexes":[{"IndexName":"by-hour","KeySchema":[{"AttributeName":"hour","KeyType":"HASH"},{"AttributeName":"ts","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}]}`
	if _, err := h.Do("CreateTable", []byte(create)); err != nil {
		b.Fatalf("CreateTable() = %v", err)
	}
	for i := range n {
		put := fmt.Sprintf(`{"TableName":"stats","Item":{"pk":{"S":"row#%06d"},"sk":{"S":"2026-05-01T12#claude"},"hour":{"S":"2026-05-01T12"},"ts":{"N":"%d"},"requests":{"N":"1"},"cost_micros":{"N":"4200"}}}`, i, i)
		if _, err := h.Do("PutItem", []byte(put)); err != nil {
			b.Fatalf("PutItem() = %v", err)
		}
	}
}

// benchTransaction is transaction seq: markers new marker puts, then
// updates of existing rows up to 25 items.
func benchTransaction(seq, markers int) []byte {
	body := []byte(`{"TransactItems":[`)
	for i := range markers {
		body = fmt.Appendf(body, `{"Put":{"TableName":"stats","Item":{"pk":{"S":"applied#%09d-%02d"},"sk":{"S":"-"},"expires_at":{"N":"1780000000"}},"ConditionExpression":"attribute_not_exists(pk)"}},`, seq, i)
	}
	for i := range 25 - markers {
		body = fmt.Appendf(body, `{"Update":{"TableName":"stats","Key":{"pk":{"S":"row#%06d"},"sk":{"S":"2026-05-01T12#claude"}},`+
			`"UpdateExpression":"ADD requests :one, cost_micros :cost","ExpressionAttributeValues":{":one":{"N":"1"},":cost":{"N":"4200"}}}},`, i)
	}
	body[len(body)-1] = ']'
	return fmt.Appendf(body, `,"ClientRequestToken":"bench-%d"}`, seq)
}
