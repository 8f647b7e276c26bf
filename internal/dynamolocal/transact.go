package dynamolocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxTransactItems is DynamoDB's limit of items in one TransactWriteItems.
const maxTransactItems = 100

// Messages DynamoDB answers with; the SDK's callers only read the codes,
// but people read the messages.
const (
	msgCanceled       = "Transaction cancelled, please refer cancellation reasons for specific reasons"
	msgConditionFail  = "The conditional request failed"
	msgDuplicateItem  = "Transaction request cannot include multiple operations on one item"
	msgOneAction      = "TransactItems can only contain one of Check, Put, Update or Delete"
	msgKeyMismatch    = "The provided key element does not match the schema"
	msgTooManyItems   = "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"
	msgTooFewItems    = "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
	codeConditionFail = "ConditionalCheckFailed"
)

// transactWriteItemsInput is the part of a TransactWriteItems request
// Handler reads; each action stays raw JSON, because it goes to the inner
// handler unchanged as the body of the matching single-item operation.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
type transactWriteItemsInput struct {
	TransactItems []struct {
		ConditionCheck json.RawMessage
		Put            json.RawMessage
		Update         json.RawMessage
		Delete         json.RawMessage
	}
}

// action is one TransactItem, ready to run.
type action struct {
	// op is the single-item operation that applies the action; a
	// ConditionCheck runs as a conditional DeleteItem that is undone at
	// once, since minidyn has no way to evaluate a condition alone.
	op      string
	body    json.RawMessage
	check   bool
	table   string
	key     map[string]json.RawMessage
	allOld  bool // ReturnValuesOnConditionCheckFailure is ALL_OLD
	applied bool
	// old is the item before the action, nil when there was none.
	old map[string]json.RawMessage
}

// actionHeader is what Handler reads of an action's JSON.
type actionHeader struct {
	TableName                           string
	Key                                 map[string]json.RawMessage
	Item                                map[string]json.RawMessage
	ReturnValuesOnConditionCheckFailure string
}

// cancellationReason is one entry of a TransactionCanceledException.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CancellationReason.html
type cancellationReason struct {
	Code    string                     `json:"Code"`
	Message string                     `json:"Message,omitempty"`
	Item    map[string]json.RawMessage `json:"Item,omitempty"`
}

// transactWriteItems runs a TransactWriteItems request: every action in
// order as its single-item operation, after reading the item it touches
// into an undo log; if any fails, the applied ones are undone in reverse.
// Because a transaction touches each item at most once, each action's
// condition sees the item as it was before the transaction, as in
// DynamoDB. The actions after a failed condition still run, so the
// cancellation reasons name every failed condition, as DynamoDB's do.
// The ClientRequestToken is ignored, as by minidyn: a retry of a committed
// transaction runs again rather than succeeding as a no-op.
// h.mu must be held.
func (h *Handler) transactWriteItems(body []byte) *recorder {
	var in transactWriteItemsInput
	if err := json.Unmarshal(body, &in); err != nil {
		return errorRecorder(http.StatusBadRequest, "SerializationException", err.Error())
	}
	actions, rec := h.prepare(&in)
	if rec != nil {
		return rec
	}
	reasons := make([]cancellationReason, len(actions))
	canceled := false
	for i, a := range actions {
		reasons[i] = cancellationReason{Code: "None"}
		if rec := h.apply(a); rec != nil {
			if rec.code != http.StatusBadRequest || rec.errorType() != "ConditionalCheckFailedException" {
				return h.undo(actions, rec)
			}
			canceled = true
			reasons[i] = cancellationReason{Code: codeConditionFail, Message: msgConditionFail}
			if a.allOld {
				reasons[i].Item = a.old
			}
		}
	}
	if canceled {
		return h.undo(actions, canceledRecorder(reasons))
	}
	return emptyRecorder()
}

// prepare validates the request as DynamoDB does before running anything,
// and returns its actions or the error answer. h.mu must be held.
func (h *Handler) prepare(in *transactWriteItemsInput) ([]*action, *recorder) {
	switch n := len(in.TransactItems); {
	case n == 0:
		return nil, errorRecorder(http.StatusBadRequest, "ValidationException", msgTooFewItems)
	case n > maxTransactItems:
		return nil, errorRecorder(http.StatusBadRequest, "ValidationException", msgTooManyItems)
	}
	actions := make([]*action, 0, len(in.TransactItems))
	seen := make(map[string]bool, len(in.TransactItems))
	for _, ti := range in.TransactItems {
		a := &action{}
		n := 0
		for _, c := range []struct {
			raw   json.RawMessage
			op    string
			check bool
		}{
			{ti.ConditionCheck, "DeleteItem", true},
			{ti.Put, "PutItem", false},
			{ti.Update, "UpdateItem", false},
			{ti.Delete, "DeleteItem", false},
		} {
			if len(c.raw) > 0 && !bytes.Equal(c.raw, []byte("null")) {
				a.op, a.body, a.check = c.op, c.raw, c.check
				n++
			}
		}
		if n != 1 {
			return nil, errorRecorder(http.StatusBadRequest, "ValidationException", msgOneAction)
		}
		var hd actionHeader
		if err := json.Unmarshal(a.body, &hd); err != nil {
			return nil, errorRecorder(http.StatusBadRequest, "SerializationException", err.Error())
		}
		if hd.TableName == "" {
			return nil, errorRecorder(http.StatusBadRequest, "ValidationException", "TableName must not be null")
		}
		a.table = hd.TableName
		a.allOld = hd.ReturnValuesOnConditionCheckFailure == "ALL_OLD"
		names, rec := h.keySchema(a.table)
		if rec != nil {
			return nil, rec
		}
		id, key, msg := itemKey(a.table, names, a.op == "PutItem", hd)
		if msg != "" {
			return nil, errorRecorder(http.StatusBadRequest, "ValidationException", msg)
		}
		if seen[id] {
			return nil, errorRecorder(http.StatusBadRequest, "ValidationException", msgDuplicateItem)
		}
		seen[id] = true
		a.key = key
		actions = append(actions, a)
	}
	return actions, nil
}

// itemKey returns the key of the item an action touches (taken from the
// item for a Put) and a string naming that item among all tables' items,
// or a ValidationException message.
func itemKey(table string, names []string, put bool, hd actionHeader) (id string, key map[string]json.RawMessage, msg string) {
	from := hd.Key
	if put {
		from = hd.Item
	} else if len(hd.Key) != len(names) {
		return "", nil, msgKeyMismatch
	}
	key = make(map[string]json.RawMessage, len(names))
	var b strings.Builder
	b.WriteString(table)
	for _, n := range names {
		v, ok := from[n]
		if !ok {
			if put {
				return "", nil, "One or more parameter values were invalid: Missing the key " + n + " in the item"
			}
			return "", nil, msgKeyMismatch
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			return "", nil, msgKeyMismatch
		}
		key[n] = c.Bytes()
		b.WriteByte(0)
		b.Write(c.Bytes())
	}
	return b.String(), key, ""
}

// apply reads a's item into a.old, then runs a, and returns the inner
// handler's answer if either fails. A ConditionCheck that passes leaves
// the item as it was. h.mu must be held.
func (h *Handler) apply(a *action) *recorder {
	rec := h.call("GetItem", struct {
		TableName      string
		Key            map[string]json.RawMessage
		ConsistentRead bool
	}{a.table, a.key, true})
	if !rec.ok() {
		return rec
	}
	var got struct{ Item map[string]json.RawMessage }
	if err := json.Unmarshal(rec.body.Bytes(), &got); err != nil {
		return errorRecorder(http.StatusInternalServerError, "InternalServerError",
			fmt.Sprintf("read %s item: %v", a.table, err))
	}
	if len(got.Item) > 0 {
		a.old = got.Item
	}
	if rec := h.callRaw(a.op, a.body); !rec.ok() {
		return rec
	}
	a.applied = true
	if a.check {
		// The conditional DeleteItem removed the item; put it back now.
		// When there was none it deleted nothing.
		if rec := h.restore(a); rec != nil {
			return rec
		}
		a.applied = false
	}
	return nil
}

// undo restores, in reverse order, the items of the applied actions, and
// returns answer, or an InternalServerError if an item could not be
// restored. h.mu must be held.
func (h *Handler) undo(actions []*action, answer *recorder) *recorder {
	for i := len(actions) - 1; i >= 0; i-- {
		a := actions[i]
		if !a.applied {
			continue
		}
		if rec := h.restore(a); rec != nil {
			return errorRecorder(http.StatusInternalServerError, "InternalServerError",
				fmt.Sprintf("undo transaction item %d on %s: %s", i, a.table, rec.body.String()))
		}
		a.applied = false
	}
	return answer
}

// restore puts a's item back as a.old holds it. h.mu must be held.
func (h *Handler) restore(a *action) *recorder {
	var rec *recorder
	if a.old == nil {
		rec = h.call("DeleteItem", struct {
			TableName string
			Key       map[string]json.RawMessage
		}{a.table, a.key})
	} else {
		rec = h.call("PutItem", struct {
			TableName string
			Item      map[string]json.RawMessage
		}{a.table, a.old})
	}
	if !rec.ok() {
		return rec
	}
	return nil
}

// canceledRecorder holds a TransactionCanceledException with one reason per
// action, encoded as DynamoDB and minidyn do.
func canceledRecorder(reasons []cancellationReason) *recorder {
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	body, err := json.Marshal(struct {
		Type                string               `json:"__type"`
		Message             string               `json:"message"`
		CancellationReasons []cancellationReason `json:"CancellationReasons"`
	}{"TransactionCanceledException", msgCanceled + " [" + strings.Join(codes, ", ") + "]", reasons})
	if err != nil {
		// Items are raw JSON read back from the inner handler.
		return errorRecorder(http.StatusInternalServerError, "InternalServerError", fmt.Sprintf("encode cancellation: %v", err))
	}
	rec := newRecorder()
	rec.header.Set("Content-Type", contentType)
	rec.code = http.StatusBadRequest
	rec.body.Write(body)
	return rec
}

// emptyRecorder holds the answer of a committed transaction.
func emptyRecorder() *recorder {
	rec := newRecorder()
	rec.header.Set("Content-Type", contentType)
	rec.body.WriteString("{}")
	return rec
}
