package devstack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal"
)

// DefaultSnapshotInterval is how often changed tables are saved: at most
// that much is lost when the process is killed rather than stopped. Once
// tables are so large that a save takes more than a tenth of it, saves
// come ten save-times apart instead.
const DefaultSnapshotInterval = 5 * time.Second

// maxRequestBytes bounds one DynamoDB request body; DynamoDB's own largest
// request (a 25-item batch of 400 KB items, or a 100-item transaction
// holding 4 MB) fits well.
const maxRequestBytes = 16 << 20

// targetPrefix is the X-Amz-Target prefix of the DynamoDB JSON protocol.
const targetPrefix = "DynamoDB_20120810."

// readOps are the operations that change nothing; every other one marks
// the tables as changed.
var readOps = map[string]bool{
	"GetItem": true, "BatchGetItem": true, "Query": true, "Scan": true,
	"TransactGetItems": true, "DescribeTable": true, "ListTables": true,
	"DescribeTimeToLive": true,
}

// DynamoDBOptions configures an embedded DynamoDB-compatible server.
type DynamoDBOptions struct {
	// Addr is the listen address, such as "127.0.0.1:8001"; port 0 picks
	// a free one.
	Addr string
	// Fallback picks a free port when Addr is taken instead of failing.
	Fallback bool
	// SnapshotPath is the file the tables are loaded from at start and
	// saved to; empty keeps them in memory only.
	SnapshotPath string
	// SnapshotInterval is how often changed tables are saved, default
	// DefaultSnapshotInterval.
	SnapshotInterval time.Duration
	Log              *slog.Logger
}

// DynamoDB is a DynamoDB-compatible server in this process: dynamolocal's
// in-memory implementation of the JSON protocol, plus a snapshot file that
// keeps the tables across restarts.
// Safe for concurrent use; requests are served one at a time.
type DynamoDB struct {
	h    *dynamolocal.Handler
	path string
	log  *slog.Logger

	// mu serializes requests, although h does too: a snapshot's scans
	// must see one point in time, and the write count must match what h
	// holds.
	mu     sync.Mutex
	tables map[string]*tableDef // by name; mu must be held
	writes uint64               // write requests served; mu must be held
	closed bool                 // refuse requests; mu must be held

	saveMu sync.Mutex // one save at a time
	saved  uint64     // writes included in the file; saveMu must be held

	ln       net.Listener
	http     *http.Server
	stop     chan struct{}
	done     chan struct{} // closed when the snapshot loop has returned
	closeErr error
	once     sync.Once

	// FellBack reports that the requested address was taken and a free
	// port was used.
	FellBack bool
}

// tableDef is how a table came to be: its CreateTable request and the
// UpdateTable requests since, replayed in order when the table is loaded.
// A DescribeTable answer is not a CreateTable input (it lacks billing
// details, adds statuses and counts); replaying the client's own requests
// loses nothing.
type tableDef struct {
	Create  json.RawMessage
	Updates []json.RawMessage
}

// StartDynamoDB loads the snapshot, if there is one, and serves the tables
// on opts.Addr until Close. A snapshot that cannot be read is an error, not
// an empty start: starting empty would overwrite it at the next save.
func StartDynamoDB(opts DynamoDBOptions) (*DynamoDB, error) {
	if opts.SnapshotInterval <= 0 {
		opts.SnapshotInterval = DefaultSnapshotInterval
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	d := &DynamoDB{
		h:      dynamolocal.NewHandler(),
		path:   opts.SnapshotPath,
		log:    opts.Log,
		tables: map[string]*tableDef{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if d.path != "" {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
			return nil, fmt.Errorf("start dynamodb: %w", err)
		}
		removeTemps(d.path)
		n, err := d.load()
		if err != nil {
			return nil, fmt.Errorf("start dynamodb: %w", err)
		}
		if n > 0 {
			d.log.Info("dynamodb tables loaded", "tables", len(d.tables), "items", n, "snapshot", d.path)
		}
	}
	ln, fellBack, err := Listen(opts.Addr, opts.Fallback)
	if err != nil {
		return nil, fmt.Errorf("start dynamodb: %w", err)
	}
	d.ln, d.FellBack = ln, fellBack
	d.http = &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("dynamodb server stopped", "err", err)
		}
	}()
	if d.path == "" {
		close(d.done)
	} else {
		go d.snapshotLoop(opts.SnapshotInterval)
	}
	return d, nil
}

// Endpoint returns the URL clients use (DYNAMODB_ENDPOINT_URL).
func (d *DynamoDB) Endpoint() string { return "http://" + d.ln.Addr().String() }

// Close stops serving and saves the tables one last time. Connections
// are closed at once rather than drained: requests are served one at a
// time in milliseconds, and the one being served completes before the
// save; requests still queued are refused. Stop the clients first.
// Calling Close again returns the first call's result.
func (d *DynamoDB) Close() error {
	d.once.Do(func() {
		err := d.http.Close()
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		close(d.stop)
		<-d.done
		if d.path != "" {
			err = errors.Join(err, d.Save())
		}
		d.closeErr = err
	})
	return d.closeErr
}

// snapshotLoop saves the tables every interval while they keep changing.
func (d *DynamoDB) snapshotLoop(interval time.Duration) {
	defer close(d.done)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			start := time.Now()
			if err := d.Save(); err != nil {
				// Logged, not fatal: the next tick or Close tries again,
				// and the previous snapshot is intact.
				d.log.Error("dynamodb snapshot not saved", "err", err, "snapshot", d.path)
			}
			t.Reset(nextSave(interval, time.Since(start)))
		}
	}
}

// snapshotShare bounds the time spent saving to about a tenth of the
// time: a save rewrites every table, so with large tables the saves come
// less often rather than taking a core.
const snapshotShare = 10

// nextSave is how long to wait before the next save after one that took
// took: the interval, or longer when saves have become slow.
func nextSave(interval, took time.Duration) time.Duration {
	return max(interval, snapshotShare*took)
}

// ServeHTTP implements http.Handler: the DynamoDB JSON protocol.
func (d *DynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "ValidationException", "request body too large or unreadable")
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the server is shutting down")
		return
	}
	if op == "ListTables" {
		d.listTables(w, body)
		return
	}
	d.serve(w, r.Method, r.Header, op, body)
}

// serve hands one request to h and keeps the table definitions and
// the write count up to date. d.mu must be held.
func (d *DynamoDB) serve(w http.ResponseWriter, method string, header http.Header, op string, body []byte) {
	req, _ := http.NewRequest(method, "/", bytes.NewReader(body))
	req.Header = header
	rec := &recorder{header: w.Header()}
	d.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
	if !readOps[op] {
		d.writes++
	}
	if rec.status == http.StatusOK {
		d.track(op, body)
	}
}

// track records a successful table creation, update or deletion.
// d.mu must be held.
func (d *DynamoDB) track(op string, body []byte) {
	switch op {
	case "CreateTable", "UpdateTable", "DeleteTable":
	default:
		return
	}
	var in struct{ TableName string }
	if json.Unmarshal(body, &in) != nil || in.TableName == "" {
		return
	}
	switch op {
	case "CreateTable":
		d.tables[in.TableName] = &tableDef{Create: compact(body)}
	case "UpdateTable":
		if t := d.tables[in.TableName]; t != nil {
			t.Updates = append(t.Updates, compact(body))
		}
	case "DeleteTable":
		delete(d.tables, in.TableName)
	}
}

// listTables answers ListTables from the tables created through this
// server, the ones a snapshot keeps. d.mu must be held.
func (d *DynamoDB) listTables(w http.ResponseWriter, body []byte) {
	var in struct {
		ExclusiveStartTableName string
		Limit                   int
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, "SerializationException", "cannot parse ListTables input")
			return
		}
	}
	if in.Limit <= 0 || in.Limit > 100 {
		in.Limit = 100
	}
	names := d.tableNames()
	i, _ := slices.BinarySearch(names, in.ExclusiveStartTableName)
	if i < len(names) && names[i] == in.ExclusiveStartTableName {
		i++
	}
	out := struct {
		TableNames             []string
		LastEvaluatedTableName string `json:",omitempty"`
	}{TableNames: []string{}}
	for ; i < len(names) && len(out.TableNames) < in.Limit; i++ {
		out.TableNames = append(out.TableNames, names[i])
	}
	if i < len(names) {
		out.LastEvaluatedTableName = out.TableNames[len(out.TableNames)-1]
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Write(b)
}

// tableNames returns the table names, sorted. d.mu must be held.
func (d *DynamoDB) tableNames() []string {
	names := make([]string, 0, len(d.tables))
	for n := range d.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// call runs one operation in process and decodes its answer into out.
// d.mu must be held.
func (d *DynamoDB) call(op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	h := http.Header{}
	h.Set("X-Amz-Target", targetPrefix+op)
	h.Set("Content-Type", "application/x-amz-json-1.0")
	rec := &recorder{header: http.Header{}}
	d.serve(rec, http.MethodPost, h, op, body)
	if rec.status != http.StatusOK {
		msg := strings.TrimSpace(rec.body.String())
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return fmt.Errorf("%s: status %d: %s", op, rec.status, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return nil
}

// recorder is an in-memory http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// writeError writes an error in the DynamoDB JSON protocol's shape.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	w.Write(b)
}

// compact returns b without insignificant space, or a copy of b if it is
// not JSON (it was accepted by the server, so it is).
func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return append(json.RawMessage(nil), b...)
	}
	return buf.Bytes()
}
