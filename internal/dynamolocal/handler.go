// Package dynamolocal serves the DynamoDB JSON protocol in process for
// tests and local stacks: minidyn's in-memory server made safe for
// concurrent requests, with a TransactWriteItems whose cost does not grow
// with the size of the tables it touches.
package dynamolocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/truora/minidyn/server"
)

// targetPrefix is the X-Amz-Target prefix of the DynamoDB JSON protocol.
const targetPrefix = "DynamoDB_20120810."

// contentType is the media type of DynamoDB JSON requests and answers.
const contentType = "application/x-amz-json-1.0"

// maxRequestBytes bounds one request body: DynamoDB's largest request (a
// 100-item transaction of at most 4 MB, or a 25-item batch of 400 KB
// items) fits well.
const maxRequestBytes = 16 << 20

// Handler is an http.Handler speaking the DynamoDB JSON protocol, safe for
// concurrent use. Every request runs alone, so each is atomic with respect
// to the others.
//
// Requests go to the inner handler unchanged, except TransactWriteItems,
// which Handler runs itself as single-item calls to the inner handler with
// an undo log (see transact.go): minidyn's own implementation copies every
// table the transaction touches, so its cost grows with the tables.
type Handler struct {
	inner http.Handler

	// mu serializes every request to inner; the fields below are guarded
	// by it too.
	mu sync.Mutex
	// keys caches each table's key attribute names, hash key first.
	keys map[string][]string
}

// NewHandler returns a Handler over a new, empty minidyn server.
func NewHandler() *Handler {
	return Wrap(server.NewServer())
}

// Wrap returns a Handler over inner, which must speak the DynamoDB JSON
// protocol for at least DescribeTable, GetItem, PutItem, UpdateItem and
// DeleteItem. Nothing else may call inner: Handler's transactions are
// atomic only because it calls inner one request at a time.
func Wrap(inner http.Handler) *Handler {
	if inner == nil {
		panic("dynamolocal: Wrap needs a handler")
	}
	return &Handler{
		inner: inner,
		keys:  make(map[string][]string),
	}
}

// ServeHTTP serves one DynamoDB JSON request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is read and the answer written outside the lock, so a slow
	// client holds up no one else.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "ValidationException", fmt.Sprintf("read request: %v", err))
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)

	var rec *recorder
	h.mu.Lock()
	switch op {
	case "TransactWriteItems":
		rec = h.transactWriteItems(body)
	case "CreateTable", "DeleteTable":
		// A table recreated under the same name may have another key.
		clear(h.keys)
		rec = h.forward(r, body)
	default:
		rec = h.forward(r, body)
	}
	h.mu.Unlock()
	rec.writeTo(w)
}

// forward serves r with body by the inner handler. h.mu must be held.
func (h *Handler) forward(r *http.Request, body []byte) *recorder {
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	rec := newRecorder()
	h.inner.ServeHTTP(rec, in)
	return rec
}

// call serves the operation op with the JSON of input by the inner
// handler. h.mu must be held.
func (h *Handler) call(op string, input any) *recorder {
	body, err := json.Marshal(input)
	if err != nil {
		// Inputs are built here from decoded JSON; they always marshal.
		panic(fmt.Sprintf("dynamolocal: marshal %s input: %v", op, err))
	}
	return h.callRaw(op, body)
}

// callRaw serves the operation op with body by the inner handler. h.mu
// must be held.
func (h *Handler) callRaw(op string, body []byte) *recorder {
	return serveOp(h.inner, op, body)
}

// serveOp serves the operation op with body by h in process.
func serveOp(h http.Handler, op string, body []byte) *recorder {
	r := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: "/"},
		Header:        http.Header{"X-Amz-Target": {targetPrefix + op}, "Content-Type": {contentType}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	rec := newRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// keySchema returns the key attribute names of table, hash key first, or
// the inner handler's answer when DescribeTable fails. h.mu must be held.
func (h *Handler) keySchema(table string) ([]string, *recorder) {
	if k, ok := h.keys[table]; ok {
		return k, nil
	}
	rec := h.call("DescribeTable", map[string]string{"TableName": table})
	if !rec.ok() {
		return nil, rec
	}
	var out struct {
		Table struct {
			KeySchema []struct{ AttributeName, KeyType string }
		}
	}
	if err := json.Unmarshal(rec.body.Bytes(), &out); err != nil || len(out.Table.KeySchema) == 0 {
		return nil, errorRecorder(http.StatusInternalServerError, "InternalServerError",
			fmt.Sprintf("describe table %s: no key schema in %q", table, rec.body.String()))
	}
	var k []string
	for _, e := range out.Table.KeySchema {
		if e.KeyType == "HASH" {
			k = append([]string{e.AttributeName}, k...)
		} else {
			k = append(k, e.AttributeName)
		}
	}
	h.keys[table] = k
	return k, nil
}

// recorder is an http.ResponseWriter keeping the answer in memory.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newRecorder() *recorder {
	return &recorder{header: make(http.Header), code: http.StatusOK}
}

// errorRecorder holds a DynamoDB error answer.
func errorRecorder(code int, typ, msg string) *recorder {
	rec := newRecorder()
	writeError(rec, code, typ, msg)
	return rec
}

// Header implements http.ResponseWriter.
func (rec *recorder) Header() http.Header { return rec.header }

// Write implements http.ResponseWriter.
func (rec *recorder) Write(p []byte) (int, error) { return rec.body.Write(p) }

// WriteHeader implements http.ResponseWriter.
func (rec *recorder) WriteHeader(code int) { rec.code = code }

func (rec *recorder) ok() bool { return rec.code == http.StatusOK }

// errorType is the exception name of an error answer, without the
// "namespace#" prefix DynamoDB puts before it.
func (rec *recorder) errorType() string {
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(rec.body.Bytes(), &e) != nil {
		return ""
	}
	return e.Type[strings.LastIndexByte(e.Type, '#')+1:]
}

func (rec *recorder) writeTo(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(rec.body.Bytes())
}

// writeError writes a DynamoDB error answer the way minidyn does.
func writeError(w http.ResponseWriter, code int, typ, msg string) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, msg})
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
