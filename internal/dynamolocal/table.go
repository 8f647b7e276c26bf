package dynamolocal

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/btree"
	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// btreeDegree suits small entries: wide nodes, few levels.
const btreeDegree = 32

// keySchema names a table's or index's key attributes and their types.
type keySchema struct {
	hash, rng         string
	hashKind, rngKind attr.Kind
}

// entry is one item in a table's tree, under its encoded key. Items are
// kept in their wire form: a few hundred bytes without pointers, where a
// decoded item is several kilobytes of maps and strings for the garbage
// collector to scan; they are decoded when an operation needs them.
type entry struct {
	key  string
	raw  []byte // the item's wire form, attribute names sorted
	size int    // the item's size as DynamoDB counts it
}

// decode turns a stored wire form back into an item. Stored forms are
// written by attr.AppendItem, so one that does not decode is a bug.
func decode(raw []byte) attr.Item {
	var it attr.Item
	if err := it.UnmarshalJSON(raw); err != nil {
		panic("dynamolocal: stored item does not decode: " + err.Error())
	}
	return it
}

func entryLess(a, b *entry) bool { return a.key < b.key }

// table is one table: its definition as created, its items ordered by
// key, and its secondary indexes kept in step with every write.
type table struct {
	name     string
	created  time.Time
	schema   keySchema
	defs     []attributeDefinition
	billing  string
	through  *provisionedThroughput
	indexes  []*index // GSIs then LSIs, in creation order
	items    *btree.BTreeG[*entry]
	bytes    int64
	ttlAttr  string // empty when TTL is disabled
	ttl      *btree.BTreeG[ttlEntry]
	stream   *streamSpecification
	sse      any
	tags     []tag
	tableID  string
	deleting bool
}

// index is a secondary index: entries under the index key followed by
// the table key, so items sharing index keys stay distinct and ordered.
type index struct {
	name       string
	global     bool
	schema     keySchema
	projection projection
	through    *provisionedThroughput
	entries    *btree.BTreeG[*indexEntry]
	bytes      int64
}

// indexEntry is an item as an index holds it: the projected item's wire
// form (the table's own for an index projecting everything) and the table
// key it came from.
type indexEntry struct {
	key      string // index key + table key
	tableKey string
	raw      []byte
	size     int
}

func indexEntryLess(a, b *indexEntry) bool { return a.key < b.key }

// ttlEntry orders items by expiry so that expired ones are found without
// a scan.
type ttlEntry struct {
	at  int64
	key string
}

func ttlLess(a, b ttlEntry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.key < b.key
}

func newTable(name string, now time.Time) *table {
	return &table{
		name:    name,
		created: now,
		items:   btree.NewG(btreeDegree, entryLess),
		tableID: fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(now.UnixNano()), uint64(len(name))<<32|uint64(now.UnixNano()&0xffffffff)),
	}
}

// get returns the item under key, or nil.
func (t *table) get(key string) attr.Item {
	if e, ok := t.items.Get(&entry{key: key}); ok {
		return decode(e.raw)
	}
	return nil
}

// getRaw returns the wire form of the item under key.
func (t *table) getRaw(key string) ([]byte, bool) {
	if e, ok := t.items.Get(&entry{key: key}); ok {
		return e.raw, true
	}
	return nil, false
}

// put stores item under key, replacing any item there, and keeps the
// indexes and the TTL order in step.
func (t *table) put(key string, item attr.Item) {
	e := &entry{key: key, raw: attr.AppendItem(nil, item), size: item.Size()}
	old, had := t.items.ReplaceOrInsert(e)
	var oldItem attr.Item
	if had {
		t.bytes -= int64(old.size)
		oldItem = t.tracked(old)
	}
	t.bytes += int64(e.size)
	for _, ix := range t.indexes {
		ix.update(t, key, oldItem, item, e)
	}
	t.updateTTL(key, oldItem, item)
}

// tracked decodes an item being replaced or removed when indexes or TTL
// need its old attributes, and skips the work when nothing does.
func (t *table) tracked(e *entry) attr.Item {
	if len(t.indexes) == 0 && t.ttlAttr == "" {
		return nil
	}
	return decode(e.raw)
}

// remove deletes the item under key, if any.
func (t *table) remove(key string) {
	old, had := t.items.Delete(&entry{key: key})
	if !had {
		return
	}
	t.bytes -= int64(old.size)
	oldItem := t.tracked(old)
	for _, ix := range t.indexes {
		ix.update(t, key, oldItem, nil, nil)
	}
	t.updateTTL(key, oldItem, nil)
}

// update moves an item's index entry from its old version to its new one
// (either may be nil); stored is the new version's table entry. Items
// without all of the index's key attributes, or with them of another
// type, are not in the index, as in DynamoDB.
func (ix *index) update(t *table, tableKey string, old, item attr.Item, stored *entry) {
	if k, ok := ix.entryKey(tableKey, old); ok {
		if e, had := ix.entries.Delete(&indexEntry{key: k}); had {
			ix.bytes -= int64(e.size)
		}
	}
	if k, ok := ix.entryKey(tableKey, item); ok {
		ie := &indexEntry{key: k, tableKey: tableKey, raw: stored.raw, size: stored.size}
		if ix.projection.kind != "ALL" {
			p := ix.projection.apply(item, &t.schema, &ix.schema)
			ie.raw, ie.size = attr.AppendItem(nil, p), p.Size()
		}
		ix.entries.ReplaceOrInsert(ie)
		ix.bytes += int64(ie.size)
	}
}

func (ix *index) entryKey(tableKey string, item attr.Item) (string, bool) {
	if item == nil {
		return "", false
	}
	h, ok := item[ix.schema.hash]
	if !ok || h.Kind != ix.schema.hashKind {
		return "", false
	}
	b := appendKeyPart(make([]byte, 0, 64), h)
	if ix.schema.rng != "" {
		r, ok := item[ix.schema.rng]
		if !ok || r.Kind != ix.schema.rngKind {
			return "", false
		}
		b = appendKeyPart(b, r)
	}
	return string(append(b, tableKey...)), true
}

// projection is which attributes an index keeps.
type projection struct {
	kind    string // ALL, KEYS_ONLY, INCLUDE
	include []string
}

func (p projection) apply(item attr.Item, table, idx *keySchema) attr.Item {
	if p.kind == "ALL" {
		return item
	}
	out := attr.Item{}
	for _, name := range []string{table.hash, table.rng, idx.hash, idx.rng} {
		if v, ok := item[name]; ok && name != "" {
			out[name] = v
		}
	}
	for _, name := range p.include {
		if v, ok := item[name]; ok {
			out[name] = v
		}
	}
	return out
}

// updateTTL keeps the expiry order: an item expires at the epoch seconds
// in its TTL attribute when that is a number, as DynamoDB reads it.
func (t *table) updateTTL(key string, old, item attr.Item) {
	if t.ttlAttr == "" {
		return
	}
	if at, ok := expiry(old, t.ttlAttr); ok {
		t.ttl.Delete(ttlEntry{at: at, key: key})
	}
	if at, ok := expiry(item, t.ttlAttr); ok {
		t.ttl.ReplaceOrInsert(ttlEntry{at: at, key: key})
	}
}

func expiry(item attr.Item, name string) (int64, bool) {
	v, ok := item[name]
	if !ok || v.Kind != attr.KindN {
		return 0, false
	}
	whole, _, _ := strings.Cut(v.S, ".")
	var at int64
	for _, c := range strings.TrimPrefix(whole, "-") {
		if at > 1<<50 {
			return 0, false // far beyond any real expiry: never
		}
		at = at*10 + int64(c-'0')
	}
	if strings.HasPrefix(whole, "-") {
		return 0, false
	}
	return at, true
}

// enableTTL starts tracking expiry on name for every item.
func (t *table) enableTTL(name string) {
	t.ttlAttr = name
	t.ttl = btree.NewG(btreeDegree, ttlLess)
	t.items.Ascend(func(e *entry) bool {
		if at, ok := expiry(decode(e.raw), name); ok {
			t.ttl.ReplaceOrInsert(ttlEntry{at: at, key: e.key})
		}
		return true
	})
}

func (t *table) disableTTL() {
	t.ttlAttr = ""
	t.ttl = nil
}

// expire deletes up to limit items whose expiry is before now and
// returns how many it deleted. DynamoDB deletes expired items in the
// background some time after they expire; so does this, in small steps.
func (t *table) expire(now int64, limit int) int {
	if t.ttl == nil {
		return 0
	}
	n := 0
	for n < limit {
		first, ok := t.ttl.Min()
		if !ok || first.at >= now {
			break
		}
		t.remove(first.key) // removes the ttl entry too
		t.ttl.Delete(first)
		n++
	}
	return n
}

// keyNames returns the names of the table's key attributes and those of
// every index, which items must give with the defined types.
func (t *table) attributeKind(name string) (attr.Kind, bool) {
	for _, d := range t.defs {
		if d.AttributeName == name {
			k, ok := attr.KindOf(d.AttributeType)
			return k, ok
		}
	}
	return 0, false
}

// findIndex returns the named index, or nil.
func (t *table) findIndex(name string) *index {
	for _, ix := range t.indexes {
		if ix.name == name {
			return ix
		}
	}
	return nil
}

// indexNames lists the table's index names, for messages.
func (t *table) indexNames() []string {
	var names []string
	for _, ix := range t.indexes {
		names = append(names, ix.name)
	}
	slices.Sort(names)
	return names
}
