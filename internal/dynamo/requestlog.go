package dynamo

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
)

// RequestLog returns one key's records with Time in [q.From, q.To), newest
// first, from the by-key index read backwards. It reads one record past
// the page, so the cursor is "" exactly when nothing is left. Index reads
// are eventually consistent: a record stored a moment ago may be missing.
// Returns EInvalid for a missing key id, a limit out of range or a cursor
// it did not issue.
func (s *UsageStore) RequestLog(ctx context.Context, q convertor.RequestLogQuery) ([]*convertor.UsageRecord, string, error) {
	if q.KeyID == "" || len(q.KeyID) > maxKeyValueLen || !utf8.ValidString(q.KeyID) {
		return nil, "", convertor.ParamErrorf("key_id", "a key id (UTF-8, at most %d bytes) is required", maxKeyValueLen)
	}
	limit, err := convertor.PageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	lo, hi := timeRange(q.From, q.To)
	var start item
	if q.Cursor != "" {
		ts, id, err := decodeCursor(requestLogCursor, q.Cursor)
		if err != nil {
			return nil, "", err
		}
		switch {
		case ts < lo:
			return nil, "", nil // the range has nothing older than the cursor
		case ts <= hi:
			start = item{attrPK: attrS(id), usageKeyID: attrS(q.KeyID), usageTS: attrS(ts)}
		}
		// A cursor newer than the range (the caller narrowed it) starts at
		// its top: DynamoDB refuses a starting key outside the key
		// condition.
	}
	if lo > hi {
		return nil, "", nil
	}
	op := "request log " + q.KeyID
	var recs []*convertor.UsageRecord
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(UsageByKeyIndex),
			KeyConditionExpression:    aws.String("#k = :k AND #ts BETWEEN :lo AND :hi"),
			ExpressionAttributeNames:  map[string]string{"#k": usageKeyID, "#ts": usageTS},
			ExpressionAttributeValues: item{":k": attrS(q.KeyID), ":lo": attrS(lo), ":hi": attrS(hi)},
			ScanIndexForward:          aws.Bool(false),
			ExclusiveStartKey:         start,
			Limit:                     aws.Int32(int32(limit + 1 - len(recs))),
		})
		if err != nil {
			return nil, "", storeError(op, s.table, err)
		}
		for _, it := range out.Items {
			r, err := parseUsage(it)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", op, err)
			}
			recs = append(recs, r)
		}
		if len(recs) > limit || out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	if len(recs) <= limit {
		return recs, "", nil
	}
	recs = recs[:limit]
	last := recs[limit-1]
	return recs, encodeCursor(requestLogCursor, last.Time.UTC().Format(timeLayout), last.ID), nil
}
