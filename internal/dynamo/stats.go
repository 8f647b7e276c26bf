package dynamo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.StatsStore = (*StatsStore)(nil)

// Attributes of the usage-stats table. Counters are numbers updated with
// ADD; the rest describe the row so it can be read without parsing keys.
const (
	statsAttrSK         = "sk"
	statsAttrPeriod     = "period"
	statsAttrKeyID      = "key_id"
	statsAttrModel      = "model"
	statsAttrStart      = "start"
	statsAttrRequests   = "requests"
	statsAttrErrors     = "errors"
	statsAttrInput      = "input_tokens"
	statsAttrOutput     = "output_tokens"
	statsAttrCacheRead  = "cache_read_tokens"
	statsAttrCacheWrite = "cache_write_tokens"
	statsAttrCost       = "cost_micros"
	// statsAttrVersion counts the writes of a row; ReplaceRollups makes its
	// absolute writes conditional on it.
	statsAttrVersion = "ver"
	// The by-period index's keys, set on key × model × hour and day rows
	// only: period_start "<hour|day>#<start>", key_model "<key id>#<model>".
	// On a key hour row they also say that its counts are in its every-key
	// hour row (see StatsStore, "Tables from before the index").
	statsAttrPeriodStart = "period_start"
	statsAttrKeyModel    = "key_model"
	// StatsTTLAttribute holds the epoch second after which DynamoDB may
	// delete an applied-record marker; roll-up rows never carry it.
	StatsTTLAttribute = "expires_at"
)

// Key prefixes of the usage-stats table.
const (
	statsMarkerPrefix = "applied#"
	// statsMarkerSK is the sort key of every marker: a marker is one item
	// per record id.
	statsMarkerSK = "-"
)

// MarkerRetention is how long after its event time a record's applied
// marker is kept. It must outlast every redelivery: JetStream keeps events
// 7 days (events.DefaultMaxAge), SQS at most 14, and a gateway spool is
// replayed when the bus returns. A record applied later than this after its
// event time is still applied once, but a redelivery of it after its marker
// expired would count it again.
const MarkerRetention = 35 * 24 * time.Hour

// maxTransactItems is DynamoDB's limit of items in one TransactWriteItems.
const maxTransactItems = 100

// Retries of a transaction that lost to a concurrent one or was throttled.
// Beyond them ApplyUsage fails and the consumer's redelivery retries later.
const (
	statsMaxAttempts  = 8
	statsRetryBackoff = 20 * time.Millisecond
	statsMaxBackoff   = time.Second
)

// rollupReaders bounds the index Queries that one Rollups over every key
// runs at a time: periods are independent, and reading them one after
// another would make a month of hours 720 round trips long.
const rollupReaders = 8

// StatsStore keeps roll-ups and month-to-date spend in the usage-stats
// table, a convertor.StatsStore safe for concurrent use.
//
// Rows, all under the generic "pk"/"sk" key (deploy/tables/README.md):
//
//   - key roll-ups: pk "<hour|day>#<key id>", sk "<start>#<model>": one
//     Query reads a key's series. They also carry period_start
//     "<hour|day>#<start>" and key_model "<key id>#<model>", the keys of
//     the sparse by-period index (UsageStatsByPeriodIndex), so every key's
//     rows of one hour or day are one Query of the index;
//   - per-model totals over every key: pk "<hour|day>#*", the same sort
//     key, no index attributes: one Query reads a model series over all
//     keys, by hour or by day;
//   - month spend: pk "month#<key id>", sk "<month start>": the key's
//     counters for the calendar month, one GetItem for the gateway;
//   - applied markers: pk "applied#<record id>", with a TTL.
//
// Index reads are eventually consistent (DynamoDB offers nothing else on a
// global secondary index): a row may reach the index a moment after its
// write. Dashboards tolerate that; the budget check reads MonthSpend, a
// strongly consistent GetItem of the table, and so does everything
// ReplaceRollups reads before it writes.
//
// One index partition holds every key's rows of an hour (or a day), so it
// takes that period's writes. DynamoDB splits a hot partition by sort key
// (key_model) when the table has no local secondary index, which this
// one must therefore never get; and the aggregator's batching writes a
// row once per transaction, not once per record.
//
// # Exactly once
//
// ApplyUsage writes a batch as TransactWriteItems of at most 100 items:
// for each record a Put of its marker conditional on attribute_not_exists,
// and for each distinct row the records touch, one Update ADDing the sum of
// their deltas. A transaction commits all of it or none of it, so a row
// holds a record's delta exactly when its marker exists: a crash before
// the commit leaves nothing (the redelivery applies it), a crash after
// leaves the marker (the redelivery's condition fails). When a marker's
// condition fails the whole transaction is canceled; its
// CancellationReasons name the markers that exist, those records are
// dropped as already applied and the rest is retried. Duplicates inside a
// batch are removed before writing, since a transaction may not touch an
// item twice. Every row update of a record therefore happens in the same
// transaction as the first and only successful Put of its marker.
//
// The ClientRequestToken is a hash of the transaction's content and of a
// nonce drawn once per ApplyUsage call, so the SDK's retry of a commit
// whose answer was lost succeeds as a no-op, while a redelivery (a new
// call) of a committed batch is canceled and its records recognised as
// applied. Within DynamoDB's 10-minute token window a content-only token
// would make the redelivery succeed silently too, and count its records
// as applied twice.
//
// Batching is what makes this fast: records sorted by key, model and hour
// share rows, so a transaction of ~95 records costs ~100 item writes rather
// than the ~600 of one transaction per record.
//
// On a cancellation the markers of the chunk are read back with one
// BatchGetItem rather than trusted to CancellationReasons alone: some
// servers report only the first failed condition, which would
// otherwise cost a round trip per duplicate.
//
// Alternatives considered: a conditional update per row with a set of
// applied ids grows without bound and costs four writes per record; writing
// markers and rows separately needs a recovery log to be crash-safe. A
// directory of each period's keys (the design before the index) cost one
// Query per key to list every key's rows.
//
// # Tables from before the index
//
// Earlier versions kept no every-key hour rows, and their key rows lack
// the index attributes. Such a key day row is counted in its every-key day
// row and month spend as usual; such a key hour row is in no every-key hour
// row. A key hour row with period_start is: ApplyUsage sets it in the
// transaction that adds to both. So ApplyUsage refuses to add to a key
// hour row without it (a condition on the Update): the cancellation names
// the row, which is then upgraded, with one transaction that sets its
// index attributes conditional on its write count and adds its counts to
// its every-key hour row, and the batch is retried. ReplaceRollups, which
// `convertor replay` runs over a period, rewrites every row lacking the
// attributes and counts such an hour row as absent from the every-key
// hour row. Replaying the periods from before the upgrade thus backfills
// the index and the every-key hour rows exactly, whatever the aggregator
// does meanwhile; until then those periods are missing from the index
// and from the every-key hour series.
type StatsStore struct {
	db    *dynamodb.Client
	table string
	// sleep waits between retries; tests replace it.
	sleep func(context.Context, time.Duration) error
}

// NewStatsStore returns the store for the usage-stats table named table.
func NewStatsStore(db *dynamodb.Client, table string) *StatsStore {
	if db == nil || table == "" {
		panic("dynamo: NewStatsStore needs a client and a table name")
	}
	return &StatsStore{db: db, table: table, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// statsRow is one roll-up or month-spend row: its item key and its
// counters (as absolute values or as a delta, depending on use).
type statsRow struct {
	pk, sk string
	r      convertor.Rollup
}

// statsPartition returns the partition key of a key's rows of period: one
// series, sorted by start, that Query reads.
func statsPartition(period, keyID string) string { return period + "#" + keyID }

// newStatsRow returns row k holding d's counts.
func newStatsRow(k convertor.RollupKey, d convertor.Rollup) statsRow {
	r := k.Rollup()
	r.Add(d)
	pk, sk := statsItemKey(k)
	return statsRow{pk: pk, sk: sk, r: r}
}

// statsItemKey returns the item key of row k: pk "<period>#<key id>" and
// sk "<start>#<model>", or "<start>" alone for a month-spend row.
func statsItemKey(k convertor.RollupKey) (pk, sk string) {
	pk = statsPartition(k.Period, k.KeyID)
	sk = k.Start.Format(timeLayout)
	if k.Period != convertor.PeriodMonth {
		sk += "#" + k.Model
	}
	return pk, sk
}

// periodKey returns the by-period index's partition key of the key rows
// of period starting at start.
func periodKey(period string, start time.Time) string {
	return period + "#" + start.UTC().Format(timeLayout)
}

// indexed reports whether r is a row of the by-period index: a key ×
// model × hour or day row, or a key's month row (model "").
func indexed(r *convertor.Rollup) bool {
	return r.KeyID != convertor.AllKeys &&
		(r.Period == convertor.PeriodHour || r.Period == convertor.PeriodDay || r.Period == convertor.PeriodMonth)
}

// ApplyUsage adds each record to its rows exactly once per record ID (see
// StatsStore). Returns EInvalid for an invalid record (nothing is written)
// and EUnavailable when the table cannot be written; retrying the same
// records after any error is safe.
func (s *StatsStore) ApplyUsage(ctx context.Context, recs []*convertor.UsageRecord) (applied int, err error) {
	recs, err = uniqueRecords(recs)
	if err != nil {
		return 0, fmt.Errorf("apply usage: %w", err)
	}
	var nonce [8]byte
	binary.BigEndian.PutUint64(nonce[:], rand.Uint64())
	for _, chunk := range chunkRecords(recs) {
		n, err := s.applyChunk(ctx, chunk, nonce[:])
		applied += n
		if err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// uniqueRecords validates recs (UsageRecord.ValidateForRollups) and
// returns them without repeated ids, sorted so that records sharing rows
// are neighbours.
func uniqueRecords(recs []*convertor.UsageRecord) ([]*convertor.UsageRecord, error) {
	seen := make(map[string]bool, len(recs))
	out := make([]*convertor.UsageRecord, 0, len(recs))
	for _, r := range recs {
		if err := r.ValidateForRollups(); err != nil {
			return nil, err
		}
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b *convertor.UsageRecord) int {
		return cmp.Or(
			cmp.Compare(a.KeyID, b.KeyID),
			cmp.Compare(a.Model, b.Model),
			a.Time.Truncate(time.Hour).Compare(b.Time.Truncate(time.Hour)),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return out, nil
}

// chunkRecords splits sorted records so that each chunk's markers plus
// distinct rows fit one transaction.
func chunkRecords(recs []*convertor.UsageRecord) [][]*convertor.UsageRecord {
	var chunks [][]*convertor.UsageRecord
	var cur []*convertor.UsageRecord
	rows := make(map[[2]string]bool)
	for _, r := range recs {
		var fresh int
		for _, row := range recordRows(r) {
			if !rows[[2]string{row.pk, row.sk}] {
				fresh++
			}
		}
		if len(cur)+1+len(rows)+fresh > maxTransactItems {
			chunks = append(chunks, cur)
			cur = nil
			clear(rows)
		}
		cur = append(cur, r)
		for _, row := range recordRows(r) {
			rows[[2]string{row.pk, row.sk}] = true
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// recordRows returns the rows a record adds to, those of its RollupKeys
// in their order, each holding the record's delta.
func recordRows(r *convertor.UsageRecord) [5]statsRow {
	d := r.Delta()
	var rows [5]statsRow
	for i, k := range r.RollupKeys() {
		rows[i] = newStatsRow(k, d)
	}
	return rows
}

// applyChunk writes one chunk as one transaction, dropping records whose
// markers exist, upgrading key hour rows from before the index, and
// retrying the rest.
func (s *StatsStore) applyChunk(ctx context.Context, recs []*convertor.UsageRecord, nonce []byte) (int, error) {
	op := fmt.Sprintf("apply usage (%d records)", len(recs))
	for attempt := 0; len(recs) > 0; {
		items, rows, token := s.chunkItems(recs, nonce)
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems:      items,
			ClientRequestToken: aws.String(token),
		})
		if err == nil {
			return len(recs), nil
		}
		codes, ok := canceledReasons(err)
		if !ok {
			return 0, storeError(op, s.table, err)
		}
		kept := recs[:0:0]
		for i, r := range recs {
			if reason(codes, i) != "ConditionalCheckFailed" {
				kept = append(kept, r)
			}
		}
		if len(kept) < len(recs) {
			exists, err := s.markersExist(ctx, kept)
			if err != nil {
				return 0, storeError(op, s.table, err)
			}
			kept = slices.DeleteFunc(kept, func(r *convertor.UsageRecord) bool { return exists[r.ID] })
			// Progress: some records were applied before. What is left
			// is retried at once; the loop ends when nothing is.
			recs = kept
			continue
		}
		var old []*statsRow
		for j, row := range rows {
			if reason(codes, len(recs)+j) == "ConditionalCheckFailed" {
				old = append(old, row)
			}
		}
		switch {
		case len(old) > 0:
			// Key hour rows from before the index: upgraded, the
			// chunk is retried at once.
			if err := s.upgradeHourRows(ctx, old); err != nil {
				return 0, storeError(op, s.table, err)
			}
		case !retryableReasons(codes):
			return 0, fmt.Errorf("%s: %w: %w", op, convertor.Errorf(convertor.EInternal, "transaction canceled: %v", codes), err)
		}
		attempt++
		if attempt >= statsMaxAttempts {
			return 0, storeError(op, s.table, err)
		}
		if len(old) > 0 {
			continue
		}
		if err := s.sleep(ctx, backoff(attempt)); err != nil {
			return 0, storeError(op, s.table, err)
		}
	}
	return 0, nil
}

// upgradeHourRows brings key hour rows from before the index up to date
// (StatsStore, "Tables from before the index"): each row still without
// its index attributes is rewritten with them, and its counts added to
// its every-key hour row, in one transaction conditional on its write
// count. A row that changed meanwhile is left to the caller's retry.
func (s *StatsStore) upgradeHourRows(ctx context.Context, rows []*statsRow) error {
	var ops []replaceOp
	for _, row := range rows {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      &s.table,
			Key:            item{attrPK: attrS(row.pk), statsAttrSK: attrS(row.sk)},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return err
		}
		if out.Item == nil {
			continue
		}
		cur, err := parseRow(out.Item)
		if err != nil {
			return fmt.Errorf("upgrade roll-up: %w", err)
		}
		if !cur.indexed && cur.r.Period == convertor.PeriodHour {
			ops = append(ops, replaceOp{pk: row.pk, sk: row.sk, want: &cur.r, old: cur})
		}
	}
	err := s.runReplace(ctx, ops)
	if codes, ok := canceledReasons(err); ok && (slices.Contains(codes, "ConditionalCheckFailed") || retryableReasons(codes)) {
		return nil
	}
	return err
}

// retryableReasons reports whether a canceled transaction failed only for
// reasons that go away: a concurrent transaction on the same rows, the same
// transaction still in flight, or throttling.
func retryableReasons(codes []string) bool {
	retry := false
	for _, c := range codes {
		switch c {
		case "", "None":
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "TransactionInProgress":
			retry = true
		default:
			return false
		}
	}
	return retry
}

func backoff(attempt int) time.Duration {
	d := min(statsRetryBackoff<<attempt, statsMaxBackoff)
	// Full jitter: writers that conflicted must not retry in step.
	return d/2 + rand.N(d/2+1)
}

// chunkItems builds the transaction of recs: one marker Put per record,
// in recs' order (CancellationReasons are read by index), then one Update
// per distinct row, in the order of the rows it returns. It also returns
// the transaction's idempotency token.
func (s *StatsStore) chunkItems(recs []*convertor.UsageRecord, nonce []byte) ([]types.TransactWriteItem, []*statsRow, string) {
	items := make([]types.TransactWriteItem, 0, maxTransactItems)
	h := sha256.New()
	// Tokens are scoped to the account, not the table: two tables given
	// the same records must not pass for one retried request.
	fmt.Fprintf(h, "%s\x00", s.table)
	h.Write(nonce)
	for _, r := range recs {
		expires := r.Time.Add(MarkerRetention).Unix()
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table,
			Item: item{
				attrPK:            attrS(statsMarkerPrefix + r.ID),
				statsAttrSK:       attrS(statsMarkerSK),
				StatsTTLAttribute: attrN(expires),
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
		h.Write([]byte(r.ID))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(expires)))
	}
	var order []*statsRow
	rows := make(map[[2]string]*statsRow)
	for _, r := range recs {
		for _, row := range recordRows(r) {
			k := [2]string{row.pk, row.sk}
			if have, ok := rows[k]; ok {
				have.r.Add(row.r)
				continue
			}
			order = append(order, &row)
			rows[k] = &row
		}
	}
	for _, row := range order {
		items = append(items, types.TransactWriteItem{Update: s.addUpdate(row)})
		fmt.Fprintf(h, "%s\x00%s\x00%+v\x00", row.pk, row.sk, row.r)
	}
	return items, order, hex.EncodeToString(h.Sum(nil)[:16])
}

// addUpdate ADDs row's counters to its item, creating it with its
// describing attributes when new, and counts the write in "ver". An ADD
// to a key hour row is conditional on the row being new or carrying the
// index attributes, which say that its counts are in its every-key hour
// row (StatsStore, "Tables from before the index").
func (s *StatsStore) addUpdate(row *statsRow) *types.Update {
	names := map[string]string{"#ver": statsAttrVersion}
	values := item{":one": attrN(1)}
	set := ""
	for _, a := range rowDescription(&row.r) {
		names["#"+a.name] = a.name
		values[":"+a.name] = a.value
		set += fmt.Sprintf(", #%s = :%s", a.name, a.name)
	}
	add := "#ver :one"
	for _, c := range rowCounters(row.r) {
		if c.v == 0 {
			continue
		}
		names["#"+c.name] = c.name
		values[":"+c.name] = attrN(c.v)
		add += fmt.Sprintf(", #%s :%s", c.name, c.name)
	}
	var cond *string
	if indexed(&row.r) && row.r.Period == convertor.PeriodHour {
		cond = aws.String("attribute_not_exists(pk) OR attribute_exists(#" + statsAttrPeriodStart + ")")
	}
	return &types.Update{
		TableName:                 &s.table,
		Key:                       item{attrPK: attrS(row.pk), statsAttrSK: attrS(row.sk)},
		UpdateExpression:          aws.String("SET " + set[2:] + " ADD " + add),
		ConditionExpression:       cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

type namedValue struct {
	name  string
	value types.AttributeValue
}

// rowDescription returns the non-counter attributes of a row, with the
// by-period index's keys on a key row.
func rowDescription(r *convertor.Rollup) []namedValue {
	out := []namedValue{
		{statsAttrPeriod, attrS(r.Period)},
		{statsAttrKeyID, attrS(r.KeyID)},
		{statsAttrStart, attrTime(r.Start)},
	}
	if r.Model != "" {
		out = append(out, namedValue{statsAttrModel, attrS(r.Model)})
	}
	if indexed(r) {
		out = append(out,
			namedValue{statsAttrPeriodStart, attrS(periodKey(r.Period, r.Start))},
			namedValue{statsAttrKeyModel, attrS(r.KeyID + "#" + r.Model)},
		)
	}
	return out
}

type namedCount struct {
	name string
	v    int64
}

func rowCounters(r convertor.Rollup) [7]namedCount {
	return [7]namedCount{
		{statsAttrRequests, r.Requests},
		{statsAttrErrors, r.Errors},
		{statsAttrInput, r.InputTokens},
		{statsAttrOutput, r.OutputTokens},
		{statsAttrCacheRead, r.CacheReadTokens},
		{statsAttrCacheWrite, r.CacheWriteTokens},
		{statsAttrCost, r.CostMicros},
	}
}

// storedRow is a row as read: its counts, its write count (0: the row
// does not exist) and whether it carries the by-period index's keys.
type storedRow struct {
	r       convertor.Rollup
	ver     int64
	indexed bool
}

// parseRow reads a roll-up or month row.
func parseRow(it item) (storedRow, error) {
	var r convertor.Rollup
	var errs []error
	str := func(name string) string {
		v, err := it.str(name)
		errs = append(errs, err)
		return v
	}
	num := func(name string) int64 {
		v, err := it.num(name)
		errs = append(errs, err)
		return v
	}
	r.Period = str(statsAttrPeriod)
	r.KeyID = str(statsAttrKeyID)
	r.Model = str(statsAttrModel)
	start, err := it.time(statsAttrStart)
	errs = append(errs, err)
	r.Start = start
	r.Requests = num(statsAttrRequests)
	r.Errors = num(statsAttrErrors)
	r.InputTokens = num(statsAttrInput)
	r.OutputTokens = num(statsAttrOutput)
	r.CacheReadTokens = num(statsAttrCacheRead)
	r.CacheWriteTokens = num(statsAttrCacheWrite)
	r.CostMicros = num(statsAttrCost)
	ver := num(statsAttrVersion)
	if err := errors.Join(errs...); err != nil {
		pk, _ := it.str(attrPK)
		sk, _ := it.str(statsAttrSK)
		return storedRow{}, fmt.Errorf("usage-stats row %s %s: %w", pk, sk, err)
	}
	_, ok := it[statsAttrPeriodStart]
	return storedRow{r: r, ver: ver, indexed: ok}, nil
}

// Rollups returns the rows matching f, oldest first (then by key and
// model). A zero f.To means no upper bound. With a key (or AllKeys) it is
// one strongly consistent Query of that key's series; without, every key's
// rows, one Query of the by-period index per hour or day in the range
// (f.Starts), which may lag the latest writes by a moment. Returns
// EInvalid for a filter f.Validate refuses.
func (s *StatsStore) Rollups(ctx context.Context, f convertor.RollupFilter) ([]convertor.Rollup, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var out []convertor.Rollup
	keep := func(r convertor.Rollup) {
		// A row ReplaceRollups emptied of its every-key share may stay
		// with all counts zero; it says nothing.
		if (f.Model == "" || r.Model == f.Model) && !r.Start.Before(f.From) && (f.To.IsZero() || r.Start.Before(f.To)) &&
			!r.SameCounts(convertor.Rollup{}) {
			out = append(out, r)
		}
	}
	if f.KeyID != "" {
		err := s.querySeries(ctx, statsPartition(f.Period, f.KeyID), f.From, f.To, func(r storedRow) { keep(r.r) })
		if err != nil {
			return nil, err
		}
	} else {
		pages, err := s.queryPeriods(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, rows := range pages {
			for _, r := range rows {
				// A table whose index predates this design may hold
				// AllKeys rows in it too.
				if r.KeyID != convertor.AllKeys {
					keep(r)
				}
			}
		}
	}
	sortRollups(out)
	return out, nil
}

func sortRollups(rs []convertor.Rollup) {
	slices.SortFunc(rs, func(a, b convertor.Rollup) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Model, b.Model))
	})
}

// querySeries reads the rows of partition pk whose start is in [from, to):
// sort keys "<start>#<model>" sort by start, and "<to>#..." sorts after
// "<to>", so BETWEEN from AND to is exactly the half-open range.
func (s *StatsStore) querySeries(ctx context.Context, pk string, from, to time.Time, fn func(storedRow)) error {
	hi := "9999"
	if !to.IsZero() {
		hi = to.UTC().Format(timeLayout)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              &s.table,
		ConsistentRead:         aws.Bool(true),
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: item{
			":pk": attrS(pk),
			":lo": attrS(from.UTC().Format(timeLayout)),
			":hi": attrS(hi),
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return storeError("query roll-ups "+pk, s.table, err)
		}
		for _, it := range page.Items {
			r, err := parseRow(it)
			if err != nil {
				return fmt.Errorf("query roll-ups: %w", err)
			}
			fn(r)
		}
	}
	return nil
}

// queryPeriods reads every key's rows of each period of f's range from
// the by-period index, up to rollupReaders periods at a time, and returns
// them by period.
func (s *StatsStore) queryPeriods(ctx context.Context, f convertor.RollupFilter) ([][]convertor.Rollup, error) {
	starts := f.Starts()
	out := make([][]convertor.Rollup, len(starts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range min(rollupReaders, len(starts)) {
		wg.Go(func() {
			for i := range next {
				rows, err := s.queryPeriod(ctx, f, starts[i])
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
					continue
				}
				out[i] = rows
			}
		})
	}
	for i := range starts {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, storeError("query roll-ups", s.table, err)
	}
	return out, nil
}

// queryPeriod reads every key's rows of the period starting at start: one
// Query of the by-period index, paged, narrowed to f.Model when set.
func (s *StatsStore) queryPeriod(ctx context.Context, f convertor.RollupFilter, start time.Time) ([]convertor.Rollup, error) {
	pk := periodKey(f.Period, start)
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(UsageStatsByPeriodIndex),
		KeyConditionExpression:    aws.String("#ps = :ps"),
		ExpressionAttributeNames:  map[string]string{"#ps": statsAttrPeriodStart},
		ExpressionAttributeValues: item{":ps": attrS(pk)},
	}
	if f.Model != "" {
		in.FilterExpression = aws.String("#model = :model")
		in.ExpressionAttributeNames["#model"] = statsAttrModel
		in.ExpressionAttributeValues[":model"] = attrS(f.Model)
	}
	var rows []convertor.Rollup
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if isMissingIndex(err) {
			return nil, fmt.Errorf("query roll-ups of %s: %w: %w", pk, convertor.Errorf(convertor.EUnavailable,
				"table %s has no index %s; add it with `convertor tables create`", s.table, UsageStatsByPeriodIndex), err)
		}
		if err != nil {
			return nil, storeError("query roll-ups of "+pk, s.table, err)
		}
		for _, it := range page.Items {
			r, err := parseRow(it)
			if err != nil {
				return nil, fmt.Errorf("query roll-ups of %s: %w", pk, err)
			}
			rows = append(rows, r.r)
		}
	}
	return rows, nil
}

// MonthSpend returns the key's spend in the UTC calendar month containing
// t: one strongly consistent GetItem, so a budget check sees every
// committed batch.
func (s *StatsStore) MonthSpend(ctx context.Context, keyID string, t time.Time) (int64, error) {
	pk, sk := statsItemKey(convertor.MonthSpendKey(keyID, t))
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            &s.table,
		Key:                  item{attrPK: attrS(pk), statsAttrSK: attrS(sk)},
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String(statsAttrCost),
	})
	if err != nil {
		return 0, storeError("month spend "+keyID, s.table, err)
	}
	v, err := item(out.Item).num(statsAttrCost)
	if err != nil {
		return 0, fmt.Errorf("month spend %s: %w", keyID, err)
	}
	return v, nil
}

// ReplaceRollups rewrites, from recs alone, the rows of the keys recs name
// for the hours and days lying wholly inside [from, to); records outside
// [from, to) are ignored, and rows of periods that straddle from or to are
// left alone, since recs cannot hold all of their records. Rows recs no
// longer produce are deleted. Markers are kept, so a late redelivery of a
// replayed record is still not counted again.
//
// The invariants that ApplyUsage keeps by writing every row of a record in
// one transaction are kept here the same way: each every-key hour and day
// row is the sum over keys, and a key's month spend the sum of its day
// rows. Each transaction writes key rows as absolute values, conditional
// on their write count "ver" being what was read, together with ADDs of
// the difference to the rows of their Totals. A row changed meanwhile (a
// concurrent ApplyUsage) fails the condition, and that key is read and
// compared again. Rows that already hold the computed values and the
// by-period index's keys are not written, so running it again, or after
// an interruption, gives the same rows; rows without those keys (from
// before the index) are rewritten with them, which is how `convertor
// replay` backfills the index and the every-key hour rows (StatsStore,
// "Tables from before the index"). Returns EInvalid if from is not before
// to or a record is invalid.
func (s *StatsStore) ReplaceRollups(ctx context.Context, from, to time.Time, recs []*convertor.UsageRecord) error {
	byKey, err := replacement(from, to, recs)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := s.replaceKey(ctx, k, from, to, byKey[k]); err != nil {
			return err
		}
	}
	return nil
}

// replacement validates ReplaceRollups' arguments and computes, by key,
// the key hour and day rows lying wholly inside [from, to) from recs.
func replacement(from, to time.Time, recs []*convertor.UsageRecord) (map[string]map[[2]string]statsRow, error) {
	if !from.Before(to) {
		return nil, convertor.Errorf(convertor.EInvalid, "replace roll-ups: from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	in := make([]*convertor.UsageRecord, 0, len(recs))
	for _, r := range recs {
		if r != nil && !r.Time.Before(from) && r.Time.Before(to) {
			in = append(in, r)
		}
	}
	in, err := uniqueRecords(in)
	if err != nil {
		return nil, fmt.Errorf("replace roll-ups: %w", err)
	}
	byKey := make(map[string]map[[2]string]statsRow)
	for _, r := range in {
		rows := byKey[r.KeyID]
		if rows == nil {
			rows = make(map[[2]string]statsRow)
			byKey[r.KeyID] = rows
		}
		d := r.Delta()
		keys := r.RollupKeys()
		for _, rk := range keys[:2] { // key hour and day rows
			if !rk.Within(from, to) {
				continue
			}
			row := newStatsRow(rk, d)
			k := [2]string{row.pk, row.sk}
			if have, ok := rows[k]; ok {
				have.r.Add(row.r)
				row = have
			}
			rows[k] = row
		}
	}
	return byKey, nil
}

// replaceOp is one key row to write: want nil deletes it; old is the row
// as read (old.ver 0: it does not exist).
type replaceOp struct {
	pk, sk string
	want   *convertor.Rollup
	old    storedRow
}

// replaceKey brings one key's rows to want, starting over from a fresh
// read whenever a row changed under it.
func (s *StatsStore) replaceKey(ctx context.Context, keyID string, from, to time.Time, want map[[2]string]statsRow) error {
	op := "replace roll-ups of " + keyID
	for attempt := 1; ; attempt++ {
		ops, err := s.replaceOps(ctx, keyID, from, to, want)
		if err != nil {
			return err
		}
		err = s.runReplace(ctx, ops)
		if err == nil {
			return nil
		}
		codes, ok := canceledReasons(err)
		if !ok {
			return storeError(op, s.table, err)
		}
		if !slices.Contains(codes, "ConditionalCheckFailed") && !retryableReasons(codes) {
			return fmt.Errorf("%s: %w: %w", op, convertor.Errorf(convertor.EInternal, "transaction canceled: %v", codes), err)
		}
		if attempt >= statsMaxAttempts {
			return fmt.Errorf("%s: %w: %w", op, convertor.Errorf(convertor.EConflict, "roll-ups kept changing; run it again"), err)
		}
		if err := s.sleep(ctx, backoff(attempt)); err != nil {
			return storeError(op, s.table, err)
		}
	}
}

// replaceOps reads the key's current rows of the periods lying wholly
// inside [from, to) and lists the writes that bring them to want: day
// rows, then hour rows ("day#..." sorts first), each in time order, so
// that neighbours share the rows of their Totals.
func (s *StatsStore) replaceOps(ctx context.Context, keyID string, from, to time.Time, want map[[2]string]statsRow) ([]replaceOp, error) {
	have := make(map[[2]string]storedRow)
	for _, period := range []string{convertor.PeriodHour, convertor.PeriodDay} {
		lo, hi := convertor.CoveredPeriods(from, to, period)
		if !lo.Before(hi) {
			continue
		}
		err := s.querySeries(ctx, statsPartition(period, keyID), lo, hi, func(cur storedRow) {
			pk, sk := statsItemKey(cur.r.Key())
			have[[2]string{pk, sk}] = cur
		})
		if err != nil {
			return nil, err
		}
	}
	var ops []replaceOp
	for k, row := range want {
		cur := have[k]
		if cur.indexed && cur.r.SameCounts(row.r) {
			continue
		}
		w := row.r
		ops = append(ops, replaceOp{pk: k[0], sk: k[1], want: &w, old: cur})
	}
	for k, cur := range have {
		if _, ok := want[k]; !ok {
			ops = append(ops, replaceOp{pk: k[0], sk: k[1], old: cur})
		}
	}
	slices.SortFunc(ops, func(a, b replaceOp) int {
		return cmp.Or(cmp.Compare(a.pk, b.pk), cmp.Compare(a.sk, b.sk))
	})
	return ops, nil
}

// runReplace writes the ops in transactions of at most 100 items: each
// op's row, and one ADD per row of the ops' Totals (every-key hour or day
// rows, month spends) of the sum of the differences the ops make to it.
func (s *StatsStore) runReplace(ctx context.Context, ops []replaceOp) error {
	for len(ops) > 0 {
		var order []*statsRow
		totals := make(map[convertor.RollupKey]*statsRow)
		n := 0
		for ; n < len(ops); n++ {
			keys := opRow(ops[n]).Key().Totals()
			fresh := 0
			for _, k := range keys {
				if totals[k] == nil {
					fresh++
				}
			}
			if n+1+len(totals)+fresh > maxTransactItems {
				break
			}
			d := opDelta(ops[n])
			for _, k := range keys {
				if totals[k] == nil {
					row := newStatsRow(k, convertor.Rollup{})
					totals[k] = &row
					order = append(order, &row)
				}
				totals[k].r.Add(d)
			}
		}
		items := make([]types.TransactWriteItem, 0, n+len(order))
		for _, op := range ops[:n] {
			items = append(items, s.replaceItem(op))
		}
		for _, row := range order {
			if !row.r.SameCounts(convertor.Rollup{}) {
				items = append(items, types.TransactWriteItem{Update: s.addUpdate(row)})
			}
		}
		if err := s.transact(ctx, items); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

// opDelta returns how much op moves the rows of its row's Totals: its new
// counts less those of the old row that they hold, which is all of them
// except for a key hour row from before the index, held by none.
func opDelta(op replaceOp) convertor.Rollup {
	var d convertor.Rollup
	if op.want != nil {
		d.Add(*op.want)
	}
	if op.old.indexed || op.old.r.Period != convertor.PeriodHour {
		d.Sub(op.old.r)
	}
	return d
}

// opRow returns the row op writes or deletes.
func opRow(op replaceOp) *convertor.Rollup {
	if op.want != nil {
		return op.want
	}
	return &op.old.r
}

// replaceItem writes op's row as an absolute value, or deletes it, on the
// condition that nobody wrote it since it was read.
func (s *StatsStore) replaceItem(op replaceOp) types.TransactWriteItem {
	key := item{attrPK: attrS(op.pk), statsAttrSK: attrS(op.sk)}
	cond, names, values := aws.String("attribute_not_exists(pk)"), map[string]string(nil), item(nil)
	if op.old.ver != 0 {
		cond = aws.String("#ver = :ver")
		names = map[string]string{"#ver": statsAttrVersion}
		values = item{":ver": attrN(op.old.ver)}
	}
	if op.want == nil {
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: key,
			ConditionExpression: cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}}
	}
	it := key
	for _, a := range rowDescription(op.want) {
		it[a.name] = a.value
	}
	for _, c := range rowCounters(*op.want) {
		it.setN(c.name, c.v)
	}
	it[statsAttrVersion] = attrN(op.old.ver + 1)
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: it,
		ConditionExpression: cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}

func (s *StatsStore) transact(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// markersExist reads the markers of recs (at most 100, a chunk) and
// returns the ids that have one.
func (s *StatsStore) markersExist(ctx context.Context, recs []*convertor.UsageRecord) (map[string]bool, error) {
	exists := make(map[string]bool)
	if len(recs) == 0 {
		return exists, nil
	}
	keys := make([]map[string]types.AttributeValue, len(recs))
	for i, r := range recs {
		keys[i] = item{attrPK: attrS(statsMarkerPrefix + r.ID), statsAttrSK: attrS(statsMarkerSK)}
	}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			// Unprocessed keys mean throttling: back off before asking again.
			if err := s.sleep(ctx, backoff(min(attempt, statsMaxAttempts))); err != nil {
				return nil, err
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, err
		}
		for _, it := range out.Responses[s.table] {
			pk, err := item(it).str(attrPK)
			if err != nil {
				return nil, err
			}
			if id, ok := strings.CutPrefix(pk, statsMarkerPrefix); ok {
				exists[id] = true
			}
		}
		req = out.UnprocessedKeys
	}
	return exists, nil
}
