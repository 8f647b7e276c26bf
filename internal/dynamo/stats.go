package dynamo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
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
	// statsPeriodKeys marks the key-directory entries: pk "keys#<day>",
	// sk "<key id>", one per key with usage that day.
	statsPeriodKeys = "keys"
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

// StatsStore keeps roll-ups and month-to-date spend in the usage-stats
// table, a convertor.StatsStore safe for concurrent use.
//
// Rows, all under the generic "pk"/"sk" key (deploy/tables/README.md):
//
//   - roll-ups: pk "<hour|day>#<key id>", sk "<start>#<model>", with the
//     per-model totals over every key under key id "*" (day only);
//   - month spend: pk "month#<key id>", sk "<month start>": the key's
//     counters for the calendar month, one GetItem for the gateway;
//   - key directory: pk "keys#<day start>", sk "<key id>", an empty item
//     per key with usage that day, so Rollups can list every key's rows
//     of a period with one Query per day and one per key;
//   - applied markers: pk "applied#<record id>", with a TTL.
//
// The directory replaces a secondary index on the period: one index
// partition per hour would take every write of that hour, a hot partition
// on DynamoDB.
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
// markers and rows separately needs a recovery log to be crash-safe.
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

// recordRows returns the rows a record adds to, with its delta: those of
// its RollupKeys, in their order, then the key's directory entry for the
// day (which only exists, no delta).
func recordRows(r *convertor.UsageRecord) [5]statsRow {
	keys := r.RollupKeys()
	d := r.Delta()
	var rows [5]statsRow
	for i, k := range keys {
		rows[i] = newStatsRow(k, d)
	}
	rows[4] = directoryRow(r.KeyID, keys[1].Start)
	return rows
}

func directoryRow(keyID string, day time.Time) statsRow {
	return statsRow{
		pk: statsPeriodKeys + "#" + day.Format(timeLayout),
		sk: keyID,
		r:  convertor.Rollup{KeyID: keyID, Period: statsPeriodKeys, Start: day},
	}
}

// directoryPut writes a directory entry; the item never changes, so
// writing it again is harmless.
func (s *StatsStore) directoryPut(row *statsRow) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table,
		Item:      item{attrPK: attrS(row.pk), statsAttrSK: attrS(row.sk)},
	}}
}

// applyChunk writes one chunk as one transaction, dropping records whose
// markers exist and retrying the rest.
func (s *StatsStore) applyChunk(ctx context.Context, recs []*convertor.UsageRecord, nonce []byte) (int, error) {
	op := fmt.Sprintf("apply usage (%d records)", len(recs))
	for attempt := 0; len(recs) > 0; {
		items, token := s.chunkItems(recs, nonce)
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
		if !retryableReasons(codes) {
			return 0, fmt.Errorf("%s: %w: %w", op, convertor.Errorf(convertor.EInternal, "transaction canceled: %v", codes), err)
		}
		attempt++
		if attempt >= statsMaxAttempts {
			return 0, storeError(op, s.table, err)
		}
		if err := s.sleep(ctx, backoff(attempt)); err != nil {
			return 0, storeError(op, s.table, err)
		}
	}
	return 0, nil
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
// per distinct row. It also returns the transaction's idempotency token.
func (s *StatsStore) chunkItems(recs []*convertor.UsageRecord, nonce []byte) ([]types.TransactWriteItem, string) {
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
	var order [][2]string
	rows := make(map[[2]string]*statsRow)
	for _, r := range recs {
		for _, row := range recordRows(r) {
			k := [2]string{row.pk, row.sk}
			if have, ok := rows[k]; ok {
				have.r.Add(row.r)
				continue
			}
			order = append(order, k)
			rows[k] = &row
		}
	}
	for _, k := range order {
		row := rows[k]
		if row.r.Period == statsPeriodKeys {
			items = append(items, s.directoryPut(row))
		} else {
			items = append(items, types.TransactWriteItem{Update: s.addUpdate(row)})
		}
		fmt.Fprintf(h, "%s\x00%s\x00%+v\x00", row.pk, row.sk, row.r)
	}
	return items, hex.EncodeToString(h.Sum(nil)[:16])
}

// addUpdate ADDs row's counters to its item, creating it with its
// describing attributes when new, and counts the write in "ver".
func (s *StatsStore) addUpdate(row *statsRow) *types.Update {
	names := map[string]string{"#ver": statsAttrVersion}
	values := item{":one": attrN(1)}
	set := ""
	for _, a := range rowDescription(row) {
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
	return &types.Update{
		TableName:                 &s.table,
		Key:                       item{attrPK: attrS(row.pk), statsAttrSK: attrS(row.sk)},
		UpdateExpression:          aws.String("SET " + set[2:] + " ADD " + add),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

type namedValue struct {
	name  string
	value types.AttributeValue
}

// rowDescription returns the non-counter attributes of a row.
func rowDescription(row *statsRow) []namedValue {
	r := row.r
	out := []namedValue{
		{statsAttrPeriod, attrS(r.Period)},
		{statsAttrKeyID, attrS(r.KeyID)},
		{statsAttrStart, attrTime(r.Start)},
	}
	if r.Model != "" {
		out = append(out, namedValue{statsAttrModel, attrS(r.Model)})
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

// parseRow reads a roll-up or month row and its write count.
func parseRow(it item) (convertor.Rollup, int64, error) {
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
		return r, 0, fmt.Errorf("usage-stats row %s %s: %w", pk, sk, err)
	}
	return r, ver, nil
}

// Rollups returns the rows matching f, oldest first (then by key and
// model). A zero f.To means no upper bound. With a key (or AllKeys) it is
// one Query of that key's series; without, every key's rows except the
// AllKeys totals, read through the key directory. Returns EInvalid for a
// filter f.Validate refuses.
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
	var err error
	if f.KeyID != "" {
		err = s.querySeries(ctx, statsPartition(f.Period, f.KeyID), f.From, f.To, func(r convertor.Rollup, _ int64) { keep(r) })
	} else {
		err = s.queryPeriods(ctx, f, func(r convertor.Rollup) {
			if r.KeyID != convertor.AllKeys {
				keep(r)
			}
		})
	}
	if err != nil {
		return nil, err
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
func (s *StatsStore) querySeries(ctx context.Context, pk string, from, to time.Time, fn func(convertor.Rollup, int64)) error {
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
			r, ver, err := parseRow(it)
			if err != nil {
				return fmt.Errorf("query roll-ups: %w", err)
			}
			fn(r, ver)
		}
	}
	return nil
}

// queryPeriods reads every key's rows in f's range: the keys from the
// directory of each day the range touches, then each key's series.
func (s *StatsStore) queryPeriods(ctx context.Context, f convertor.RollupFilter, fn func(convertor.Rollup)) error {
	days := convertor.RollupFilter{Period: convertor.PeriodDay, From: convertor.PeriodStart(f.From, convertor.PeriodDay), To: f.To}.Starts()
	keys := make(map[string]bool)
	for _, day := range days {
		pk := statsPeriodKeys + "#" + day.Format(timeLayout)
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                 &s.table,
			ConsistentRead:            aws.Bool(true),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: item{":pk": attrS(pk)},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return storeError("query roll-up keys "+pk, s.table, err)
			}
			for _, it := range page.Items {
				k, err := item(it).str(statsAttrSK)
				if err != nil {
					return fmt.Errorf("query roll-up keys: %w", err)
				}
				keys[k] = true
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		err := s.querySeries(ctx, statsPartition(f.Period, k), f.From, f.To, func(r convertor.Rollup, _ int64) { fn(r) })
		if err != nil {
			return err
		}
	}
	return nil
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
// Two invariants that ApplyUsage keeps by writing every row of a record in
// one transaction are kept here the same way: a key's month spend is the
// sum of its day rows, and each every-key day row the sum over keys. Each
// transaction writes key day rows as absolute values, conditional on their
// write count "ver" being what was read, together with ADDs of the
// difference to the month and every-key rows. A row changed meanwhile (a
// concurrent ApplyUsage) fails the condition, and that key is read and
// compared again. Rows that already hold the computed values are not
// written, so running it again, or after an interruption, gives the same
// rows. Returns EInvalid if from is not before to or a record is invalid.
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

// replaceOp is one key row to write: want nil deletes it.
type replaceOp struct {
	pk, sk string
	want   *convertor.Rollup
	old    convertor.Rollup
	ver    int64 // 0: the row does not exist
}

// replaceKey brings one key's rows to want, starting over from a fresh
// read whenever a row changed under it.
func (s *StatsStore) replaceKey(ctx context.Context, keyID string, from, to time.Time, want map[[2]string]statsRow) error {
	op := "replace roll-ups of " + keyID
	for attempt := 1; ; attempt++ {
		hourOps, dayOps, err := s.replaceOps(ctx, keyID, from, to, want)
		if err != nil {
			return err
		}
		err = s.runReplace(ctx, hourOps, dayOps)
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
// inside [from, to) and lists the writes that bring them to want, hour
// rows and day rows apart.
func (s *StatsStore) replaceOps(ctx context.Context, keyID string, from, to time.Time, want map[[2]string]statsRow) (hourOps, dayOps []replaceOp, err error) {
	type current struct {
		r   convertor.Rollup
		ver int64
	}
	have := make(map[[2]string]current)
	read := func(period string) error {
		lo, hi := convertor.CoveredPeriods(from, to, period)
		if !lo.Before(hi) {
			return nil
		}
		return s.querySeries(ctx, statsPartition(period, keyID), lo, hi, func(r convertor.Rollup, ver int64) {
			pk, sk := statsItemKey(convertor.RollupKey{Period: period, KeyID: keyID, Model: r.Model, Start: r.Start})
			have[[2]string{pk, sk}] = current{r, ver}
		})
	}
	if err := read(convertor.PeriodHour); err != nil {
		return nil, nil, err
	}
	if err := read(convertor.PeriodDay); err != nil {
		return nil, nil, err
	}
	add := func(k [2]string, op replaceOp) {
		if op.pk == "" {
			op.pk, op.sk = k[0], k[1]
		}
		if op.want != nil && op.want.Period == convertor.PeriodDay || op.want == nil && op.old.Period == convertor.PeriodDay {
			dayOps = append(dayOps, op)
		} else {
			hourOps = append(hourOps, op)
		}
	}
	for k, row := range want {
		cur, ok := have[k]
		if ok && cur.r.SameCounts(row.r) {
			continue
		}
		w := row.r
		add(k, replaceOp{want: &w, old: cur.r, ver: cur.ver})
	}
	for k, cur := range have {
		if _, ok := want[k]; !ok {
			add(k, replaceOp{old: cur.r, ver: cur.ver})
		}
	}
	bySK := func(a, b replaceOp) int { return cmp.Compare(a.sk, b.sk) }
	slices.SortFunc(hourOps, bySK)
	slices.SortFunc(dayOps, bySK)
	return hourOps, dayOps, nil
}

// runReplace writes the ops in transactions: hour rows with their days'
// directory entries, day rows with the matching every-key and month ADDs
// and directory entries, one month per transaction. A table rebuilt from
// nothing thus lists its keys again.
func (s *StatsStore) runReplace(ctx context.Context, hourOps, dayOps []replaceOp) error {
	// 90 consecutive hours span at most 5 days: 5 directory entries.
	for chunk := range slices.Chunk(hourOps, maxTransactItems-10) {
		items := make([]types.TransactWriteItem, 0, maxTransactItems)
		dirs := make(map[string]bool)
		for _, op := range chunk {
			items = append(items, s.replaceItem(op))
			items = s.appendDirectory(items, dirs, op)
		}
		if err := s.transact(ctx, items); err != nil {
			return err
		}
	}
	// Each day op costs three items (its row, its every-key row, its
	// directory entry) and the transaction one more for the month.
	const perTx = (maxTransactItems - 1) / 3
	for len(dayOps) > 0 {
		month := opMonth(dayOps[0])
		n := 0
		for n < len(dayOps) && n < perTx && opMonth(dayOps[n]) == month {
			n++
		}
		chunk := dayOps[:n]
		dayOps = dayOps[n:]
		items := make([]types.TransactWriteItem, 0, 3*len(chunk)+1)
		dirs := make(map[string]bool)
		var monthDelta convertor.Rollup
		for _, op := range chunk {
			items = append(items, s.replaceItem(op))
			var d convertor.Rollup
			if op.want != nil {
				d.Add(*op.want)
			}
			d.Sub(op.old)
			monthDelta.Add(d)
			allKeys, _ := opRow(op).Key().Totals()
			all := newStatsRow(allKeys, d)
			items = append(items, types.TransactWriteItem{Update: s.addUpdate(&all)})
			items = s.appendDirectory(items, dirs, op)
		}
		m := newStatsRow(month, monthDelta)
		items = append(items, types.TransactWriteItem{Update: s.addUpdate(&m)})
		if err := s.transact(ctx, items); err != nil {
			return err
		}
	}
	return nil
}

// appendDirectory adds the directory entry of the day of op's row, once
// per transaction (dirs), when op writes the row.
func (s *StatsStore) appendDirectory(items []types.TransactWriteItem, dirs map[string]bool, op replaceOp) []types.TransactWriteItem {
	if op.want == nil {
		return items
	}
	row := directoryRow(op.want.KeyID, convertor.PeriodStart(op.want.Start, convertor.PeriodDay))
	if dirs[row.pk] {
		return items
	}
	dirs[row.pk] = true
	return append(items, s.directoryPut(&row))
}

// opRow returns the row op writes or deletes.
func opRow(op replaceOp) *convertor.Rollup {
	if op.want != nil {
		return op.want
	}
	return &op.old
}

// opMonth returns the key of the month-spend row that sums op's day row.
func opMonth(op replaceOp) convertor.RollupKey {
	_, month := opRow(op).Key().Totals()
	return month
}

// replaceItem writes op's row as an absolute value, or deletes it, on the
// condition that nobody wrote it since it was read.
func (s *StatsStore) replaceItem(op replaceOp) types.TransactWriteItem {
	key := item{attrPK: attrS(op.pk), statsAttrSK: attrS(op.sk)}
	cond, names, values := aws.String("attribute_not_exists(pk)"), map[string]string(nil), item(nil)
	if op.ver != 0 {
		cond = aws.String("#ver = :ver")
		names = map[string]string{"#ver": statsAttrVersion}
		values = item{":ver": attrN(op.ver)}
	}
	if op.want == nil {
		return types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: key,
			ConditionExpression: cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}}
	}
	it := key
	row := statsRow{pk: op.pk, sk: op.sk, r: *op.want}
	for _, a := range rowDescription(&row) {
		it[a.name] = a.value
	}
	for _, c := range rowCounters(row.r) {
		it.setN(c.name, c.v)
	}
	it[statsAttrVersion] = attrN(op.ver + 1)
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
