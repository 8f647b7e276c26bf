package dynamolocal

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// maxTransactItems is DynamoDB's limit on actions in one transaction.
const maxTransactItems = 100

// tokenTTL is how long a ClientRequestToken makes a TransactWriteItems
// call idempotent, as in DynamoDB.
const tokenTTL = 10 * time.Minute

// tokenUse is a ClientRequestToken's first request.
type tokenUse struct {
	digest [32]byte
	at     time.Time
}

// txWrite is one transaction action, resolved and checked.
type txWrite struct {
	kind   string // ConditionCheck, Put, Delete, Update
	target *transactTarget
	x      exprs
	t      *table // set by resolve
	key    string // set by resolve
}

// transactWriteItems applies every action or none. Conditions are checked
// and every new item is computed against one state before anything is
// written; a failure cancels the whole transaction with one reason per
// action, in order, as DynamoDB reports it.
func (h *Handler) transactWriteItems(in *transactWriteItemsInput, digest [32]byte) (any, error) {
	n := len(in.TransactItems)
	if n == 0 {
		return nil, validation("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
	}
	if n > maxTransactItems {
		return nil, tooMany("transactItems", n)
	}
	if in.ClientRequestToken != nil {
		if l := len(*in.ClientRequestToken); l < 1 || l > 36 {
			return nil, validation("1 validation error detected: Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36", *in.ClientRequestToken)
		}
	}
	writes := make([]*txWrite, 0, n)
	for _, a := range in.TransactItems {
		w, err := parseAction(a)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweep()
	now := h.now()
	if in.ClientRequestToken != nil {
		h.forgetTokens(now)
		if use, ok := h.tokens[*in.ClientRequestToken]; ok {
			if use.digest != digest {
				return nil, &apiError{status: http.StatusBadRequest, typ: "IdempotentParameterMismatchException",
					msg: "Request with ClientRequestToken " + *in.ClientRequestToken + " has different parameters than the original request"}
			}
			return map[string]any{}, nil
		}
	}
	seen := map[string]bool{}
	for _, w := range writes {
		if err := h.resolve(w); err != nil {
			return nil, err
		}
		id := w.t.name + "\x00" + w.key
		if seen[id] {
			return nil, validation("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
	}
	results := make([]attr.Item, len(writes))
	reasons := make([]map[string]any, len(writes))
	failed := false
	for i, w := range writes {
		reasons[i] = map[string]any{"Code": "None"}
		old := w.t.get(w.key)
		if err := w.x.check(old, w.target.ReturnValuesOnConditionCheckFailure); err != nil {
			failed = true
			r := map[string]any{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
			if ae, ok := err.(*apiError); ok && ae.extra != nil {
				r["Item"] = ae.extra["Item"]
			} else if !ok {
				r = map[string]any{"Code": "ValidationError", "Message": err.Error()}
			}
			reasons[i] = r
			continue
		}
		switch w.kind {
		case "Put":
			results[i] = w.target.Item
		case "Update":
			item, err := w.t.applyUpdate(w.x.update, old, w.target.Key)
			if err != nil {
				failed = true
				reasons[i] = map[string]any{"Code": "ValidationError", "Message": asAPIError(err).msg}
				continue
			}
			results[i] = item
		}
	}
	if failed {
		codes := make([]string, len(reasons))
		for i, r := range reasons {
			codes[i] = r["Code"].(string)
		}
		return nil, &apiError{status: http.StatusBadRequest, typ: "TransactionCanceledException",
			msg:   "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
			extra: map[string]any{"CancellationReasons": reasons}}
	}
	units := map[string]float64{}
	for i, w := range writes {
		old := w.t.get(w.key)
		switch w.kind {
		case "Put", "Update":
			w.t.put(w.key, results[i])
		case "Delete":
			if old != nil {
				w.t.remove(w.key)
			}
		}
		units[w.t.name] += 2 * writeUnits(old, results[i])
	}
	if in.ClientRequestToken != nil {
		h.tokens[*in.ClientRequestToken] = tokenUse{digest: digest, at: now}
		h.tokenOrder = append(h.tokenOrder, *in.ClientRequestToken)
	}
	out := map[string]any{}
	addBatchCapacity(out, in.ReturnConsumedCapacity, units)
	return out, nil
}

// forgetTokens drops tokens older than tokenTTL: the oldest are at the
// front of tokenOrder. mu must be held.
func (h *Handler) forgetTokens(now time.Time) {
	n := 0
	for _, tok := range h.tokenOrder {
		if now.Sub(h.tokens[tok].at) <= tokenTTL {
			break
		}
		delete(h.tokens, tok)
		n++
	}
	if n > 0 {
		h.tokenOrder = slices.Delete(h.tokenOrder, 0, n)
	}
}

// parseAction checks one action's shape and parses its expressions,
// before the lock is taken.
func parseAction(a transactAction) (*txWrite, error) {
	var w *txWrite
	for _, k := range []struct {
		kind   string
		target *transactTarget
	}{{"ConditionCheck", a.ConditionCheck}, {"Put", a.Put}, {"Delete", a.Delete}, {"Update", a.Update}} {
		if k.target == nil {
			continue
		}
		if w != nil {
			w = nil
			break
		}
		w = &txWrite{kind: k.kind, target: k.target}
	}
	if w == nil {
		return nil, validation("TransactItems can only contain one of Check, Put, Update or Delete")
	}
	tg := w.target
	var update *string
	switch {
	case w.kind == "ConditionCheck" && tg.ConditionExpression == nil:
		return nil, validation("1 validation error detected: Value null at 'transactItems.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null")
	case w.kind == "Update" && tg.UpdateExpression == nil:
		return nil, validation("1 validation error detected: Value null at 'transactItems.member.update.updateExpression' failed to satisfy constraint: Member must not be null")
	case w.kind == "Update":
		update = tg.UpdateExpression
	}
	var err error
	if w.x, err = parseExprs(tg.expressionInputs, tg.ConditionExpression, update, nil); err != nil {
		return nil, err
	}
	if err := checkReturnOnFailure(tg.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	return w, nil
}

// resolve finds the action's table and validates its item or key. mu
// must be held.
func (h *Handler) resolve(w *txWrite) error {
	t, err := h.table(w.target.TableName)
	if err != nil {
		return err
	}
	w.t = t
	if w.kind == "Put" {
		if err := t.checkItem(w.target.Item); err != nil {
			return err
		}
		w.key = t.schema.encodeKey(w.target.Item)
		return nil
	}
	w.key, err = t.keyOf(w.target.Key)
	return err
}

func (h *Handler) transactGetItems(in *transactGetItemsInput) (any, error) {
	n := len(in.TransactItems)
	if n == 0 {
		return nil, validation("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
	}
	if n > maxTransactItems {
		return nil, tooMany("transactItems", n)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	responses := make([]map[string]any, 0, n)
	units := map[string]float64{}
	for _, a := range in.TransactItems {
		g := a.Get
		if g == nil {
			return nil, validation("1 validation error detected: Value null at 'transactItems.member.get' failed to satisfy constraint: Member must not be null")
		}
		x, err := parseExprs(g.expressionInputs, nil, nil, g.ProjectionExpression)
		if err != nil {
			return nil, err
		}
		t, err := h.table(g.TableName)
		if err != nil {
			return nil, err
		}
		key, err := t.keyOf(g.Key)
		if err != nil {
			return nil, err
		}
		r := map[string]any{}
		if item := t.get(key); item != nil {
			units[t.name] += 2 * readUnits(item.Size(), true)
			if x.proj != nil {
				item = x.proj.Apply(item)
			}
			r["Item"] = item
		}
		responses = append(responses, r)
	}
	out := map[string]any{"Responses": responses}
	addBatchCapacity(out, in.ReturnConsumedCapacity, units)
	return out, nil
}
