package dynamolocal

import (
	"errors"
	"net/http"
	"testing"
)

// fuzzOps are the operations FuzzHandler sends bodies to.
var fuzzOps = []string{"CreateTable", "DeleteTable", "DescribeTable", "ListTables", "UpdateTable",
	"UpdateTimeToLive", "DescribeTimeToLive", "PutItem", "GetItem", "DeleteItem", "UpdateItem",
	"Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems"}

// FuzzHandler sends arbitrary bodies to every operation of a handler that
// has tables with indexes and items: nothing may panic, and every refusal
// must be a client error DynamoDB's way, never a server error.
func FuzzHandler(f *testing.F) {
	seeds := []string{
		`{"TableName":"fuzz","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"x"}}}`,
		`{"TableName":"fuzz","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"UpdateExpression":"SET #a = :v, l[0] = :v ADD n :one","ExpressionAttributeNames":{"#a":"a"},"ExpressionAttributeValues":{":v":{"L":[{"S":"x"}]},":one":{"N":"1"}}}`,
		`{"TableName":"fuzz","KeyConditionExpression":"pk = :p AND sk BETWEEN :a AND :b","ExpressionAttributeValues":{":p":{"S":"a"},":a":{"N":"0"},":b":{"N":"9"}},"Limit":1,"ScanIndexForward":false}`,
		`{"TableName":"fuzz","IndexName":"by-g","KeyConditionExpression":"g = :g","FilterExpression":"size(l) > :n","ExpressionAttributeValues":{":g":{"S":"x"},":n":{"N":"0"}},"ExclusiveStartKey":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"x"}}}`,
		`{"TableName":"fuzz","Segment":0,"TotalSegments":2,"ProjectionExpression":"pk, l[0], m.x"}`,
		`{"TransactItems":[{"Put":{"TableName":"fuzz","Item":{"pk":{"S":"b"},"sk":{"N":"2"}},"ConditionExpression":"attribute_not_exists(pk)"}},{"Update":{"TableName":"fuzz","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"UpdateExpression":"REMOVE a"}}],"ClientRequestToken":"t"}`,
		`{"RequestItems":{"fuzz":[{"PutRequest":{"Item":{"pk":{"S":"c"},"sk":{"N":"3"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}}]}}`,
		`{"RequestItems":{"fuzz":{"Keys":[{"pk":{"S":"a"},"sk":{"N":"1"}}],"ProjectionExpression":"pk"}}}`,
		`{"TableName":"fuzz","GlobalSecondaryIndexUpdates":[{"Create":{"IndexName":"by-h","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}}],"AttributeDefinitions":[{"AttributeName":"g","AttributeType":"S"}]}`,
		`{"TableName":"fuzz2","AttributeDefinitions":[{"AttributeName":"k","AttributeType":"B"}],"KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}`,
		`{"TableName":"fuzz","TimeToLiveSpecification":{"AttributeName":"exp","Enabled":true}}`,
		`{}`, `null`, `[]`, `{"TableName":null}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		h := NewHandler()
		setup := []string{
			`{"TableName":"fuzz","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},{"AttributeName":"g","AttributeType":"S"},{"AttributeName":"l2","AttributeType":"S"}],` +
				`"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],` +
				`"GlobalSecondaryIndexes":[{"IndexName":"by-g","KeySchema":[{"AttributeName":"g","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"Projection":{"ProjectionType":"INCLUDE","NonKeyAttributes":["l"]}}],` +
				`"LocalSecondaryIndexes":[{"IndexName":"by-l2","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"l2","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}`,
		}
		if _, err := h.Do("CreateTable", []byte(setup[0])); err != nil {
			t.Fatal(err)
		}
		for _, it := range []string{
			`{"TableName":"fuzz","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"x"},"l":{"L":[{"N":"1"},{"S":"y"}]},"m":{"M":{"x":{"SS":["p","q"]}}},"l2":{"S":"z"}}}`,
			`{"TableName":"fuzz","Item":{"pk":{"S":"a"},"sk":{"N":"-2.5"},"g":{"S":"x"},"n":{"N":"7"},"b":{"B":"AAE="}}}`,
		} {
			if _, err := h.Do("PutItem", []byte(it)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := h.Do(fuzzOps[int(op)%len(fuzzOps)], body)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			t.Fatalf("error %v is not an API error", err)
		}
		if ae.status >= http.StatusInternalServerError {
			t.Fatalf("%s: server error %d %s: %s", fuzzOps[int(op)%len(fuzzOps)], ae.status, ae.typ, ae.msg)
		}
	})
}
