package devstack

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal"
)

// SnapshotFormat is the version of the snapshot file this code writes.
// A file of a newer version is refused rather than half-understood and then
// overwritten.
const SnapshotFormat = 1

// batchWriteMax is BatchWriteItem's limit on items per request.
const batchWriteMax = 25

// unprocessedRetries bounds the attempts at items a batch write handed back.
const unprocessedRetries = 5

// snapshot is the file's content: every table's definition and items in
// the DynamoDB JSON wire format, so the file is readable, diffable and
// loadable by any DynamoDB client.
type snapshot struct {
	Format  int             `json:"format"`
	SavedAt time.Time       `json:"saved_at"`
	Tables  []snapshotTable `json:"tables"`
}

type snapshotTable struct {
	Name    string            `json:"name"`
	Create  json.RawMessage   `json:"create"`
	Updates []json.RawMessage `json:"updates,omitempty"`
	Items   []json.RawMessage `json:"items"`
}

// Save writes the tables to the snapshot file if they changed since the
// last save: frozen at one point in time (which takes the lock only for
// as long as cloning each table's tree, so requests go on being served
// while the file is written), written to a temporary file, synced and
// renamed over the old one, so a crash at any moment leaves either the
// old snapshot or the new one, never a torn file.
func (d *DynamoDB) Save() error {
	if d.path == "" {
		return nil
	}
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	d.mu.Lock()
	if d.writes == d.saved {
		d.mu.Unlock()
		return nil
	}
	frozen := d.h.Snapshot()
	defs := make(map[string]tableDef, len(d.tables))
	for name, def := range d.tables {
		defs[name] = tableDef{Create: def.Create, Updates: slices.Clone(def.Updates)}
	}
	gen := d.writes
	d.mu.Unlock()
	snap := &frozenSnapshot{savedAt: time.Now().UTC(), defs: defs, items: frozen}
	if err := writeFileAtomic(d.path, snap.write); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	d.saved = gen
	return nil
}

// frozenSnapshot is what Save writes: the definitions of the tables
// created through this server and the engine's frozen items.
type frozenSnapshot struct {
	savedAt time.Time
	defs    map[string]tableDef
	items   *dynamolocal.Snapshot
}

// write encodes the snapshot with one item per line, in key order: compact,
// yet a diff of two snapshots shows the items that changed.
func (s *frozenSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	head, err := json.Marshal(struct {
		Format  int       `json:"format"`
		SavedAt time.Time `json:"saved_at"`
	}{SnapshotFormat, s.savedAt})
	if err != nil {
		return err
	}
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"tables":[`)
	first := true
	for _, name := range s.items.Tables() {
		def, ok := s.defs[name]
		if !ok {
			continue // created around this server; it cannot be recreated
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		head, err := json.Marshal(struct {
			Name    string            `json:"name"`
			Create  json.RawMessage   `json:"create"`
			Updates []json.RawMessage `json:"updates,omitempty"`
		}{name, def.Create, def.Updates})
		if err != nil {
			return fmt.Errorf("table %s: %w", name, err)
		}
		bw.WriteString("\n")
		bw.Write(head[:len(head)-1])
		bw.WriteString(`,"items":[`)
		n := 0
		s.items.Items(name, func(raw []byte) bool {
			if n > 0 {
				bw.WriteString(",")
			}
			n++
			bw.WriteString("\n")
			bw.Write(raw)
			return true
		})
		bw.WriteString("]}")
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// load creates the tables of the snapshot file and puts their items, and
// returns how many items it put. No file is an empty start.
// Called before the server listens, so nothing else touches the tables.
func (d *DynamoDB) load() (items int, err error) {
	snap, err := readSnapshot(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range snap.Tables {
		if err := d.call("CreateTable", t.Create, nil); err != nil {
			return items, fmt.Errorf("load snapshot %s: table %s: %w", d.path, t.Name, err)
		}
		for _, u := range t.Updates {
			if err := d.call("UpdateTable", u, nil); err != nil {
				return items, fmt.Errorf("load snapshot %s: table %s: %w", d.path, t.Name, err)
			}
		}
		if _, ok := d.tables[t.Name]; !ok {
			return items, fmt.Errorf("load snapshot %s: table %q: its create request names another table", d.path, t.Name)
		}
		for chunk := range slices.Chunk(t.Items, batchWriteMax) {
			if err := d.putItems(t.Name, chunk); err != nil {
				return items, fmt.Errorf("load snapshot %s: table %s: %w", d.path, t.Name, err)
			}
			items += len(chunk)
		}
	}
	// The tables now equal the file: nothing to save until a client writes.
	d.saved = d.writes
	return items, nil
}

// readSnapshot reads and checks a snapshot file. The errors name the file
// and say what to do, since the fix is the person's to make.
func readSnapshot(path string) (*snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		// A newer format might not parse as this one; check it first.
		var v struct {
			Format int `json:"format"`
		}
		if json.Unmarshal(b, &v) == nil && v.Format > SnapshotFormat {
			return nil, newerFormat(path, v.Format)
		}
		return nil, fmt.Errorf("snapshot %s is corrupt (%v): move it away to start with empty tables", path, err)
	}
	switch {
	case snap.Format > SnapshotFormat:
		return nil, newerFormat(path, snap.Format)
	case snap.Format < 1:
		return nil, fmt.Errorf("snapshot %s is corrupt (no format version): move it away to start with empty tables", path)
	}
	for i, t := range snap.Tables {
		if t.Name == "" || len(t.Create) == 0 {
			return nil, fmt.Errorf("snapshot %s is corrupt (table %d has no name or definition): move it away to start with empty tables", path, i)
		}
	}
	return &snap, nil
}

func newerFormat(path string, format int) error {
	return fmt.Errorf("snapshot %s has format %d, newer than this convertor reads (%d): run a newer convertor, or move the file away to start with empty tables", path, format, SnapshotFormat)
}

// putItems writes items with BatchWriteItem, retrying what comes back
// unprocessed. d.mu must be held.
func (d *DynamoDB) putItems(table string, items []json.RawMessage) error {
	type writeRequest struct {
		PutRequest struct{ Item json.RawMessage } `json:"PutRequest"`
	}
	reqs := make([]json.RawMessage, len(items))
	for i, it := range items {
		var wr writeRequest
		wr.PutRequest.Item = it
		b, err := json.Marshal(wr)
		if err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		reqs[i] = b
	}
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt == unprocessedRetries {
			return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(reqs), attempt)
		}
		var out struct {
			UnprocessedItems map[string][]json.RawMessage
		}
		in := map[string]any{"RequestItems": map[string][]json.RawMessage{table: reqs}}
		if err := d.call("BatchWriteItem", in, &out); err != nil {
			return err
		}
		reqs = out.UnprocessedItems[table]
	}
	return nil
}

// tempPattern names the temporary files of writeFileAtomic next to a file
// named base; os.CreateTemp puts a random string in place of the '*'.
func tempPattern(base string) string { return "." + base + ".*.tmp" }

// writeFileAtomic replaces path with what write writes: into a temporary
// file in the same directory, synced, then renamed over path and the
// directory synced. A crash leaves the old file or the new one whole; a
// failed write leaves the old one and no temporary file.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is durable only once the directory entry is.
	if df, err := os.Open(dir); err == nil {
		df.Sync()
		df.Close()
	}
	return nil
}

// removeTemps deletes temporary files a crash during a save left behind
// next to path; the snapshot itself is whole either way.
func removeTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	matches, _ := filepath.Glob(filepath.Join(dir, tempPattern(base)))
	for _, m := range matches {
		os.Remove(m)
	}
}
