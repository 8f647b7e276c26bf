package dynamolocal

import (
	"fmt"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

// DynamoDB's batch limits.
const (
	maxBatchWrite = 25
	maxBatchGet   = 100
)

func (h *Handler) batchWriteItem(in *batchWriteItemInput) (any, error) {
	if len(in.RequestItems) == 0 {
		return nil, validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	n := 0
	for table, reqs := range in.RequestItems {
		if len(reqs) == 0 {
			return nil, validation("1 validation error detected: Value '{%s=[]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]", table)
		}
		n += len(reqs)
	}
	if n > maxBatchWrite {
		return nil, validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweep()
	type write struct {
		t    *table
		key  string
		item attr.Item // nil for a delete
	}
	var writes []write
	units := map[string]float64{}
	for name, reqs := range in.RequestItems {
		t, err := h.table(name)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, r := range reqs {
			var w write
			switch {
			case r.PutRequest != nil && r.DeleteRequest == nil:
				if err := t.checkItem(r.PutRequest.Item); err != nil {
					return nil, err
				}
				w = write{t: t, key: t.schema.encodeKey(r.PutRequest.Item), item: r.PutRequest.Item}
			case r.DeleteRequest != nil && r.PutRequest == nil:
				key, err := t.keyOf(r.DeleteRequest.Key)
				if err != nil {
					return nil, err
				}
				w = write{t: t, key: key}
			default:
				return nil, validation("Supplied WriteRequest must contain exactly one of PutRequest and DeleteRequest")
			}
			if seen[w.key] {
				return nil, validation("Provided list of item keys contains duplicates")
			}
			seen[w.key] = true
			writes = append(writes, w)
		}
	}
	for _, w := range writes {
		old := w.t.get(w.key)
		if w.item != nil {
			w.t.put(w.key, w.item)
		} else if old != nil {
			w.t.remove(w.key)
		}
		units[w.t.name] += writeUnits(old, w.item)
	}
	out := map[string]any{"UnprocessedItems": map[string]any{}}
	addBatchCapacity(out, in.ReturnConsumedCapacity, units)
	return out, nil
}

func (h *Handler) batchGetItem(in *batchGetItemInput) (any, error) {
	if len(in.RequestItems) == 0 {
		return nil, validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	n := 0
	for _, ka := range in.RequestItems {
		if ka == nil || len(ka.Keys) == 0 {
			return nil, validation("1 validation error detected: Value null at 'requestItems.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		if err := legacy(ka.legacyInputs); err != nil {
			return nil, err
		}
		n += len(ka.Keys)
	}
	if n > maxBatchGet {
		return nil, validation("Too many items requested for the BatchGetItem call")
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	responses := map[string][]attr.Item{}
	units := map[string]float64{}
	for name, ka := range in.RequestItems {
		t, err := h.table(name)
		if err != nil {
			return nil, err
		}
		x, err := parseExprs(ka.expressionInputs, nil, nil, ka.ProjectionExpression)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		items := []attr.Item{}
		for _, k := range ka.Keys {
			key, err := t.keyOf(k)
			if err != nil {
				return nil, err
			}
			if seen[key] {
				return nil, validation("Provided list of item keys contains duplicates")
			}
			seen[key] = true
			item := t.get(key)
			units[name] += readUnits(itemSize(item), ka.ConsistentRead)
			if item == nil {
				continue
			}
			if x.proj != nil {
				item = x.proj.Apply(item)
			}
			items = append(items, item)
		}
		responses[name] = items
	}
	out := map[string]any{"Responses": responses, "UnprocessedKeys": map[string]any{}}
	addBatchCapacity(out, in.ReturnConsumedCapacity, units)
	return out, nil
}

// addBatchCapacity adds one ConsumedCapacity per table when asked.
func addBatchCapacity(out map[string]any, mode string, units map[string]float64) {
	if mode != "TOTAL" && mode != "INDEXES" {
		return
	}
	var list []map[string]any
	for table, u := range units {
		list = append(list, map[string]any{"TableName": table, "CapacityUnits": u})
	}
	out["ConsumedCapacity"] = list
}

// tooMany is the message for a transaction over DynamoDB's action limit.
func tooMany(field string, n int) error {
	return validation("1 validation error detected: Value '%s' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100", fmt.Sprint(n)+" items")
}
