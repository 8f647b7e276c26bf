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
	attrKind      = "kind" // kindRecord or kindPointer
	attrID        = "id"
	attrHash      = "hash" // pointer items only
	attrPrefix    = "prefix"
	attrName      = "name"
	attrOwner     = "owner"
	attrEnabled   = "enabled"
	attrCreatedAt = "created_at"
	attrExpiresAt = "expires_at"
	attrModels    = "allowed_models"
	attrRPM       = "rpm"
	attrTPM       = "tpm"
	attrBudget    = "monthly_budget_micros"
	attrRevokedAt = "revoked_at"
	attrLastUsed  = "last_used_at"
	attrVersion   = "ver"
	attrRotatedTo = "rotated_to"
)

const (
	kindRecord  = "key"
	kindPointer = "key_id"

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
// Each key is two items under a single string partition key "pk":
//
//   - the record, pk "hash#<hex SHA-256 of the secret>": every field of the
//     key and a version number "ver";
//   - a pointer, pk "key#<id>": the current hash only.
//
// The request path therefore costs one strongly consistent GetItem by the
// hash of the presented secret, and revoking or disabling a key is one
// conditional write to that same item, effective on the next lookup. Admin
// reads by id follow the pointer (two reads). A GSI on the id would save
// the pointer but make every id lookup eventually consistent (an update
// right after a create could miss the key) and would leave a rotation, which
// must move the record to a new hash, just as multi-item.
//
// Changes are read-modify-write under a condition on "ver", retried when a
// concurrent change won. Only create and rotate touch two items: they use
// TransactWriteItems, and on servers without it (dynalite answers
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
	// (or was cut short); such a record no longer authenticates.
	rotatedTo string
}

// CreateAPIKey stores k. Returns EInvalid if k does not validate and
// EConflict if its id or hash exists.
func (s *APIKeyStore) CreateAPIKey(ctx context.Context, k *convertor.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	op := "create api key " + k.ID
	ptr, rec := pointerItem(k.ID, k.Hash), recordItem(&record{key: k, ver: 1})
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

// APIKeyByHash returns the key whose secret hashes to hash, with one
// strongly consistent read. Returns ENotFound.
func (s *APIKeyStore) APIKeyByHash(ctx context.Context, hash string) (*convertor.APIKey, error) {
	rec, err := s.recordByHash(ctx, "get api key by hash", hash)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.rotatedTo != "" {
		return nil, convertor.Errorf(convertor.ENotFound, "api key not found")
	}
	return rec.key, nil
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
// holds two small items per key: fine for the admin pages it serves.
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

// UpdateAPIKey applies upd. Returns ENotFound, EInvalid if the result does
// not validate (the key is then unchanged), and EConflict if the key kept
// changing concurrently.
func (s *APIKeyStore) UpdateAPIKey(ctx context.Context, id string, upd convertor.APIKeyUpdate) (*convertor.APIKey, error) {
	return s.mutate(ctx, "update api key "+id, id, func(k *convertor.APIKey) bool {
		k.Apply(upd)
		return true
	})
}

// RevokeAPIKey marks the key revoked at t; revoking a revoked key keeps its
// first revocation time. Returns ENotFound.
func (s *APIKeyStore) RevokeAPIKey(ctx context.Context, id string, t time.Time) error {
	_, err := s.mutate(ctx, "revoke api key "+id, id, func(k *convertor.APIKey) bool {
		if !k.RevokedAt.IsZero() {
			return false
		}
		k.RevokedAt = t
		return true
	})
	return err
}

// mutate is a read-modify-write of the key's record, conditional on the
// version read. change reports whether there is anything to write.
func (s *APIKeyStore) mutate(ctx context.Context, op, id string, change func(*convertor.APIKey) bool) (*convertor.APIKey, error) {
	for range maxAttempts {
		rec, err := s.recordByID(ctx, op, id)
		if err != nil {
			return nil, err
		}
		if !change(rec.key) {
			return rec.key, nil
		}
		if err := rec.key.Validate(); err != nil {
			return nil, err
		}
		prev := rec.ver
		rec.ver++
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
	return nil, errChanged(id)
}

// RotateAPIKey moves the key to a new secret hash and prefix, keeping its
// id, limits and history; the old secret stops working at once. Returns
// ENotFound, EInvalid if newHash is not a hex SHA-256, and EConflict if the
// key is revoked, newHash belongs to a key, or the key kept changing.
func (s *APIKeyStore) RotateAPIKey(ctx context.Context, id, newHash, newPrefix string) (*convertor.APIKey, error) {
	op := "rotate api key " + id
	for range maxAttempts {
		rec, err := s.recordByID(ctx, op, id)
		if err != nil {
			return nil, err
		}
		if !rec.key.RevokedAt.IsZero() {
			return nil, convertor.Errorf(convertor.EConflict, "api key %s is revoked", id)
		}
		next := *rec.key
		next.Hash, next.Prefix = newHash, newPrefix
		if err := next.Validate(); err != nil {
			return nil, err
		}
		if newHash == rec.key.Hash {
			return nil, errSecretExists()
		}
		done := false
		if !s.noTx.Load() {
			done, err = s.rotateTx(ctx, rec, &next)
			if isUnknownOperation(err) {
				s.noTx.Store(true)
			}
		}
		if s.noTx.Load() {
			done, err = s.rotateSequential(ctx, rec, &next)
		}
		if err != nil {
			return nil, storeError(op, s.table, err)
		}
		if done {
			return &next, nil
		}
	}
	return nil, errChanged(id)
}

// rotateTx rotates in one transaction; done is false when a concurrent
// change won and the caller should read again.
func (s *APIKeyStore) rotateTx(ctx context.Context, old *record, next *convertor.APIKey) (done bool, err error) {
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:           &s.table,
			Item:                recordItem(&record{key: next, ver: old.ver + 1}),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Delete: &types.Delete{
			TableName:                 &s.table,
			Key:                       pk(hashKeyPrefix + old.key.Hash),
			ConditionExpression:       aws.String("#ver = :ver"),
			ExpressionAttributeNames:  map[string]string{"#ver": attrVersion},
			ExpressionAttributeValues: item{":ver": attrN(old.ver)},
		}},
		{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      pointerItem(next.ID, next.Hash),
			ConditionExpression:       aws.String("#hash = :old"),
			ExpressionAttributeNames:  map[string]string{"#hash": attrHash},
			ExpressionAttributeValues: item{":old": attrS(old.key.Hash)},
		}},
	}})
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

// rotateSequential rotates without transactions. It first marks the old
// record rotated, which ends the old secret before anything else happens;
// then writes the new record, moves the pointer and deletes the old record.
// Cut short, it leaves at worst a key that no secret opens (rotate again)
// or a stray record of a secret never shown to anyone; ListAPIKeys and
// APIKeyByHash see through both.
func (s *APIKeyStore) rotateSequential(ctx context.Context, old *record, next *convertor.APIKey) (done bool, err error) {
	oldKey := pk(hashKeyPrefix + old.key.Hash)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       oldKey,
		UpdateExpression:          aws.String("SET #rot = :new, #ver = :next"),
		ConditionExpression:       aws.String("#ver = :ver"),
		ExpressionAttributeNames:  map[string]string{"#rot": attrRotatedTo, "#ver": attrVersion},
		ExpressionAttributeValues: item{":new": attrS(next.Hash), ":ver": attrN(old.ver), ":next": attrN(old.ver + 1)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.putNew(ctx, recordItem(&record{key: next, ver: old.ver + 2})); err != nil {
		// Give the old secret back: the rotation did not happen. A whole
		// put rather than REMOVE, which some local servers ignore.
		_, _ = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.table,
			Item:                      recordItem(&record{key: old.key, ver: old.ver + 2}),
			ConditionExpression:       aws.String("#rot = :new"),
			ExpressionAttributeNames:  map[string]string{"#rot": attrRotatedTo},
			ExpressionAttributeValues: item{":new": attrS(next.Hash)},
		})
		if isConditionFailed(err) {
			return false, errSecretExists()
		}
		return false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      pointerItem(next.ID, next.Hash),
		ConditionExpression:       aws.String("#hash = :old"),
		ExpressionAttributeNames:  map[string]string{"#hash": attrHash},
		ExpressionAttributeValues: item{":old": attrS(old.key.Hash)},
	})
	if err != nil {
		return false, err
	}
	// The rotation is complete once the pointer moved; a failure here
	// leaves only the marked old record, which no longer authenticates.
	_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: oldKey})
	return true, nil
}

// TouchAPIKeys records last-used times. Times never move backwards, and
// ids without a key are skipped: the key may be gone by the time a batch
// arrives. It stops at the first store failure.
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
		// retries instead of writing back the older time.
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       pk(hashKeyPrefix + hash),
			UpdateExpression:          aws.String("SET #lu = :t ADD #ver :one"),
			ConditionExpression:       aws.String("#id = :id AND (attribute_not_exists(#lu) OR #lu < :t)"),
			ExpressionAttributeNames:  map[string]string{"#lu": attrLastUsed, "#ver": attrVersion, "#id": attrID},
			ExpressionAttributeValues: item{":t": attrTime(lastUsed[id]), ":one": attrN(1), ":id": attrS(id)},
		})
		if err != nil && !isConditionFailed(err) {
			return storeError(op, s.table, err)
		}
	}
	return nil
}

// pointer returns the current hash of key id, "" if there is no such key.
func (s *APIKeyStore) pointer(ctx context.Context, op, id string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            pk(idKeyPrefix + id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", storeError(op, s.table, err)
	}
	hash, err := item(out.Item).str(attrHash)
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
	if hash == "" {
		return nil, convertor.Errorf(convertor.ENotFound, "api key %s not found", id)
	}
	rec, err := s.recordByHash(ctx, op, hash)
	if err != nil {
		return nil, err
	}
	// A pointer without its record is what an interrupted sequential
	// create leaves: the key was never usable.
	if rec == nil || rec.key.ID != id {
		return nil, convertor.Errorf(convertor.ENotFound, "api key %s not found", id)
	}
	return rec, nil
}

// recordByHash returns the record stored under hash, nil if there is none.
func (s *APIKeyStore) recordByHash(ctx context.Context, op, hash string) (*record, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            pk(hashKeyPrefix + hash),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, storeError(op, s.table, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	rec, err := parseRecord(out.Item)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return rec, nil
}

func pk(v string) item { return item{attrPK: attrS(v)} }

func pointerItem(id, hash string) item {
	return item{attrPK: attrS(idKeyPrefix + id), attrKind: attrS(kindPointer), attrID: attrS(id), attrHash: attrS(hash)}
}

func recordItem(rec *record) item {
	k := rec.key
	it := item{
		attrPK:      attrS(hashKeyPrefix + k.Hash),
		attrKind:    attrS(kindRecord),
		attrID:      attrS(k.ID),
		attrEnabled: &types.AttributeValueMemberBOOL{Value: k.Enabled},
		attrVersion: attrN(rec.ver),
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
	it.setTime(attrRevokedAt, k.RevokedAt)
	it.setTime(attrLastUsed, k.LastUsedAt)
	it.setS(attrRotatedTo, rec.rotatedTo)
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
	num(&k.RPM, attrRPM)
	num(&k.TPM, attrTPM)
	num(&k.MonthlyBudgetMicros, attrBudget)
	num(&rec.ver, attrVersion)
	str(&rec.rotatedTo, attrRotatedTo)
	k.Enabled, err = it.boolean(attrEnabled)
	errs = append(errs, err)
	k.AllowedModels, err = it.strings(attrModels)
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("api key item %s: %w", k.ID, err)
		}
	}
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
