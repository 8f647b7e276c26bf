package conformance

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Concurrency sizes: enough overlap between writers to expose a lost
// update or a check-then-write race, small enough for a 2-core machine.
const (
	writers        = 8
	addsPerWriter  = 200
	conditionalIDs = 100
)

// testConcurrency checks that single-item writes are atomic under
// concurrent use: no lost ADD, no conditional put that succeeds twice.
func testConcurrency(t *testing.T, s *suite) {
	t.Run("AtomicCounter", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		errs := make(chan error, writers)
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < addsPerWriter; i++ {
					_, err := s.db.UpdateItem(ctx(t), &dynamodb.UpdateItemInput{
						TableName: aws.String(table), Key: pk("counter"),
						UpdateExpression:          aws.String("ADD n :one"),
						ExpressionAttributeValues: item{":one": ni(1)},
					})
					if err != nil {
						errs <- fmt.Errorf("writer %d add %d: %w", w, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		wantItem(t, "counter", s.get(t, table, pk("counter")), item{"pk": str("counter"), "n": ni(writers * addsPerWriter)})
	})

	t.Run("ConditionalPut", func(t *testing.T) {
		t.Parallel()
		table := s.hashTable(t)
		var (
			mu        sync.Mutex
			successes = map[string]int{}
			failures  []error
			wg        sync.WaitGroup
		)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < conditionalIDs; i++ {
					// Writers walk the ids from different starting points
					// so that each id meets contention.
					id := fmt.Sprint("id", (i+w*13)%conditionalIDs)
					_, err := s.db.PutItem(ctx(t), &dynamodb.PutItemInput{
						TableName: aws.String(table), Item: item{"pk": str(id), "writer": ni(w)},
						ConditionExpression: aws.String("attribute_not_exists(pk)"),
					})
					var ccf *types.ConditionalCheckFailedException
					mu.Lock()
					switch {
					case err == nil:
						successes[id]++
					case !errors.As(err, &ccf):
						failures = append(failures, fmt.Errorf("writer %d put %s: %w", w, id, err))
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, err := range failures {
			t.Errorf("PutItem() error = %v, want nil or ConditionalCheckFailedException", err)
		}
		total := 0
		for id, n := range successes {
			total += n
			if n != 1 {
				t.Errorf("conditional put of %s succeeded %d times, want once", id, n)
			}
		}
		if total != conditionalIDs {
			t.Errorf("conditional puts succeeded %d times in total, want %d", total, conditionalIDs)
		}
		out, err := s.db.Scan(ctx(t), &dynamodb.ScanInput{TableName: aws.String(table), Select: types.SelectCount})
		if err != nil {
			t.Fatalf("Scan(Select COUNT) error = %v", err)
		}
		if out.Count != conditionalIDs || out.LastEvaluatedKey != nil {
			t.Errorf("Scan(Select COUNT) Count = %d, want %d", out.Count, conditionalIDs)
		}
	})
}
