package dynamolocal

import (
	"encoding/json"
	"hash/fnv"

	"github.com/google/btree"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
	"github.com/openai-api-convertor/convertor/internal/dynamolocal/expr"
)

// maxPageBytes is the data a Query or Scan reads before it stops and
// returns a LastEvaluatedKey, as DynamoDB's 1 MB page.
const maxPageBytes = 1 << 20

// source is what a Query or Scan reads: a table or one of its indexes.
type source struct {
	t  *table
	ix *index // nil for the table itself
}

func (s source) schema() *keySchema {
	if s.ix != nil {
		return &s.ix.schema
	}
	return &s.t.schema
}

// walk visits the items with lo <= key < hi (hi "" for no bound) in key
// order, or in reverse, starting after the key after when it is set; fn
// gets each item's wire form and size.
func (s source) walk(lo, hi, after string, forward bool, fn func(key string, raw []byte, size int) bool) {
	if s.ix == nil {
		walkTree(s.t.items, func(k string) *entry { return &entry{key: k} },
			func(e *entry) (string, []byte, int) { return e.key, e.raw, e.size }, lo, hi, after, forward, fn)
		return
	}
	walkTree(s.ix.entries, func(k string) *indexEntry { return &indexEntry{key: k} },
		func(e *indexEntry) (string, []byte, int) { return e.key, e.raw, e.size }, lo, hi, after, forward, fn)
}

func walkTree[E any](tr *btree.BTreeG[E], probe func(string) E, open func(E) (string, []byte, int),
	lo, hi, after string, forward bool, fn func(string, []byte, int) bool) {
	if forward {
		tr.AscendGreaterOrEqual(probe(max(lo, after)), func(e E) bool {
			k, raw, size := open(e)
			if hi != "" && k >= hi {
				return false
			}
			if after != "" && k <= after {
				return true
			}
			return fn(k, raw, size)
		})
		return
	}
	visit := func(e E) bool {
		k, raw, size := open(e)
		if k < lo {
			return false
		}
		if (hi != "" && k >= hi) || (after != "" && k >= after) {
			return true
		}
		return fn(k, raw, size)
	}
	top := hi
	if after != "" && (top == "" || after < top) {
		top = after
	}
	if top == "" {
		tr.Descend(visit)
		return
	}
	tr.DescendLessOrEqual(probe(top), visit)
}

// fullItem returns the table's item for an index entry, for a local
// index that does not project everything.
func (s source) fullItem(item attr.Item) ([]byte, int, bool) {
	if e, ok := s.t.items.Get(&entry{key: s.t.schema.encodeKey(item)}); ok {
		return e.raw, e.size, true
	}
	return nil, 0, false
}

// prefixEnd is the least string greater than every string starting with
// p, or "" when there is none.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// page is one Query or Scan answer being built. Items are decoded only
// when a filter, a projection, a segment or an index fetch needs them;
// otherwise their stored wire form goes into the answer as it is.
type page struct {
	filter  *expr.Condition
	proj    *expr.Projection
	count   bool // Select COUNT
	limit   int
	full    func(item attr.Item) ([]byte, int, bool) // fetches what an index lacks, or nil
	keyOf   func(item attr.Item) attr.Item           // the LastEvaluatedKey of an item
	segment func(item attr.Item) bool                // Scan segments, or nil

	items   []json.RawMessage
	matched int
	scanned int
	bytes   int
	last    attr.Item
	err     error
}

// add takes one item in key order and reports whether to go on.
func (p *page) add(_ string, raw []byte, size int) bool {
	var item attr.Item
	decoded := func() attr.Item {
		if item == nil {
			item = decode(raw)
		}
		return item
	}
	if p.segment != nil && !p.segment(decoded()) {
		return true
	}
	if p.full != nil {
		if r, n, ok := p.full(decoded()); ok {
			raw, size, item = r, n, nil
		}
	}
	p.scanned++
	p.bytes += size
	ok := true
	if p.filter != nil {
		var err error
		if ok, err = p.filter.Eval(decoded()); err != nil {
			p.err = err
			return false
		}
	}
	if ok {
		p.matched++
		switch {
		case p.count:
		case p.proj != nil:
			p.items = append(p.items, attr.AppendItem(nil, p.proj.Apply(decoded())))
		default:
			p.items = append(p.items, raw)
		}
	}
	if p.scanned == p.limit || p.bytes >= maxPageBytes {
		p.last = p.keyOf(decoded())
		return false
	}
	return true
}

func (p *page) answer(table string, consumed string, consistent bool) map[string]any {
	out := map[string]any{"Count": p.matched, "ScannedCount": p.scanned}
	if !p.count {
		items := p.items
		if items == nil {
			items = []json.RawMessage{}
		}
		out["Items"] = items
	}
	if p.last != nil {
		out["LastEvaluatedKey"] = p.last
	}
	addCapacity(out, consumed, table, readUnits(p.bytes, consistent))
	return out
}

// lastKey returns the function building a LastEvaluatedKey from an item:
// the table's key attributes, and the index's for an index.
func lastKey(s source) func(attr.Item) attr.Item {
	names := []string{s.t.schema.hash, s.t.schema.rng}
	if s.ix != nil {
		names = append(names, s.ix.schema.hash, s.ix.schema.rng)
	}
	return func(item attr.Item) attr.Item {
		k := attr.Item{}
		for _, n := range names {
			if v, ok := item[n]; ok && n != "" {
				k[n] = v
			}
		}
		return k
	}
}

// startKey validates an ExclusiveStartKey and returns its encoded key in
// the source's order.
func startKey(s source, esk attr.Item) (string, error) {
	if esk == nil {
		return "", nil
	}
	bad := validation("The provided starting key is invalid: The provided key element does not match the schema")
	tk, err := s.t.keyOf(pick(esk, s.t.schema.hash, s.t.schema.rng))
	if err != nil {
		return "", bad
	}
	if s.ix == nil {
		if len(esk) != len(pick(esk, s.t.schema.hash, s.t.schema.rng)) {
			return "", bad
		}
		return tk, nil
	}
	k, ok := s.ix.entryKey(tk, esk)
	if !ok {
		return "", bad
	}
	return k, nil
}

func pick(it attr.Item, names ...string) attr.Item {
	out := attr.Item{}
	for _, n := range names {
		if v, ok := it[n]; ok && n != "" {
			out[n] = v
		}
	}
	return out
}

// resolveSource finds the table and index a Query or Scan reads and
// checks Select against it.
func (h *Handler) resolveSource(table string, indexName *string, sel string, proj *string, consistent bool) (source, bool, error) {
	t, err := h.table(table)
	if err != nil {
		return source{}, false, err
	}
	s := source{t: t}
	if indexName != nil {
		if s.ix = t.findIndex(*indexName); s.ix == nil {
			return source{}, false, validation("The table does not have the specified index: %s", *indexName)
		}
		if s.ix.global && consistent {
			return source{}, false, validation("Consistent reads are not supported on global secondary indexes")
		}
	}
	switch sel {
	case "", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT":
	default:
		return source{}, false, validation("1 validation error detected: Value '%s' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]", sel)
	}
	if sel == "ALL_PROJECTED_ATTRIBUTES" && s.ix == nil {
		return source{}, false, validation("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not supported for a query on the table")
	}
	if proj != nil && sel != "" && sel != "SPECIFIC_ATTRIBUTES" {
		return source{}, false, validation("One or more parameter values were invalid: Cannot specify the ProjectionExpression when choosing to get %s", sel)
	}
	if sel == "SPECIFIC_ATTRIBUTES" && proj == nil {
		return source{}, false, validation("One or more parameter values were invalid: Must specify the ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
	}
	// An index that does not project everything answers ALL_ATTRIBUTES
	// from the table when it is local, and refuses it when global.
	fetch := false
	if s.ix != nil && sel == "ALL_ATTRIBUTES" && s.ix.projection.kind != "ALL" {
		if s.ix.global {
			return source{}, false, validation("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index %s because its projection type is not ALL", s.ix.name)
		}
		fetch = true
	}
	return s, fetch, nil
}

func checkLimit(limit *int) (int, error) {
	if limit == nil {
		return 0, nil
	}
	if *limit < 1 {
		return 0, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *limit)
	}
	return *limit, nil
}

func (h *Handler) query(in *queryInput) (any, error) {
	if err := legacy(in.legacyInputs); err != nil {
		return nil, err
	}
	if in.KeyConditionExpression == nil {
		return nil, validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	if in.Segment != nil || in.TotalSegments != nil {
		return nil, validation("Segment and TotalSegments are Scan parameters")
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, fetch, err := h.resolveSource(in.TableName, in.IndexName, in.Select, in.ProjectionExpression, in.ConsistentRead)
	if err != nil {
		return nil, err
	}
	schema := s.schema()
	refs := expr.NewRefs(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	kc, err := expr.ParseKeyCondition(*in.KeyConditionExpression, refs, schema.hash, schema.rng)
	if err != nil {
		return nil, err
	}
	p := &page{limit: limit, count: in.Select == "COUNT", keyOf: lastKey(s)}
	if in.FilterExpression != nil {
		if p.filter, err = expr.ParseFilter(*in.FilterExpression, refs); err != nil {
			return nil, err
		}
		for _, root := range p.filter.Roots() {
			if root == schema.hash || root == schema.rng {
				return nil, validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s", root)
			}
		}
	}
	if in.ProjectionExpression != nil {
		if p.proj, err = expr.ParseProjection(*in.ProjectionExpression, refs); err != nil {
			return nil, err
		}
	}
	if err := refs.CheckUnused(); err != nil {
		return nil, err
	}
	lo, hi, err := keyRange(schema, kc)
	if err != nil {
		return nil, err
	}
	after, err := startKey(s, in.ExclusiveStartKey)
	if err != nil {
		return nil, err
	}
	if fetch {
		p.full = s.fullItem
	}
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	s.walk(lo, hi, after, forward, p.add)
	if p.err != nil {
		return nil, p.err
	}
	return p.answer(s.t.name, in.ReturnConsumedCapacity, in.ConsistentRead), nil
}

// keyRange turns a key condition into the range of encoded keys it
// selects: one partition, narrowed by the sort key condition.
func keyRange(schema *keySchema, kc *expr.KeyCondition) (lo, hi string, err error) {
	mismatch := validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
	if kc.Value.Kind != schema.hashKind {
		return "", "", mismatch
	}
	part := encodePartition(kc.Value)
	lo, hi = part, prefixEnd(part)
	sc := kc.Sort
	if sc == nil {
		return lo, hi, nil
	}
	for _, v := range sc.Values {
		if v.Kind != schema.rngKind {
			return "", "", mismatch
		}
	}
	at := func(v attr.Value) string { return part + string(appendKeyPart(nil, v)) }
	switch sc.Op {
	case expr.SortEQ:
		k := at(sc.Values[0])
		return k, prefixEnd(k), nil
	case expr.SortLT:
		return lo, at(sc.Values[0]), nil
	case expr.SortLE:
		return lo, prefixEnd(at(sc.Values[0])), nil
	case expr.SortGT:
		return prefixEnd(at(sc.Values[0])), hi, nil
	case expr.SortGE:
		return at(sc.Values[0]), hi, nil
	case expr.SortBetween:
		if c, _ := attr.Compare(sc.Values[0], sc.Values[1]); c > 0 {
			return "", "", validation("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {%s:%s}, upper bound operand: AttributeValue: {%s:%s}",
				sc.Values[0].Kind, sc.Values[0].S, sc.Values[1].Kind, sc.Values[1].S)
		}
		return at(sc.Values[0]), prefixEnd(at(sc.Values[1])), nil
	case expr.SortBeginsWith:
		v := sc.Values[0]
		if v.Kind == attr.KindN {
			return "", "", validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
		}
		enc := appendKeyPart(nil, v)
		prefix := part + string(enc[:len(enc)-2]) // without the terminator
		return prefix, prefixEnd(prefix), nil
	}
	return "", "", validation("Invalid KeyConditionExpression: unsupported sort key condition")
}

func (h *Handler) scan(in *queryInput) (any, error) {
	if err := legacy(in.legacyInputs); err != nil {
		return nil, err
	}
	if in.KeyConditionExpression != nil || in.ScanIndexForward != nil {
		return nil, validation("KeyConditionExpression and ScanIndexForward are Query parameters")
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	segment, total := 0, 0
	switch {
	case in.Segment == nil && in.TotalSegments == nil:
	case in.Segment == nil || in.TotalSegments == nil:
		return nil, validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
	default:
		segment, total = *in.Segment, *in.TotalSegments
		if total < 1 || total > 1000000 {
			return nil, validation("1 validation error detected: Value '%d' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000 and greater than or equal to 1", total)
		}
		if segment < 0 || segment >= total {
			return nil, validation("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: %d is not less than TotalSegments: %d", segment, total)
		}
	}
	x, err := parseExprsAs(in.expressionInputs, in.FilterExpression, nil, in.ProjectionExpression, expr.ParseFilter)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, fetch, err := h.resolveSource(in.TableName, in.IndexName, in.Select, in.ProjectionExpression, in.ConsistentRead)
	if err != nil {
		return nil, err
	}
	p := &page{limit: limit, count: in.Select == "COUNT", keyOf: lastKey(s), filter: x.cond, proj: x.proj}
	if total > 1 {
		hashName := s.t.schema.hash
		p.segment = func(item attr.Item) bool {
			f := fnv.New32a()
			f.Write([]byte(encodePartition(item[hashName])))
			return int(f.Sum32()%uint32(total)) == segment
		}
	}
	if fetch {
		p.full = s.fullItem
	}
	after, err := startKey(s, in.ExclusiveStartKey)
	if err != nil {
		return nil, err
	}
	s.walk("", "", after, true, p.add)
	if p.err != nil {
		return nil, p.err
	}
	return p.answer(s.t.name, in.ReturnConsumedCapacity, in.ConsistentRead), nil
}
