package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.APIKeyStore = (*APIKeyStore)(nil)

// Attributes of the api-keys table.
const (
	attrPK        = "pk"   // partition key, the table's only key
	attrKind      = "kind" // kindRecord, kindPointer or kindPrevious
	attrID        = "id"
	attrHash      = "hash" // pointer and previous-secret items only
	attrPrefix    = "prefix"
	attrName      = "name"
	attrOwner     = "owner"
	attrEnabled   = "enabled"
	attrCreatedAt = "created_at"
	attrExpiresAt = "expires_at"
	attrModels    = "allowed_models"
	attrRPM       = "rpm"
	attrTPM       = "tpm"
	attrCacheTTL  = "prompt_cache_ttl"
	attrBudget    = "monthly_budget_micros"
	attrRevokedAt = "revoked_at"
	attrLastUsed  = "last_used_at"
	attrVersion   = "ver"
	attrRevision  = "rev"
	attrRotatedTo = "rotated_to"
	attrRotatedAt = "rotated_at"
	attrPrevHash  = "previous_hash"
	attrPrevPref  = "previous_prefix"
	attrPrevUntil = "previous_until"
)

const (
	kindRecord   = "key"
	kindPointer  = "key_id"
	kindPrevious = "previous"

	hashKeyPrefix = "hash#"
	idKeyPrefix   = "key#"
)

// maxAttempts bounds the optimistic-locking retries of one change; a key
// that changes under us this often is being fought over, and the caller
// hears EConflict.
const maxAttempts = 5

// APIKeyStore keeps API keys in one DynamoDB table, a convertor.APIKeyStore
// safe for concurrent use.
//
// Each key is two items, three while a rotation's previous secret is kept,
// under a single string partition key "pk":
//
//   - the record, pk "hash#<hex SHA-256 of the secret>": every field of the
//     key; "ver", the version for optimistic locking, which last-used
//     times move too; "rev", the revision operators see, which they do not
//     (a record without it, from before revisions, is at revision 1); and
//     "previous_hash", the hash of the previous secret it vouches for;
//   - a pointer, pk "key#<id>": the current hash only;
//   - after a rotation with a grace period, an alias of the previous
//     secret, pk "hash#<hex SHA-256 of the previous secret>", kind
//     "previous": the key's id, "hash", the current hash, and
//     "previous_until".
//
// The request path therefore costs one strongly consistent GetItem by the
// hash of the presented secret, and revoking or disabling a key is one
// conditional write to that same item, effective on the next lookup. Admin
// reads by id follow the pointer (two reads). A GSI on the id would save
// the pointer but make every id lookup eventually consistent (an update
// right after a create could miss the key) and would leave a rotation, which
// must move the record to a new hash, just as multi-item.
//
// A previous secret costs a second read: its alias names the current hash,
// which no change but a rotation moves, and a rotation replaces the alias.
// The alias counts only while the record it names is the key's current,
// unrotated record and names it back in "previous_hash": the record, which
// every change writes, decides; an alias left behind by an interrupted
// rotation opens nothing. Aliases are never listed (ListAPIKeys reads
// records only), and there is at most one per key: the rotation that
// replaces it deletes it. An alias past its "previous_until" stays until
// that next rotation; it no longer authenticates, because APIKey.Usable
// checks the time the record returns (the store never reads the clock).
//
// Changes are read-modify-write under a condition on "ver", retried when a
// concurrent change won. Only create and rotate touch several items: they
// use TransactWriteItems, and on servers without it (dynalite answers
// UnknownOperationException) an ordered sequence of conditional writes,
// chosen so that a crash between them never leaves a secret working that
// should not: see createSequential and rotateSequential.
type APIKeyStore struct {
	db    *dynamodb.Client
	table string
	// noTx is set once the server has said it does not implement
	// TransactWriteItems; writes then take the sequential path.
	noTx atomic.Bool
}

// NewAPIKeyStore returns the store for the api-keys table named table.
func NewAPIKeyStore(db *dynamodb.Client, table string) *APIKeyStore {
	if db == nil || table == "" {
		panic("dynamo: NewAPIKeyStore needs a client and a table name")
	}
	return &APIKeyStore{db: db, table: table}
}

// record is a key as stored, with the bookkeeping the store needs.
type record struct {
	key *convertor.APIKey
	ver int64
	// rotatedTo is the new hash while a sequential rotation is under way
	// (or was cut short); such a record no longer authenticates, nor does
	// its previous secret.
	rotatedTo string
	// previousHash is the hash of the secret the last rotation replaced,
	// when it was given a grace period; its alias item counts only while
	// the current record names it here.
	previousHash string
}

// CreateAPIKey stores k with Revision 1. Returns EInvalid if k does not
// validate and EConflict if its id or hash exists (as a key's current or
// previous secret).
func (s *APIKeyStore) CreateAPIKey(ctx context.Context, k *convertor.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	op := "create api key " + k.ID
	stored := *k
	stored.Revision, stored.ByPrevious = 1, false
	ptr, rec := pointerItem(k.ID, k.Hash), recordItem(&record{key: &stored, ver: 1})
	if !s.noTx.Load() {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: ptr, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
			{Put: &types.Put{TableName: &s.table, Item: rec, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		}})
		if err == nil {
			return nil
		}
		if !isUnknownOperation(err) {
			if codes, ok := canceledReasons(err); ok {
				if reason(codes, 1) == "ConditionalCheckFailed" {
					return errSecretExists()
				}
				return convertor.Errorf(convertor.EConflict, "api key %s exists", k.ID)
			}
			return storeError(op, s.table, err)
		}
		s.noTx.Store(true)
	}
	return s.createSequential(ctx, op, k, ptr, rec)
}

// createSequential writes the pointer first: if the process dies before
// the record follows, the id merely stays unusable, whereas a record
// written first would be a working secret the key list cannot account for.
func (s *APIKeyStore) createSequential(ctx context.Context, op string, k *convertor.APIKey, ptr, rec item) error {
	if err := s.putNew(ctx, ptr); err != nil {
		if isConditionFailed(err) {
			return convertor.Errorf(convertor.EConflict, "api key %s exists", k.ID)
		}
		return storeError(op, s.table, err)
	}
	err := s.putNew(ctx, rec)
	if err == nil {
		return nil
	}
	// Best effort: a pointer left behind only reserves an unused id.
	_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       pk(idKeyPrefix + k.ID),
		ConditionExpression:       aws.String("#hash = :hash"),
		ExpressionAttributeNames:  map[string]string{"#hash": attrHash},
		ExpressionAttributeValues: item{":hash": attrS(k.Hash)},
	})
	if isConditionFailed(err) {
		return errSecretExists()
	}
	return storeError(op, s.table, err)
}

func (s *APIKeyStore) putNew(ctx context.Context, it item) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return err
}

// APIKeyByHash returns the key whose secret hashes to hash: one strongly
// consistent read for a current secret, two for a previous one, which
// returns the key's current record with ByPrevious set. Returns ENotFound.
func (s *APIKeyStore) APIKeyByHash(ctx context.Context, hash string) (*convertor.APIKey, error) {
	const op = "get api key by hash"
	it, err := s.get(ctx, op, hashKeyPrefix+hash)
	if err != nil {
		return nil, err
	}
	kind, err := it.str(attrKind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var rec *record
	switch kind {
	case kindRecord:
		if rec, err = parseRecord(it); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	case kindPrevious:
		if rec, err = s.previousOf(ctx, op, hash, it); err != nil {
			return nil, err
		}
	}
	if rec == nil || rec.rotatedTo != "" {
		return nil, convertor.Errorf(convertor.ENotFound, "api key not found")
	}
	return rec.key, nil
}

// previousOf returns the record that the previous-secret alias it of hash
// leads to, with ByPrevious set, or nil if that record no longer vouches
// for hash.
func (s *APIKeyStore) previousOf(ctx context.Context, op, hash string, it item) (*record, error) {
	id, err := it.str(attrID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	current, err := it.str(attrHash)
	if err != nil {
		return nil, fmt.Errorf("%s: previous-secret item of %s: %w", op, id, err)
	}
	if current == "" {
		return nil, fmt.Errorf("%s: previous-secret item of %s has no current hash", op, id)
	}
	rec, err := s.recordByHash(ctx, op, current)
	if err != nil || rec == nil {
		return nil, err
	}
	if rec.key.ID != id || rec.previousHash != hash {
		return nil, nil
	}
	rec.key.ByPrevious = true
	return rec, nil
}

// APIKey returns the key with id. Returns ENotFound.
func (s *APIKeyStore) APIKey(ctx context.Context, id string) (*convertor.APIKey, error) {
	rec, err := s.recordByID(ctx, "get api key "+id, id)
	if err != nil {
		return nil, err
	}
	return rec.key, nil
}

// ListAPIKeys returns every key, newest first. It scans the table, which
// holds two or three small items per key: fine for the admin pages it
// serves. Only records are read; previous-secret aliases are not keys.
func (s *APIKeyStore) ListAPIKeys(ctx context.Context) ([]*convertor.APIKey, error) {
	byID := make(map[string]*record)
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                 &s.table,
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#kind = :kind"),
		ExpressionAttributeNames:  map[string]string{"#kind": attrKind},
		ExpressionAttributeValues: item{":kind": attrS(kindRecord)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeError("list api keys", s.table, err)
		}
		for _, it := range page.Items {
			rec, err := parseRecord(it)
			if err != nil {
				return nil, fmt.Errorf("list api keys: %w", err)
			}
			// Two records of one id exist only after a sequential rotation
			// was cut short; show the one that can still authenticate, or
			// failing that the newest.
			if old, ok := byID[rec.key.ID]; !ok || better(rec, old) {
				byID[rec.key.ID] = rec
			}
		}
	}
	keys := make([]*convertor.APIKey, 0, len(byID))
	for _, rec := range byID {
		keys = append(keys, rec.key)
	}
	slices.SortFunc(keys, func(a, b *convertor.APIKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return keys, nil
}

func better(a, b *record) bool {
	if (a.rotatedTo == "") != (b.rotatedTo == "") {
		return a.rotatedTo == ""
	}
	return a.ver > b.ver
}

// UpdateAPIKey applies upd and increments Revision. Returns ENotFound,
// EInvalid if the result does not validate (the key is then unchanged),
// EPrecondition if upd.IfRevision is set and not the stored revision, and
// EConflict if the key kept changing concurrently or is half-way through a
// rotation without transactions.
func (s *APIKeyStore) UpdateAPIKey(ctx context.Context, id string, upd convertor.APIKeyUpdate) (*convertor.APIKey, error) {
	return s.mutate(ctx, "update api key "+id, id, upd.IfRevision, func(k *convertor.APIKey) bool {
		k.Apply(upd)
		return true
	})
}

// RevokeAPIKey marks the key revoked at t and increments Revision; revoking
// a revoked key keeps its first revocation time and changes nothing. The
// previous secret, which reads the same record, is refused from then on.
// Returns ENotFound, and EConflict if the key kept changing concurrently
// or is half-way through a rotation without transactions.
func (s *APIKeyStore) RevokeAPIKey(ctx context.Context, id string, t time.Time) error {
	_, err := s.mutate(ctx, "revoke api key "+id, id, 0, func(k *convertor.APIKey) bool {
		if !k.RevokedAt.IsZero() {
			return false
		}
		k.RevokedAt = t
		return true
	})
	return err
}

// mutate is a read-modify-write of the key's record, conditional on the
// version read; the revision check sits inside the loop, so it holds at the
// moment of the write. change reports whether there is anything to write.
func (s *APIKeyStore) mutate(ctx context.Context, op, id string, ifRevision int64, change func(*convertor.APIKey) bool) (*convertor.APIKey, error) {
	rotating := false
	for range maxAttempts {
		rec, err := s.recordByID(ctx, op, id)
		if err != nil {
			return nil, err
		}
		// A sequential rotation copied this record already: a change
		// written here now would be lost when it completes.
		if rotating = rec.rotatedTo != ""; rotating {
			continue
		}
		if ifRevision != 0 && rec.key.Revision != ifRevision {
			return nil, errRevision(id, rec.key.Revision, ifRevision)
		}
		if !change(rec.key) {
			return rec.key, nil
		}
		if err := rec.key.Validate(); err != nil {
			return nil, err
		}
		prev := rec.ver
		rec.ver++
		rec.key.Revision++
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.table,
			Item:                      recordItem(rec),
			ConditionExpression:       aws.String("#ver = :ver"),
			ExpressionAttributeNames:  map[string]string{"#ver": attrVersion},
			ExpressionAttributeValues: item{":ver": attrN(prev)},
		})
		if err == nil {
			return rec.key, nil
		}
		if !isConditionFailed(err) {
			return nil, storeError(op, s.table, err)
		}
	}
	if rotating {
		return nil, convertor.Errorf(convertor.EConflict,
			"api key %s is being rotated, or a rotation of it was cut short; try again, and if this persists rotate it again", id)
	}
	return nil, errChanged(id)
}

// RotateAPIKey moves the key to a new secret, keeping its id, limits and
// history, and increments Revision. With rot.PreviousUntil set the
// replaced secret keeps working until then; a secret replaced earlier stops
// either way. Returns ENotFound, EInvalid if rot.Hash is not a hex
// SHA-256, EPrecondition if rot.IfRevision is set and not the stored
// revision, and EConflict if the key is revoked, rot.Hash belongs to a key
// (as its current or previous secret), or the key kept changing.
func (s *APIKeyStore) RotateAPIKey(ctx context.Context, id string, rot convertor.APIKeyRotation) (*convertor.APIKey, error) {
	op := "rotate api key " + id
	for range maxAttempts {
		rec, err := s.recordByID(ctx, op, id)
		if err != nil {
			return nil, err
		}
		if rot.IfRevision != 0 && rec.key.Revision != rot.IfRevision {
			return nil, errRevision(id, rec.key.Revision, rot.IfRevision)
		}
		if !rec.key.RevokedAt.IsZero() {
			return nil, convertor.Errorf(convertor.EConflict, "api key %s is revoked", id)
		}
		next := rotated(rec, rot)
		if err := next.key.Validate(); err != nil {
			return nil, err
		}
		// Either hash is an item this rotation writes already, and one
		// transaction cannot touch an item twice.
		if rot.Hash == rec.key.Hash || rot.Hash == rec.previousHash {
			return nil, errSecretExists()
		}
		done := false
		if !s.noTx.Load() {
			done, err = s.rotateTx(ctx, rec, next)
			if isUnknownOperation(err) {
				s.noTx.Store(true)
			}
		}
		if s.noTx.Load() {
			done, err = s.rotateSequential(ctx, rec, next)
		}
		if err != nil {
			return nil, storeError(op, s.table, err)
		}
		if done {
			return next.key, nil
		}
	}
	return nil, errChanged(id)
}

// rotated returns the record that replaces old in rotation rot.
func rotated(old *record, rot convertor.APIKeyRotation) *record {
	k := *old.key
	k.Hash, k.Prefix, k.RotatedAt = rot.Hash, rot.Prefix, rot.At
	k.Revision++
	next := &record{key: &k, ver: old.ver + 1}
	k.PreviousPrefix, k.PreviousUntil = "", time.Time{}
	if !rot.PreviousUntil.IsZero() {
		k.PreviousPrefix, k.PreviousUntil = old.key.Prefix, rot.PreviousUntil
		next.previousHash = old.key.Hash
	}
	return next
}

// rotateTx rotates in one transaction: the new record, the old record
// replaced by the alias of the previous secret (or deleted), the pointer
// moved, and the alias of the secret replaced before deleted. done is false
// when a concurrent change won and the caller should read again.
func (s *APIKeyStore) rotateTx(ctx context.Context, old, next *record) (done bool, err error) {
	ifVer := item{":ver": attrN(old.ver)}
	ops := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:           &s.table,
			Item:                recordItem(next),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      pointerItem(next.key.ID, next.key.Hash),
			ConditionExpression:       aws.String("#hash = :old"),
			ExpressionAttributeNames:  map[string]string{"#hash": attrHash},
			ExpressionAttributeValues: item{":old": attrS(old.key.Hash)},
		}},
	}
	if next.previousHash != "" {
		ops = append(ops, types.TransactWriteItem{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      previousItem(next),
			ConditionExpression:       aws.String("#ver = :ver"),
			ExpressionAttributeNames:  map[string]string{"#ver": attrVersion},
			ExpressionAttributeValues: ifVer,
		}})
	} else {
		ops = append(ops, types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 &s.table,
			Key:                       pk(hashKeyPrefix + old.key.Hash),
			ConditionExpression:       aws.String("#ver = :ver"),
			ExpressionAttributeNames:  map[string]string{"#ver": attrVersion},
			ExpressionAttributeValues: ifVer,
		}})
	}
	if old.previousHash != "" {
		ops = append(ops, types.TransactWriteItem{Delete: s.deleteOwnItem(old.previousHash, old.key.ID)})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	if err == nil {
		return true, nil
	}
	codes, ok := canceledReasons(err)
	if !ok {
		return false, err
	}
	if reason(codes, 0) == "ConditionalCheckFailed" {
		return false, errSecretExists()
	}
	return false, nil
}

// deleteOwnItem deletes what is stored under hash if it belongs to key id:
// the alias of a secret replaced earlier, or the record an interrupted
// sequential rotation left. An absent item is no failure.
func (s *APIKeyStore) deleteOwnItem(hash, id string) *types.Delete {
	return &types.Delete{
		TableName:                 &s.table,
		Key:                       pk(hashKeyPrefix + hash),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": attrID},
		ExpressionAttributeValues: item{":id": attrS(id)},
	}
}

// rotateSequential rotates without transactions, in an order that never
// leaves a secret working that should not:
//
//  1. mark the old record rotated: the old secret, and the previous one
//     whose alias leads to this record, stop before anything else happens;
//  2. write the new record (failing that, unmark the old one: the rotation
//     did not happen);
//  3. move the pointer: the rotation is complete;
//  4. delete the alias of the secret replaced earlier, dead since step 1,
//     and what an earlier rotation cut short left;
//  5. replace the marked record by the alias of the previous secret, which
//     then works again, or delete it when there is no grace period.
//
// Cut short before 3, it leaves a key that no secret opens (rotate again;
// changes meanwhile fail with EConflict rather than be lost) and perhaps a
// stray record of a secret never shown to anyone; ListAPIKeys and
// APIKeyByHash see through both, and the next rotation deletes the stray.
// Cut short after 3, the replaced secret has stopped early, never late.
// If it was to be kept, the next rotation deletes what is left (the new
// record names it); if not, the marked record may stay, opening nothing,
// with the alias it named. No leftover opens anything: no current record
// names it.
func (s *APIKeyStore) rotateSequential(ctx context.Context, old, next *record) (done bool, err error) {
	oldKey := pk(hashKeyPrefix + old.key.Hash)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       oldKey,
		UpdateExpression:          aws.String("SET #rot = :new, #ver = :next"),
		ConditionExpression:       aws.String("#ver = :ver"),
		ExpressionAttributeNames:  map[string]string{"#rot": attrRotatedTo, "#ver": attrVersion},
		ExpressionAttributeValues: item{":new": attrS(next.key.Hash), ":ver": attrN(old.ver), ":next": attrN(old.ver + 1)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	next.ver = old.ver + 2
	if err := s.putNew(ctx, recordItem(next)); err != nil {
		// Give the old secret back: the rotation did not happen. A whole
		// put rather than REMOVE, which some local servers ignore.
		_, _ = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.table,
			Item:                      recordItem(&record{key: old.key, ver: old.ver + 2, previousHash: old.previousHash}),
			ConditionExpression:       aws.String("#rot = :new"),
			ExpressionAttributeNames:  map[string]string{"#rot": attrRotatedTo},
			ExpressionAttributeValues: item{":new": attrS(next.key.Hash)},
		})
		if isConditionFailed(err) {
			return false, errSecretExists()
		}
		return false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      pointerItem(next.key.ID, next.key.Hash),
		ConditionExpression:       aws.String("#hash = :old"),
		ExpressionAttributeNames:  map[string]string{"#hash": attrHash},
		ExpressionAttributeValues: item{":old": attrS(old.key.Hash)},
	})
	if isConditionFailed(err) {
		// A concurrent rotation completed first: drop the record written
		// for nothing and start again from the key it left.
		_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &s.table,
			Key:                       pk(hashKeyPrefix + next.key.Hash),
			ConditionExpression:       aws.String("#ver = :ver AND #id = :id"),
			ExpressionAttributeNames:  map[string]string{"#ver": attrVersion, "#id": attrID},
			ExpressionAttributeValues: item{":ver": attrN(next.ver), ":id": attrS(next.key.ID)},
		})
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// The rotation is complete once the pointer moved. The writes below
	// tidy up, each conditional on the item being this key's: a failure
	// leaves the replaced secret stopped early, never working late, so the
	// rotation still reports success with the new secret.
	//
	// First what is left of the secrets before, dead since the first
	// step: the alias of the one replaced earlier (or the record that a
	// rotation cut short after moving its pointer left under that hash),
	// and the record of a rotation cut short before moving it (the pointer
	// never left the old hash, so that one never completed, nor can it
	// now). Done before the alias below, a cut here leaves only what the
	// next rotation deletes.
	s.deleteLeftover(ctx, old.previousHash, next, 1)
	s.deleteLeftover(ctx, old.rotatedTo, next, 0)
	// Then the old record. It need not be as this rotation marked it:
	// with the pointer gone from its hash it must not authenticate,
	// whoever last wrote it (a concurrent rotation giving up may have
	// unmarked it).
	ours := item{":id": attrS(old.key.ID)}
	ownedBy := map[string]string{"#id": attrID}
	if next.previousHash != "" {
		_, _ = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.table,
			Item:                      previousItem(next),
			ConditionExpression:       aws.String("#id = :id"),
			ExpressionAttributeNames:  ownedBy,
			ExpressionAttributeValues: ours,
		})
	} else {
		_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &s.table,
			Key:                       oldKey,
			ConditionExpression:       aws.String("#id = :id"),
			ExpressionAttributeNames:  ownedBy,
			ExpressionAttributeValues: ours,
		})
	}
	return true, nil
}

// deleteLeftover deletes the item under hash if it is of next's key and
// not one of next's secrets; if it was a record, which names an alias of its
// own, that is deleted too, to depth more levels. Best effort: whatever
// stays opens nothing, no record naming it any more.
func (s *APIKeyStore) deleteLeftover(ctx context.Context, hash string, next *record, depth int) {
	if hash == "" || hash == next.key.Hash || hash == next.previousHash {
		return
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       pk(hashKeyPrefix + hash),
		ConditionExpression:       aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": attrID},
		ExpressionAttributeValues: item{":id": attrS(next.key.ID)},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil || depth == 0 {
		return
	}
	if kind, _ := item(out.Attributes).str(attrKind); kind == kindRecord {
		prev, _ := item(out.Attributes).str(attrPrevHash)
		s.deleteLeftover(ctx, prev, next, depth-1)
	}
}

// TouchAPIKeys records last-used times; they do not change Revision. Times
// never move backwards, and ids without a key are skipped: the key may be
// gone by the time a batch arrives. It stops at the first store failure.
func (s *APIKeyStore) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	ids := make([]string, 0, len(lastUsed))
	for id := range lastUsed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		op := "touch api key " + id
		hash, err := s.pointer(ctx, op, id)
		if err != nil {
			return err
		}
		if hash == "" {
			continue
		}
		// The version moves too, so that a concurrent read-modify-write
		// retries instead of writing back the older time. The kind keeps a
		// rotation that turned the record into an alias meanwhile from
		// getting the time.
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:        &s.table,
			Key:              pk(hashKeyPrefix + hash),
			UpdateExpression: aws.String("SET #lu = :t ADD #ver :one"),
			ConditionExpression: aws.String(
				"#id = :id AND #kind = :record AND (attribute_not_exists(#lu) OR #lu < :t)"),
			ExpressionAttributeNames: map[string]string{
				"#lu": attrLastUsed, "#ver": attrVersion, "#id": attrID, "#kind": attrKind,
			},
			ExpressionAttributeValues: item{
				":t": attrTime(lastUsed[id]), ":one": attrN(1), ":id": attrS(id), ":record": attrS(kindRecord),
			},
		})
		if err != nil && !isConditionFailed(err) {
			return storeError(op, s.table, err)
		}
	}
	return nil
}

// pointer returns the current hash of key id, "" if there is no such key.
func (s *APIKeyStore) pointer(ctx context.Context, op, id string) (string, error) {
	it, err := s.get(ctx, op, idKeyPrefix+id)
	if err != nil {
		return "", err
	}
	hash, err := it.str(attrHash)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return hash, nil
}

// recordByID follows the pointer of id to its record. Returns ENotFound.
func (s *APIKeyStore) recordByID(ctx context.Context, op, id string) (*record, error) {
	hash, err := s.pointer(ctx, op, id)
	if err != nil {
		return nil, err
	}
	for range maxAttempts {
		if hash == "" {
			return nil, convertor.Errorf(convertor.ENotFound, "api key %s not found", id)
		}
		rec, err := s.recordByHash(ctx, op, hash)
		if err != nil {
			return nil, err
		}
		if rec != nil && rec.key.ID == id {
			return rec, nil
		}
		// A rotation may have moved the record between the two reads; if
		// the pointer stayed, it is a pointer without its record, which
		// an interrupted sequential create leaves: the key was never
		// usable.
		moved, err := s.pointer(ctx, op, id)
		if err != nil {
			return nil, err
		}
		if moved == hash {
			return nil, convertor.Errorf(convertor.ENotFound, "api key %s not found", id)
		}
		hash = moved
	}
	return nil, errChanged(id)
}

// recordByHash returns the record stored under hash, nil if there is none
// (an alias is none).
func (s *APIKeyStore) recordByHash(ctx context.Context, op, hash string) (*record, error) {
	it, err := s.get(ctx, op, hashKeyPrefix+hash)
	if err != nil {
		return nil, err
	}
	if kind, err := it.str(attrKind); err != nil || kind != kindRecord {
		return nil, err
	}
	rec, err := parseRecord(it)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return rec, nil
}

// get reads the item under key with a strongly consistent read; nil if
// there is none.
func (s *APIKeyStore) get(ctx context.Context, op, key string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            pk(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, storeError(op, s.table, err)
	}
	return out.Item, nil
}

func pk(v string) item { return item{attrPK: attrS(v)} }

func pointerItem(id, hash string) item {
	return item{attrPK: attrS(idKeyPrefix + id), attrKind: attrS(kindPointer), attrID: attrS(id), attrHash: attrS(hash)}
}

// previousItem is the alias of the previous secret of rec: it leads to
// rec's hash. previous_until is there for people browsing the table; the
// record's copy is the one that counts.
func previousItem(rec *record) item {
	it := item{
		attrPK:   attrS(hashKeyPrefix + rec.previousHash),
		attrKind: attrS(kindPrevious),
		attrID:   attrS(rec.key.ID),
		attrHash: attrS(rec.key.Hash),
	}
	it.setTime(attrPrevUntil, rec.key.PreviousUntil)
	return it
}

func recordItem(rec *record) item {
	k := rec.key
	it := item{
		attrPK:       attrS(hashKeyPrefix + k.Hash),
		attrKind:     attrS(kindRecord),
		attrID:       attrS(k.ID),
		attrEnabled:  &types.AttributeValueMemberBOOL{Value: k.Enabled},
		attrVersion:  attrN(rec.ver),
		attrRevision: attrN(max(k.Revision, 1)),
	}
	it.setS(attrPrefix, k.Prefix)
	it.setS(attrName, k.Name)
	it.setS(attrOwner, k.Owner)
	it.setTime(attrCreatedAt, k.CreatedAt)
	it.setTime(attrExpiresAt, k.ExpiresAt)
	it.setStrings(attrModels, k.AllowedModels)
	it.setN(attrRPM, k.RPM)
	it.setN(attrTPM, k.TPM)
	it.setN(attrBudget, k.MonthlyBudgetMicros)
	it.setS(attrCacheTTL, k.PromptCacheTTL)
	it.setTime(attrRevokedAt, k.RevokedAt)
	it.setTime(attrLastUsed, k.LastUsedAt)
	it.setTime(attrRotatedAt, k.RotatedAt)
	it.setS(attrRotatedTo, rec.rotatedTo)
	if rec.previousHash != "" {
		it.setS(attrPrevHash, rec.previousHash)
		it.setS(attrPrevPref, k.PreviousPrefix)
		it.setTime(attrPrevUntil, k.PreviousUntil)
	}
	return it
}

func parseRecord(it item) (*record, error) {
	pkv, err := it.str(attrPK)
	if err != nil {
		return nil, err
	}
	hash, ok := strings.CutPrefix(pkv, hashKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("item %q is not an api key record", pkv)
	}
	k := &convertor.APIKey{Hash: hash}
	rec := &record{key: k}
	errs := []error{}
	str := func(dst *string, name string) {
		v, err := it.str(name)
		*dst = v
		errs = append(errs, err)
	}
	num := func(dst *int64, name string) {
		v, err := it.num(name)
		*dst = v
		errs = append(errs, err)
	}
	when := func(dst *time.Time, name string) {
		v, err := it.time(name)
		*dst = v
		errs = append(errs, err)
	}
	str(&k.ID, attrID)
	str(&k.Prefix, attrPrefix)
	str(&k.Name, attrName)
	str(&k.Owner, attrOwner)
	when(&k.CreatedAt, attrCreatedAt)
	when(&k.ExpiresAt, attrExpiresAt)
	when(&k.RevokedAt, attrRevokedAt)
	when(&k.LastUsedAt, attrLastUsed)
	when(&k.RotatedAt, attrRotatedAt)
	num(&k.RPM, attrRPM)
	num(&k.TPM, attrTPM)
	num(&k.MonthlyBudgetMicros, attrBudget)
	str(&k.PromptCacheTTL, attrCacheTTL)
	num(&k.Revision, attrRevision)
	num(&rec.ver, attrVersion)
	str(&rec.rotatedTo, attrRotatedTo)
	str(&rec.previousHash, attrPrevHash)
	if rec.previousHash != "" {
		str(&k.PreviousPrefix, attrPrevPref)
		when(&k.PreviousUntil, attrPrevUntil)
	}
	k.Enabled, err = it.boolean(attrEnabled)
	errs = append(errs, err)
	k.AllowedModels, err = it.strings(attrModels)
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("api key item %s: %w", k.ID, err)
		}
	}
	// Records written before revisions were counted have none: they are
	// at their first.
	k.Revision = max(k.Revision, 1)
	return rec, nil
}

func reason(codes []string, i int) string {
	if i < len(codes) {
		return codes[i]
	}
	return ""
}

func errSecretExists() error {
	return convertor.Errorf(convertor.EConflict, "an api key with this secret exists")
}

func errChanged(id string) error {
	return convertor.Errorf(convertor.EConflict, "api key %s changed concurrently; try again", id)
}

func errRevision(id string, have, want int64) error {
	return convertor.Errorf(convertor.EPrecondition, "api key %s is at revision %d, not %d: it changed since it was read", id, have, want)
}
