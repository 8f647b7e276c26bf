// Package dynamolocal is a DynamoDB-compatible server in process: the
// DynamoDB JSON protocol (API version 2012-08-10) over tables kept in
// memory, for the local stack and the tests. It implements what the
// product and ordinary DynamoDB clients use — tables with global and
// local secondary indexes, items with condition, update, projection and
// key-condition expressions, queries and scans with paging, batches,
// transactions with idempotency tokens, and TTL — and answers with
// DynamoDB's error types and messages.
//
// Items live in B-trees ordered by an encoded key, so a write or a keyed
// read costs O(log n) however large a table grows, and a query costs
// what it returns. Requests are served one at a time under one lock,
// which makes every operation, transactions included, atomic.
package dynamolocal

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// targetPrefix is the X-Amz-Target prefix of the DynamoDB API.
const targetPrefix = "DynamoDB_20120810."

// maxBody bounds a request body; DynamoDB's largest requests (25 items of
// 400 KB in a batch) stay well under it.
const maxBody = 16 << 20

// Handler is an http.Handler speaking the DynamoDB JSON protocol. Safe for
// concurrent use.
type Handler struct {
	mu     sync.RWMutex
	tables map[string]*table
	tokens map[string]tokenUse // TransactWriteItems ClientRequestTokens
	// tokenOrder holds the tokens in the order they were used, so that
	// expired ones are dropped from its front without a scan.
	tokenOrder []string
	now        func() time.Time
	region     string
	// lastSweep is when expired items were last looked for; mu guards it.
	lastSweep time.Time
}

// NewHandler returns a Handler with no tables.
func NewHandler() *Handler {
	return &Handler{
		tables: map[string]*table{},
		tokens: map[string]tokenUse{},
		now:    time.Now,
		region: "us-east-1",
	}
}

// apiError is an error answer: the HTTP status, DynamoDB's error type and
// message, and extra fields some types carry (CancellationReasons, Item).
type apiError struct {
	status int
	typ    string
	msg    string
	extra  map[string]any
}

// Error names the type and the message, for logs and tests.
func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func validation(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "ValidationException", msg: fmt.Sprintf(format, args...)}
}

func notFound(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "ResourceNotFoundException", msg: msg}
}

func inUse(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "ResourceInUseException", msg: msg}
}

// asAPIError turns an attr or expression error into a ValidationException.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return validation("%s", err.Error())
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: "UnknownOperationException", msg: "only POST is served"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		writeError(w, &apiError{status: http.StatusBadRequest, typ: "UnknownOperationException", msg: "unknown X-Amz-Target " + target})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, &apiError{status: http.StatusBadRequest, typ: "SerializationException", msg: "read request body: " + err.Error()})
		return
	}
	if len(body) > maxBody {
		writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, typ: "RequestEntityTooLarge", msg: "request body too large"})
		return
	}
	out, err := h.Do(op, body)
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", requestID())
	// DynamoDB sends the body's CRC32, which SDKs check.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10))
	w.Write(out)
}

// Do runs one operation on a JSON request body and returns the JSON
// answer, or the error DynamoDB would send, for callers in process that
// need no HTTP.
func (h *Handler) Do(op string, body []byte) ([]byte, error) {
	if len(body) == 0 {
		body = []byte("{}")
	}
	var out any
	var err error
	switch op {
	case "CreateTable":
		out, err = serve(body, h.createTable)
	case "DeleteTable":
		out, err = serve(body, h.deleteTable)
	case "DescribeTable":
		out, err = serve(body, h.describeTable)
	case "ListTables":
		out, err = serve(body, h.listTables)
	case "UpdateTable":
		out, err = serve(body, h.updateTable)
	case "UpdateTimeToLive":
		out, err = serve(body, h.updateTimeToLive)
	case "DescribeTimeToLive":
		out, err = serve(body, h.describeTimeToLive)
	case "PutItem":
		out, err = serve(body, h.putItem)
	case "GetItem":
		out, err = serve(body, h.getItem)
	case "DeleteItem":
		out, err = serve(body, h.deleteItem)
	case "UpdateItem":
		out, err = serve(body, h.updateItem)
	case "Query":
		out, err = serve(body, h.query)
	case "Scan":
		out, err = serve(body, h.scan)
	case "BatchGetItem":
		out, err = serve(body, h.batchGetItem)
	case "BatchWriteItem":
		out, err = serve(body, h.batchWriteItem)
	case "TransactWriteItems":
		// A ClientRequestToken's request is recognised by its body, which
		// SDKs resend byte for byte.
		digest := sha256.Sum256(body)
		out, err = serve(body, func(in *transactWriteItemsInput) (any, error) { return h.transactWriteItems(in, digest) })
	case "TransactGetItems":
		out, err = serve(body, h.transactGetItems)
	case "DescribeEndpoints":
		out = map[string]any{"Endpoints": []map[string]any{{"Address": "localhost", "CachePeriodInMinutes": 1440}}}
	case "DescribeLimits":
		out = map[string]any{"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
			"TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}
	default:
		return nil, &apiError{status: http.StatusBadRequest, typ: "UnknownOperationException", msg: "operation " + op + " is not supported"}
	}
	if err != nil {
		return nil, asAPIError(err)
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		return nil, &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", msg: merr.Error()}
	}
	return b, nil
}

// serve decodes the request into In and calls fn with it.
func serve[In any](body []byte, fn func(*In) (any, error)) (any, error) {
	in := new(In)
	if err := json.Unmarshal(body, in); err != nil {
		var ae *attr.Error
		if errors.As(err, &ae) {
			return nil, validation("%s", ae.Message)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &apiError{status: http.StatusBadRequest, typ: "SerializationException",
				msg: fmt.Sprintf("Unexpected value type in field %s: want %s", te.Field, te.Type)}
		}
		return nil, &apiError{status: http.StatusBadRequest, typ: "SerializationException", msg: "malformed request: " + err.Error()}
	}
	return fn(in)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + e.typ, "message": e.msg}
	for k, v := range e.extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", requestID())
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(e.status)
	w.Write(b)
}

var (
	idMu  sync.Mutex
	idSeq uint64
)

// requestID is a unique id for the x-amzn-RequestId header, which SDKs log
// with errors.
func requestID() string {
	idMu.Lock()
	idSeq++
	n := idSeq
	idMu.Unlock()
	return fmt.Sprintf("LOCAL%027d", n)
}
