package conformance

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// testScan covers Scan: paging, filters, counting and parallel segments.
func testScan(t *testing.T, s *suite) {
	t.Run("PagingFilterSegments", func(t *testing.T) {
		t.Parallel()
		table := s.rangeTable(t, types.ScalarAttributeTypeN)
		var all []item
		for i := 0; i < 40; i++ {
			it := item{"pk": str(fmt.Sprint("p", i%7)), "sk": ni(i), "mod3": ni(i % 3)}
			s.put(t, table, it)
			all = append(all, it)
		}
		want := renderSorted(all)

		out, err := s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatalf("Scan() error = %v", err)
		}
		wantItems(t, "Scan() items", renderSorted(out.Items), want)
		if out.Count != 40 || out.ScannedCount != 40 || out.LastEvaluatedKey != nil {
			t.Errorf("Scan() Count, ScannedCount, LastEvaluatedKey = %d, %d, %v, want 40, 40, nil", out.Count, out.ScannedCount, render(out.LastEvaluatedKey))
		}

		for _, limit := range []int32{1, 7, 40} {
			got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table), Limit: aws.Int32(limit)})
			wantItems(t, fmt.Sprintf("Scan(Limit %d) pages", limit), renderSorted(got), want)
		}

		// Filters apply after Limit, as in Query.
		filter := &dynamodb.ScanInput{TableName: aws.String(table), FilterExpression: aws.String("mod3 = :z"),
			ExpressionAttributeValues: item{":z": ni(0)}}
		out, err = s.db.Scan(ctx(t), filter)
		if err != nil {
			t.Fatalf("Scan(FilterExpression) error = %v", err)
		}
		var zeros []item
		for _, it := range all {
			if it["mod3"].(*types.AttributeValueMemberN).Value == "0" {
				zeros = append(zeros, it)
			}
		}
		wantItems(t, "Scan(FilterExpression) items", renderSorted(out.Items), renderSorted(zeros))
		if int(out.Count) != len(zeros) || out.ScannedCount != 40 {
			t.Errorf("Scan(FilterExpression) Count, ScannedCount = %d, %d, want %d, 40", out.Count, out.ScannedCount, len(zeros))
		}
		limited := *filter
		limited.Limit = aws.Int32(6)
		got, pages := s.scanPages(t, &limited)
		wantItems(t, "Scan(FilterExpression, Limit 6) pages", renderSorted(got), renderSorted(zeros))
		if pages < 7 {
			t.Errorf("Scan(FilterExpression, Limit 6) took %d pages over 40 items, want at least 7", pages)
		}

		// Select COUNT.
		out, err = s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table), Select: types.SelectCount})
		if err != nil {
			t.Fatalf("Scan(Select COUNT) error = %v", err)
		}
		if out.Count != 40 || out.ScannedCount != 40 || out.Items != nil {
			t.Errorf("Scan(Select COUNT) Count, ScannedCount, Items = %d, %d, %v, want 40, 40, nil", out.Count, out.ScannedCount, out.Items)
		}
		count := *filter
		count.Select = types.SelectCount
		out, err = s.db.Scan(ctx(t), &count)
		if err != nil {
			t.Fatalf("Scan(Select COUNT, FilterExpression) error = %v", err)
		}
		if int(out.Count) != len(zeros) || out.ScannedCount != 40 {
			t.Errorf("Scan(Select COUNT, FilterExpression) Count, ScannedCount = %d, %d, want %d, 40", out.Count, out.ScannedCount, len(zeros))
		}

		// ProjectionExpression.
		out, err = s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table), ProjectionExpression: aws.String("sk")})
		if err != nil {
			t.Fatalf("Scan(ProjectionExpression) error = %v", err)
		}
		var sks []item
		for _, it := range all {
			sks = append(sks, item{"sk": it["sk"]})
		}
		wantItems(t, "Scan(ProjectionExpression sk) items", renderSorted(out.Items), renderSorted(sks))

		// Segments split the table: together they hold every item, and
		// no item is in two of them.
		for _, total := range []int32{1, 2, 3, 4, 10} {
			seen := map[string]int32{}
			var union []item
			for seg := int32(0); seg < total; seg++ {
				got, _ := s.scanPages(t, &dynamodb.ScanInput{TableName: aws.String(table), Segment: aws.Int32(seg),
					TotalSegments: aws.Int32(total), Limit: aws.Int32(5)})
				for _, it := range got {
					key := render(item{"pk": it["pk"], "sk": it["sk"]})
					if prev, dup := seen[key]; dup {
						t.Errorf("Scan(TotalSegments %d) item %s in segments %d and %d", total, key, prev, seg)
					}
					seen[key] = seg
				}
				union = append(union, got...)
			}
			wantItems(t, fmt.Sprintf("Scan(TotalSegments %d) union of segments", total), renderSorted(union), want)
		}

		// Limit must be positive.
		_, err = s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table), Limit: aws.Int32(0)})
		wantValidation(t, "Scan()", err)

		// Segment without TotalSegments, or out of range, is refused.
		for _, in := range []*dynamodb.ScanInput{
			{TableName: aws.String(table), Segment: aws.Int32(1)},
			{TableName: aws.String(table), TotalSegments: aws.Int32(2)},
			{TableName: aws.String(table), Segment: aws.Int32(2), TotalSegments: aws.Int32(2)},
		} {
			_, err := s.db.Scan(ctx(t), in)
			if errorCode(err) != "ValidationException" {
				t.Errorf("Scan(Segment %v, TotalSegments %v) error = %v, want ValidationException",
					aws.ToInt32(in.Segment), aws.ToInt32(in.TotalSegments), err)
			}
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		out, err := s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatalf("Scan(empty table) error = %v", err)
		}
		if out.Count != 0 || out.ScannedCount != 0 || len(out.Items) != 0 || out.LastEvaluatedKey != nil {
			t.Errorf("Scan(empty table) = %d items, Count %d, ScannedCount %d, LastEvaluatedKey %s; want nothing",
				len(out.Items), out.Count, out.ScannedCount, render(out.LastEvaluatedKey))
		}
	})
}

// scanPages follows LastEvaluatedKey until the end and returns every item
// and the number of pages.
func (s *suite) scanPages(t *testing.T, in *dynamodb.ScanInput) ([]item, int) {
	t.Helper()
	var all []item
	pages := 0
	q := *in
	for {
		out, err := s.db.Scan(ctx(t), &q)
		if err != nil {
			t.Fatalf("Scan() page %d error = %v", pages+1, err)
		}
		pages++
		all = append(all, out.Items...)
		if q.Limit != nil && int(out.ScannedCount) > int(*q.Limit) {
			t.Errorf("Scan(Limit %d) page %d scanned %d items", *q.Limit, pages, out.ScannedCount)
		}
		if out.LastEvaluatedKey == nil {
			return all, pages
		}
		if pages > 1000 {
			t.Fatalf("Scan() paging does not end")
		}
		q.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
