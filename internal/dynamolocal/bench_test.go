package dynamolocal

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/truora/minidyn/server"
)

// benchRows is the number of roll-up rows a benchmark transaction updates.
const benchRows = 5

// BenchmarkTransactWriteItems runs the aggregator's kind of transaction on
// tables of 1k and 50k items: "markers" puts 20 new marker items and adds
// to 5 existing rows, "updates" adds to 25 existing rows. It compares
// Handler with minidyn's own TransactWriteItems on the same data.
func BenchmarkTransactWriteItems(b *testing.B) {
	for _, size := range []int{1_000, 50_000} {
		if size > 1_000 && testing.Short() {
			// Putting 50k items into minidyn takes seconds.
			continue
		}
		inner := server.NewServer()
		populate(b, inner, size)
		h := Wrap(inner)
		seq := 0
		for _, bc := range []struct {
			name    string
			h       http.Handler
			markers int
		}{
			{"dynamolocal/markers", h, 20},
			{"dynamolocal/updates", h, 0},
			{"minidyn/markers", inner, 20},
		} {
			b.Run(fmt.Sprintf("items=%d/%s", size, bc.name), func(b *testing.B) {
				next := func() []byte {
					seq++
					return benchTransaction(seq, bc.markers)
				}
				// Checked once before timing: the transaction commits.
				if rec := serveOp(bc.h, "TransactWriteItems", next()); !rec.ok() {
					b.Fatalf("TransactWriteItems() = %d %s", rec.code, rec.body.String())
				}
				b.ReportAllocs()
				for b.Loop() {
					if rec := serveOp(bc.h, "TransactWriteItems", next()); !rec.ok() {
						b.Fatalf("TransactWriteItems() = %d %s", rec.code, rec.body.String())
					}
				}
			})
		}
	}
}

// populate creates the table "stats" keyed by pk and sk and puts n items
// in it, the first 25 of them the rows benchTransaction adds to.
func populate(b *testing.B, h http.Handler, n int) {
	b.Helper()
	create := `{"TableName":"stats","BillingMode":"PAY_PER_REQUEST",` +
		`"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],` +
		`"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}`
	if rec := serveOp(h, "CreateTable", []byte(create)); !rec.ok() {
		b.Fatalf("CreateTable() = %d %s", rec.code, rec.body.String())
	}
	for i := range n {
		put := fmt.Sprintf(`{"TableName":"stats","Item":{"pk":{"S":"row#%06d"},"sk":{"S":"2026-05-01T12#claude"},"requests":{"N":"1"},"cost_micros":{"N":"4200"}}}`, i)
		if rec := serveOp(h, "PutItem", []byte(put)); !rec.ok() {
			b.Fatalf("PutItem() = %d %s", rec.code, rec.body.String())
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
