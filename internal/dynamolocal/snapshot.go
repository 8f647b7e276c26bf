package dynamolocal

import (
	"slices"

	"github.com/google/btree"
)

// Snapshot is every table's items frozen at one moment. Taking one costs
// O(tables): each B-tree is cloned lazily, copy-on-write, so the handler
// keeps serving while the snapshot is read, and writes after it do not
// show in it.
type Snapshot struct {
	tables []frozenTable
}

type frozenTable struct {
	name  string
	items *btree.BTreeG[*entry]
}

// Snapshot freezes the tables as they are now, between two operations:
// a transaction is in it whole or not at all.
func (h *Handler) Snapshot() *Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &Snapshot{}
	for name, t := range h.tables {
		s.tables = append(s.tables, frozenTable{name: name, items: t.items.Clone()})
	}
	slices.SortFunc(s.tables, func(a, b frozenTable) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return s
}

// Tables returns the names of the snapshot's tables, sorted.
func (s *Snapshot) Tables() []string {
	names := make([]string, len(s.tables))
	for i, t := range s.tables {
		names[i] = t.name
	}
	return names
}

// Items calls fn with the wire form of each item of table, its
// attributes sorted by name, in key order until fn returns false. fn must
// not keep or modify the bytes.
func (s *Snapshot) Items(table string, fn func(raw []byte) bool) {
	for _, t := range s.tables {
		if t.name == table {
			t.items.Ascend(func(e *entry) bool { return fn(e.raw) })
			return
		}
	}
}
