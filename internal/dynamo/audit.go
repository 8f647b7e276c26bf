package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.AuditStore = (*AuditStore)(nil)

// Attributes of the audit table; pk is the entry's id.
const (
	auditLog        = "log"   // by-time partition, auditLogName on every entry
	auditPosition   = "ts_id" // "<ts>#<id>", the sort key of every index
	auditTS         = "ts"
	auditActor      = "actor" // by-actor partition
	auditActorRole  = "actor_role"
	auditAuthMode   = "auth_mode"
	auditAction     = "action"
	auditResource   = "resource"
	auditResourceID = "resource_id" // by-resource partition
	auditBefore     = "before"
	auditAfter      = "after"
	auditRequestID  = "request_id"
)

// auditLogName is the one partition of the by-time index.
const auditLogName = "audit"

// AuditStore keeps the audit log in the audit table, a
// convertor.AuditStore safe for concurrent use.
//
// Each entry is one item keyed by its id (pk), so storing an entry again
// is a conditional put that changes nothing, whatever time the retry
// carries. Entries are listed through three indexes, all sorted by ts_id =
// "<time>#<id>", which is unique and in time order, and read backwards:
//
//   - by-time, partition log = "audit" on every entry: the whole log;
//   - by-actor, partition actor: what one person changed;
//   - by-resource, partition resource_id: one key's, route's or price's
//     history.
//
// A listing reads the most selective index its filter allows (resource
// id, then actor, then the whole log) within the time range, applies the
// other filters as a FilterExpression, and reads DynamoDB pages until its
// page is full. A single partition holds the whole log because admin
// changes come a few a minute at most, far below the thousand writes a
// second one partition takes, and a table without local indexes has no
// partition size limit; a partition per month would only add walking back
// through empty months. Index reads are eventually consistent: an entry
// written a moment ago may be missing from a listing for a moment.
type AuditStore struct {
	db    *dynamodb.Client
	table string
	// pageItems bounds the items one Query reads; 0 lets DynamoDB fill
	// 1 MB pages. Tests set it small so that listings span pages.
	pageItems int32
}

// NewAuditStore returns the store for the audit table named table.
func NewAuditStore(db *dynamodb.Client, table string) *AuditStore {
	if db == nil || table == "" {
		panic("dynamo: NewAuditStore needs a client and a table name")
	}
	return &AuditStore{db: db, table: table}
}

// PutAudit stores e unless an entry with its id exists, in which case it
// changes nothing. Returns EInvalid if e does not validate, or if its time
// is outside years 1 to 9999 or its id, actor, action or resource is
// longer than 1000 bytes (the table's keys could not hold them).
func (s *AuditStore) PutAudit(ctx context.Context, e *convertor.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if y := e.Time.UTC().Year(); y < 1 || y > 9999 {
		return convertor.Errorf(convertor.EInvalid, "audit entry %s: time %v is out of range", e.ID, e.Time)
	}
	for _, v := range []string{e.ID, e.Actor, e.Action, e.Resource, e.ResourceID} {
		if len(v) > maxKeyValueLen || !utf8.ValidString(v) {
			return convertor.Errorf(convertor.EInvalid, "audit entry %.40s: id, actor, action and resource must be UTF-8 of at most %d bytes", e.ID, maxKeyValueLen)
		}
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                auditItem(e),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return storeError("put audit entry "+e.ID, s.table, err)
	}
	return nil
}

// Audit returns the entries matching f, newest first. It reads one
// matching entry past the page, so the cursor is "" exactly when nothing
// is left. Returns EInvalid for a limit out of range or a cursor it did
// not issue.
func (s *AuditStore) Audit(ctx context.Context, f convertor.AuditFilter) ([]*convertor.AuditEntry, string, error) {
	limit, err := convertor.PageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	// ts_id "<ts>#<id>" is at least "<ts>", so From's time string bounds
	// it from below inclusively, and To's from above exclusively.
	lo, hi := timeStringMin, timeStringMax
	if !f.From.IsZero() {
		lo = timeBound(f.From)
	}
	if !f.To.IsZero() {
		hi = timeBound(f.To)
	}
	// The cursor's entry is the last one returned: the next page starts
	// at it, and skips it.
	cursorPos := ""
	if f.Cursor != "" {
		ts, id, err := decodeCursor(auditCursor, f.Cursor)
		if err != nil {
			return nil, "", err
		}
		cursorPos = ts + "#" + id
		hi = min(hi, cursorPos)
	}
	for _, v := range []string{f.Actor, f.Action, f.Resource, f.ResourceID} {
		if len(v) > maxKeyValueLen {
			return nil, "", nil // PutAudit stores no such value
		}
	}
	if lo > hi {
		return nil, "", nil
	}
	in := auditQuery(f, lo, hi)
	in.TableName = &s.table
	var out []*convertor.AuditEntry
	for len(out) <= limit {
		n := int32(limit + 1 - len(out))
		if cursorPos != "" {
			n++
		}
		switch {
		case s.pageItems > 0:
			n = min(n, s.pageItems)
		case in.FilterExpression != nil:
			n = 0 // the filter may drop most of what is read: read 1 MB
		}
		in.Limit = nil
		if n > 0 {
			in.Limit = aws.Int32(n)
		}
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", storeError("list audit entries", s.table, err)
		}
		for _, it := range page.Items {
			if pos, _ := item(it).str(auditPosition); pos == cursorPos {
				continue
			}
			e, err := parseAudit(it)
			if err != nil {
				return nil, "", fmt.Errorf("list audit entries: %w", err)
			}
			if out = append(out, e); len(out) > limit {
				break
			}
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, encodeCursor(auditCursor, last.Time.UTC().Format(timeLayout), last.ID), nil
}

// auditQuery reads the index that f's most selective filter names,
// between positions lo and hi, newest first; the other filters become a
// FilterExpression.
func auditQuery(f convertor.AuditFilter, lo, hi string) *dynamodb.QueryInput {
	index, hashAttr, hash := AuditByTimeIndex, auditLog, auditLogName
	switch {
	case f.ResourceID != "":
		index, hashAttr, hash = AuditByResourceIndex, auditResourceID, f.ResourceID
	case f.Actor != "":
		index, hashAttr, hash = AuditByActorIndex, auditActor, f.Actor
	}
	names := map[string]string{"#h": hashAttr, "#p": auditPosition}
	values := item{":h": attrS(hash), ":lo": attrS(lo), ":hi": attrS(hi)}
	var conds []string
	for _, c := range []struct{ attr, v string }{
		{auditActor, f.Actor}, {auditAction, f.Action}, {auditResource, f.Resource}, {auditResourceID, f.ResourceID},
	} {
		if c.v == "" || c.attr == hashAttr {
			continue
		}
		n := fmt.Sprintf("f%d", len(conds))
		names["#"+n], values[":"+n] = c.attr, attrS(c.v)
		conds = append(conds, "#"+n+" = :"+n)
	}
	in := &dynamodb.QueryInput{
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#h = :h AND #p BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
	}
	if len(conds) > 0 {
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
	}
	return in
}

func auditItem(e *convertor.AuditEntry) item {
	ts := e.Time.UTC().Format(timeLayout)
	it := item{
		attrPK:          attrS(e.ID),
		auditLog:        attrS(auditLogName),
		auditPosition:   attrS(ts + "#" + e.ID),
		auditTS:         attrS(ts),
		auditActor:      attrS(e.Actor),
		auditAuthMode:   attrS(e.AuthMode),
		auditAction:     attrS(e.Action),
		auditResource:   attrS(e.Resource),
		auditResourceID: attrS(e.ResourceID),
	}
	it.setS(auditActorRole, e.ActorRole)
	it.setS(auditRequestID, e.RequestID)
	// Strings, not maps: the JSON comes back byte for byte as it was given.
	it.setS(auditBefore, string(e.Before))
	it.setS(auditAfter, string(e.After))
	return it
}

func parseAudit(it item) (*convertor.AuditEntry, error) {
	e := &convertor.AuditEntry{}
	var before, after string
	var errs []error
	for _, f := range []struct {
		dst  *string
		name string
	}{
		{&e.ID, attrPK}, {&e.Actor, auditActor}, {&e.ActorRole, auditActorRole}, {&e.AuthMode, auditAuthMode},
		{&e.Action, auditAction}, {&e.Resource, auditResource}, {&e.ResourceID, auditResourceID},
		{&e.RequestID, auditRequestID}, {&before, auditBefore}, {&after, auditAfter},
	} {
		v, err := it.str(f.name)
		*f.dst = v
		errs = append(errs, err)
	}
	t, err := it.time(auditTS)
	e.Time = t
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("audit item %s: %w", e.ID, err)
		}
	}
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e, nil
}
