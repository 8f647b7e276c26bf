package dynamo

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestAPIKeyStore_RecordWithoutRevision reads a record written before
// revisions were counted: it is at revision 1, and the next change makes
// it 2.
func TestAPIKeyStore_RecordWithoutRevision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t, testenv.DynamoDB(t))
	k := storetest.NewKey(t, "from before")
	rec := recordItem(&record{key: k, ver: 7})
	delete(rec, attrRevision)
	for _, it := range []item{pointerItem(k.ID, k.Hash), rec} {
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: it}); err != nil {
			t.Fatalf("PutItem() error = %v", err)
		}
	}
	storetest.WantKey(t, s, k.Hash, k, "secret")
	storetest.WantRevision(t, s, k.ID, 1)
	name := "renamed"
	got, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &name, IfRevision: 1})
	if err != nil || got.Revision != 2 {
		t.Fatalf("UpdateAPIKey(IfRevision 1) = %v, %v; want revision 2", got, err)
	}
}

// TestAPIKeyStore_PreviousSecretItems checks the items behind previous
// secrets, on both write paths: one alias per key however often it is
// rotated, none after a rotation without grace, and an alias that the
// record no longer names opens nothing.
func TestAPIKeyStore_PreviousSecretItems(t *testing.T) {
	t.Parallel()
	for _, sequential := range []bool{false, true} {
		t.Run(map[bool]string{false: "transactions", true: "sequential"}[sequential], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newTestStore(t, testenv.DynamoDB(t))
			s.noTx.Store(sequential)
			k := storetest.NewKey(t, "rotated often")
			storetest.MustCreateKey(t, s, k)
			at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			hashes := []string{k.Hash}
			for i := range 4 {
				rot := storetest.NewRotation(t, at, at.Add(time.Duration(i+1)*time.Hour))
				if _, err := s.RotateAPIKey(ctx, k.ID, rot); err != nil {
					t.Fatalf("RotateAPIKey(%d) error = %v", i, err)
				}
				hashes = append(hashes, rot.Hash)
				wantItems(t, s, k.ID, map[string]int{kindPointer: 1, kindRecord: 1, kindPrevious: 1})
			}
			alias := hashes[len(hashes)-2]

			// A record that stopped naming its alias (as an interrupted
			// rotation could leave them) is not opened by it.
			rec, err := s.recordByID(ctx, "test", k.ID)
			if err != nil {
				t.Fatalf("recordByID() error = %v", err)
			}
			rec.previousHash = convertor.HashAPIKey("sk-some-other-secret")
			if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: recordItem(rec)}); err != nil {
				t.Fatalf("PutItem() error = %v", err)
			}
			storetest.WantCode(t, "APIKeyByHash(disowned alias)", storetest.ErrOf(s.APIKeyByHash(ctx, alias)), convertor.ENotFound)
			rec.previousHash = alias
			if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: recordItem(rec)}); err != nil {
				t.Fatalf("PutItem() error = %v", err)
			}
			if got, err := s.APIKeyByHash(ctx, alias); err != nil || !got.ByPrevious {
				t.Fatalf("APIKeyByHash(alias) = %+v, %v; want the key by its previous secret", got, err)
			}

			if _, err := s.RotateAPIKey(ctx, k.ID, storetest.NewRotation(t, at, time.Time{})); err != nil {
				t.Fatalf("RotateAPIKey(no grace) error = %v", err)
			}
			wantItems(t, s, k.ID, map[string]int{kindPointer: 1, kindRecord: 1})
		})
	}
}

// wantItems fails t unless the items of key id in s's table are, by kind,
// want.
func wantItems(t *testing.T, s *APIKeyStore, id string, want map[string]int) {
	t.Helper()
	out, err := s.db.Scan(context.Background(), &dynamodb.ScanInput{
		TableName:                 &s.table,
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": attrID},
		ExpressionAttributeValues: item{":id": attrS(id)},
	})
	if err != nil {
		t.Fatalf("Scan() error = %v", err)
	}
	got := map[string]int{}
	for _, it := range out.Items {
		kind, _ := item(it).str(attrKind)
		got[kind]++
	}
	if !maps.Equal(got, want) {
		t.Errorf("items of key %s by kind = %v, want %v", id, got, want)
	}
}

// TestAPIKeyStore_RotationCutShort stops a rotation after each of its
// requests in turn, as a crash would, on both write paths. Whatever state
// it leaves, no secret may work that should not: the secret replaced
// before stops or the rotation did not happen, the replaced secret works
// only as the rotation left it, and rotating again leaves exactly the new
// and the previous secret working.
func TestAPIKeyStore_RotationCutShort(t *testing.T) {
	t.Parallel()
	for _, sequential := range []bool{false, true} {
		for _, grace := range []bool{true, false} {
			name := map[bool]string{false: "transactions", true: "sequential"}[sequential] +
				map[bool]string{false: "/no-grace", true: "/grace"}[grace]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := newTestStore(t, testenv.DynamoDB(t))
				s.noTx.Store(sequential)
				for n := 0; ; n++ {
					if n > 20 {
						t.Fatal("the rotation never completed")
					}
					if whole := rotateCutShort(t, s, n, grace); whole {
						break
					}
				}
			})
		}
	}
}

// rotateCutShort runs one rotation, with a grace period or none, that may
// make n requests, checks what it left and repairs it; whole reports
// whether the rotation needed no more than n.
func rotateCutShort(t *testing.T, s *APIKeyStore, n int, grace bool) (whole bool) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	k := storetest.NewKey(t, "cut short")
	storetest.MustCreateKey(t, s, k)
	// P was replaced by A with a grace period; the rotation cut short
	// replaces A by B.
	toA := storetest.NewRotation(t, at, at.Add(time.Hour))
	if _, err := s.RotateAPIKey(ctx, k.ID, toA); err != nil {
		t.Fatalf("RotateAPIKey(A) error = %v", err)
	}
	p, a := k.Hash, toA.Hash
	toB := storetest.NewRotation(t, at.Add(time.Minute), time.Time{})
	if grace {
		toB.PreviousUntil = at.Add(2 * time.Hour)
	}
	b := toB.Hash

	db, cutAt := cutClient(s.db, n)
	cut := &APIKeyStore{db: db, table: s.table}
	cut.noTx.Store(s.noTx.Load())
	_, err := cut.RotateAPIKey(ctx, k.ID, toB)
	done := err == nil
	// Cut short after moving the pointer, a sequential rotation succeeds
	// though it could not keep its promise for A: it stopped early.
	whole = cutAt.left.Load() >= 0

	// What it left, read with the store whole again.
	current, err := s.APIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("n=%d: APIKey() after the cut error = %v", n, err)
	}
	opens := func(hash string) *convertor.APIKey {
		got, err := s.APIKeyByHash(ctx, hash)
		if convertor.ErrorCode(err) == convertor.ENotFound {
			return nil
		}
		if err != nil {
			t.Fatalf("n=%d: APIKeyByHash() error = %v", n, err)
		}
		if got.ID != k.ID {
			t.Fatalf("n=%d: a secret of %s opens %s", n, k.ID, got.ID)
		}
		return got
	}
	switch current.Hash {
	case a: // the rotation did not happen: A is current and P may stay
		if done {
			t.Errorf("n=%d: the rotation succeeded but the key still has secret A", n)
		}
		if got := opens(a); got != nil && got.ByPrevious {
			t.Errorf("n=%d: secret A opens the key as its previous secret before the rotation", n)
		}
		if opens(p) != nil && opens(a) == nil {
			t.Errorf("n=%d: secret P works while A, which replaced it, does not", n)
		}
	case b: // the rotation happened: P has stopped, A works at most as promised
		if got := opens(p); got != nil {
			t.Errorf("n=%d: secret P still opens the key after a second rotation", n)
		}
		if got := opens(a); got != nil && (!grace || !got.ByPrevious || !got.PreviousUntil.Equal(toB.PreviousUntil)) {
			t.Errorf("n=%d: secret A opens %+v, want the key by its previous secret until %v", n, got, toB.PreviousUntil)
		}
		if whole && grace && opens(a) == nil {
			t.Errorf("n=%d: the rotation succeeded but secret A stopped early", n)
		}
	default:
		t.Fatalf("n=%d: the key's secret is neither A nor B", n)
	}
	if whole {
		want := map[string]int{kindPointer: 1, kindRecord: 1}
		if grace {
			want[kindPrevious] = 1
		}
		wantItems(t, s, k.ID, want)
	}

	// An operator rotates again: the new secret and the one current
	// before work, nothing else.
	toC := storetest.NewRotation(t, at.Add(2*time.Minute), at.Add(3*time.Hour))
	repaired, err := s.RotateAPIKey(ctx, k.ID, toC)
	if err != nil {
		t.Fatalf("n=%d: RotateAPIKey(C) error = %v", n, err)
	}
	if got := opens(toC.Hash); got == nil || got.ByPrevious {
		t.Errorf("n=%d: secret C opens %+v, want the key", n, got)
	}
	if got := opens(current.Hash); got == nil || !got.ByPrevious {
		t.Errorf("n=%d: the secret current before C opens %+v, want the key by its previous secret", n, got)
	}
	for _, h := range []string{p, a, b} {
		if h != current.Hash && opens(h) != nil {
			t.Errorf("n=%d: a secret replaced earlier still opens the key", n)
		}
	}
	// Nothing is left over, except after a rotation without grace cut
	// short once its pointer moved: no later rotation knows the record
	// it marked, which opens nothing.
	if grace || whole {
		wantItems(t, s, k.ID, map[string]int{kindPointer: 1, kindRecord: 1, kindPrevious: 1})
	}
	list, err := s.ListAPIKeys(ctx)
	if err != nil {
		t.Fatalf("n=%d: ListAPIKeys() error = %v", n, err)
	}
	listed := 0
	for _, got := range list {
		if got.ID == k.ID {
			listed++
			if diff := cmp.Diff(repaired, got); diff != "" {
				t.Errorf("n=%d: ListAPIKeys() mismatch (-want +got):\n%s", n, diff)
			}
		}
	}
	if listed != 1 {
		t.Errorf("n=%d: ListAPIKeys() lists the key %d times, want once", n, listed)
	}

	// And revoking it stops every secret.
	if err := s.RevokeAPIKey(ctx, k.ID, at); err != nil {
		t.Fatalf("n=%d: RevokeAPIKey() error = %v", n, err)
	}
	for _, h := range []string{p, a, b, toC.Hash} {
		if got := opens(h); got != nil {
			if ok, _ := got.Usable(at); ok {
				t.Errorf("n=%d: a secret of the revoked key still works", n)
			}
		}
	}
	return whole
}

// cutClient returns a client of db's server that lets n requests through
// and fails every one after, without retries: a process stopping there.
// Its HTTP client's left goes negative once it has refused one.
func cutClient(db *dynamodb.Client, n int) (*dynamodb.Client, *cutHTTPClient) {
	c := &cutHTTPClient{}
	c.left.Store(int64(n))
	return dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		c.next = o.HTTPClient
		o.HTTPClient = c
		o.RetryMaxAttempts = 1
	}), c
}

type cutHTTPClient struct {
	next dynamodb.HTTPClient
	left atomic.Int64
}

var errCut = errors.New("cut short")

func (c *cutHTTPClient) Do(r *http.Request) (*http.Response, error) {
	if c.left.Add(-1) < 0 {
		return nil, errCut
	}
	return c.next.Do(r)
}
