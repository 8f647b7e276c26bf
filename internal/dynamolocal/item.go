package dynamolocal

import (
	"net/http"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
	"github.com/openai-api-convertor/convertor/internal/dynamolocal/expr"
)

// maxItemSize is DynamoDB's item size limit.
const maxItemSize = 400 * 1024

// exprs holds one request's parsed expressions.
type exprs struct {
	cond   *expr.Condition
	update *expr.Update
	proj   *expr.Projection
}

// parseExprs parses the expressions a request gives, against its names
// and values, and refuses names or values that no expression uses.
func parseExprs(in expressionInputs, cond, update, proj *string) (exprs, error) {
	return parseExprsAs(in, cond, update, proj, expr.ParseCondition)
}

// parseExprsAs is parseExprs with the condition parsed by parseCond:
// expr.ParseFilter for a Scan's filter, whose errors DynamoDB labels so.
func parseExprsAs(in expressionInputs, cond, update, proj *string, parseCond func(string, *expr.Refs) (*expr.Condition, error)) (exprs, error) {
	var x exprs
	if in.ExpressionAttributeNames != nil && len(in.ExpressionAttributeNames) == 0 {
		return x, validation("ExpressionAttributeNames must not be empty")
	}
	if in.ExpressionAttributeValues != nil && len(in.ExpressionAttributeValues) == 0 {
		return x, validation("ExpressionAttributeValues must not be empty")
	}
	if cond == nil && update == nil && proj == nil {
		if in.ExpressionAttributeNames != nil {
			return x, validation("ExpressionAttributeNames can only be specified when using expressions")
		}
		if in.ExpressionAttributeValues != nil {
			return x, validation("ExpressionAttributeValues can only be specified when using expressions")
		}
		return x, nil
	}
	refs := expr.NewRefs(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	var err error
	if update != nil {
		if x.update, err = expr.ParseUpdate(*update, refs); err != nil {
			return x, err
		}
	}
	if cond != nil {
		if x.cond, err = parseCond(*cond, refs); err != nil {
			return x, err
		}
	}
	if proj != nil {
		if x.proj, err = expr.ParseProjection(*proj, refs); err != nil {
			return x, err
		}
	}
	return x, refs.CheckUnused()
}

// check evaluates the condition against the current item (nil when there
// is none); a false condition is DynamoDB's ConditionalCheckFailed.
func (x exprs) check(item attr.Item, returnOld string) error {
	if x.cond == nil {
		return nil
	}
	ok, err := x.cond.Eval(item)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	e := &apiError{status: http.StatusBadRequest, typ: "ConditionalCheckFailedException", msg: "The conditional request failed"}
	if returnOld == "ALL_OLD" && item != nil {
		e.extra = map[string]any{"Item": item}
	}
	return e
}

func checkReturnOnFailure(v string) error {
	switch v {
	case "", "NONE", "ALL_OLD":
		return nil
	}
	return validation("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", v)
}

// checkItem validates an item for a put into t: the table's key present
// with its defined types and not empty, index keys of the defined types,
// and the size within DynamoDB's limit.
func (t *table) checkItem(item attr.Item) error {
	if item == nil {
		return validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
	}
	for _, k := range []struct {
		name string
		kind attr.Kind
	}{{t.schema.hash, t.schema.hashKind}, {t.schema.rng, t.schema.rngKind}} {
		if k.name == "" {
			continue
		}
		v, ok := item[k.name]
		if !ok {
			return validation("One or more parameter values were invalid: Missing the key %s in the item", k.name)
		}
		if v.Kind != k.kind {
			return validation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", k.name, k.kind, v.Kind)
		}
		if v.S == "" && (v.Kind == attr.KindS || v.Kind == attr.KindB) {
			return validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", emptyKind(v.Kind), k.name)
		}
	}
	if err := t.schema.checkKeySize(item); err != nil {
		return err
	}
	for _, ix := range t.indexes {
		for _, k := range []struct {
			name string
			kind attr.Kind
		}{{ix.schema.hash, ix.schema.hashKind}, {ix.schema.rng, ix.schema.rngKind}} {
			v, ok := item[k.name]
			if k.name == "" || !ok {
				continue
			}
			if v.Kind != k.kind {
				return validation("One or more parameter values were invalid: Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s", k.name, k.kind, v.Kind, ix.name)
			}
			if v.S == "" && (v.Kind == attr.KindS || v.Kind == attr.KindB) {
				return validation("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty %s value. IndexName: %s, IndexKey: %s", emptyKind(v.Kind), ix.name, k.name)
			}
		}
	}
	if item.Size() > maxItemSize {
		return validation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

// DynamoDB's key size limits, in bytes of the value.
const (
	maxPartitionKeySize = 2048
	maxSortKeySize      = 1024
)

// checkKeySize refuses key values over DynamoDB's limits.
func (s *keySchema) checkKeySize(item attr.Item) error {
	if v, ok := item[s.hash]; ok && v.Size() > maxPartitionKeySize {
		return validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
	}
	if v, ok := item[s.rng]; ok && s.rng != "" && v.Size() > maxSortKeySize {
		return validation("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
	}
	return nil
}

func emptyKind(k attr.Kind) string {
	if k == attr.KindB {
		return "binary"
	}
	return "string"
}

// keyOf validates a Key parameter against t's schema and returns its
// encoded key.
func (t *table) keyOf(key attr.Item) (string, error) {
	n := 1
	if t.schema.rng != "" {
		n = 2
	}
	if len(key) != n {
		return "", validation("The provided key element does not match the schema")
	}
	for _, k := range []struct {
		name string
		kind attr.Kind
	}{{t.schema.hash, t.schema.hashKind}, {t.schema.rng, t.schema.rngKind}} {
		if k.name == "" {
			continue
		}
		v, ok := key[k.name]
		if !ok || v.Kind != k.kind {
			return "", validation("The provided key element does not match the schema")
		}
		if v.S == "" && (v.Kind == attr.KindS || v.Kind == attr.KindB) {
			return "", validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", emptyKind(v.Kind), k.name)
		}
	}
	if err := t.schema.checkKeySize(key); err != nil {
		return "", err
	}
	return t.schema.encodeKey(key), nil
}

func legacy(l legacyInputs) error {
	if name := l.name(); name != "" {
		return validation("The legacy parameter %s is not supported by this server; use the expression parameters instead", name)
	}
	return nil
}

// checkWrite validates the parameters PutItem and DeleteItem share and
// parses their condition.
func checkWrite(in *writeInputs) (exprs, error) {
	if err := legacy(in.legacyInputs); err != nil {
		return exprs{}, err
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD":
	default:
		return exprs{}, validation("ReturnValues can only be ALL_OLD or NONE")
	}
	if err := checkReturnOnFailure(in.ReturnValuesOnConditionCheckFailure); err != nil {
		return exprs{}, err
	}
	return parseExprs(in.expressionInputs, in.ConditionExpression, nil, nil)
}

func (h *Handler) putItem(in *putItemInput) (any, error) {
	x, err := checkWrite(&in.writeInputs)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweep()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, err
	}
	if err := t.checkItem(in.Item); err != nil {
		return nil, err
	}
	key := t.schema.encodeKey(in.Item)
	old := t.get(key)
	if err := x.check(old, in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	t.put(key, in.Item)
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	addCapacity(out, in.ReturnConsumedCapacity, t.name, writeUnits(old, in.Item))
	return out, nil
}

func (h *Handler) getItem(in *getItemInput) (any, error) {
	if err := legacy(in.legacyInputs); err != nil {
		return nil, err
	}
	x, err := parseExprs(in.expressionInputs, nil, nil, in.ProjectionExpression)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, err
	}
	key, err := t.keyOf(in.Key)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	item := t.get(key)
	if item != nil {
		if x.proj != nil {
			item = x.proj.Apply(item)
		}
		out["Item"] = item
	}
	addCapacity(out, in.ReturnConsumedCapacity, t.name, readUnits(itemSize(item), in.ConsistentRead))
	return out, nil
}

func (h *Handler) deleteItem(in *deleteItemInput) (any, error) {
	x, err := checkWrite(&in.writeInputs)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, key, old, err := h.checked(in.TableName, in.Key, x, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	if old != nil {
		t.remove(key)
	}
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	addCapacity(out, in.ReturnConsumedCapacity, t.name, writeUnits(old, nil))
	return out, nil
}

func (h *Handler) updateItem(in *updateItemInput) (any, error) {
	if err := legacy(in.legacyInputs); err != nil {
		return nil, err
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW":
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]", in.ReturnValues)
	}
	if err := checkReturnOnFailure(in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	x, err := parseExprs(in.expressionInputs, in.ConditionExpression, in.UpdateExpression, nil)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, key, old, err := h.checked(in.TableName, in.Key, x, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	item, err := t.applyUpdate(x.update, old, in.Key)
	if err != nil {
		return nil, err
	}
	t.put(key, item)
	out := map[string]any{}
	if attrs := returnedAttributes(in.ReturnValues, x.update, old, item); attrs != nil {
		out["Attributes"] = attrs
	}
	addCapacity(out, in.ReturnConsumedCapacity, t.name, writeUnits(old, item))
	return out, nil
}

// checked finds the item a DeleteItem or UpdateItem names and checks the
// request's condition against it (nil when there is none). mu must be
// held for writing.
func (h *Handler) checked(name string, keyAttrs attr.Item, x exprs, onFail string) (t *table, key string, old attr.Item, err error) {
	h.sweep()
	if t, err = h.table(name); err != nil {
		return nil, "", nil, err
	}
	if key, err = t.keyOf(keyAttrs); err != nil {
		return nil, "", nil, err
	}
	old = t.get(key)
	if err := x.check(old, onFail); err != nil {
		return nil, "", nil, err
	}
	return t, key, old, nil
}

// applyUpdate builds the item an update leaves: the old item, or just the
// key when there is none, changed by the update expression. Key
// attributes cannot change.
func (t *table) applyUpdate(u *expr.Update, old, key attr.Item) (attr.Item, error) {
	base := old
	if base == nil {
		base = key
	}
	if u == nil {
		return base, nil
	}
	for _, root := range u.Roots() {
		if root == t.schema.hash || root == t.schema.rng {
			return nil, validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", root)
		}
	}
	item, err := u.Apply(base)
	if err != nil {
		return nil, err
	}
	if err := t.checkItem(item); err != nil {
		return nil, err
	}
	return item, nil
}

// returnedAttributes is what UpdateItem's ReturnValues asks for; the
// UPDATED_* forms hold the paths the update wrote, nested ones keeping
// their place in the item, as DynamoDB returns them.
func returnedAttributes(rv string, u *expr.Update, old, item attr.Item) attr.Item {
	switch rv {
	case "ALL_OLD":
		return old
	case "ALL_NEW":
		return item
	case "UPDATED_OLD", "UPDATED_NEW":
		src := item
		if rv == "UPDATED_OLD" {
			src = old
		}
		if u == nil || src == nil {
			return nil
		}
		out := u.Updated().Apply(src)
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

func itemSize(it attr.Item) int {
	if it == nil {
		return 0
	}
	return it.Size()
}

// writeUnits is the write capacity a write consumes: one unit per KB of
// the larger of the old and new item.
func writeUnits(old, item attr.Item) float64 {
	n := max(itemSize(old), itemSize(item))
	return float64(max(1, (n+1023)/1024))
}

// readUnits is the read capacity a read of n bytes consumes: one unit
// per 4 KB, half for eventually consistent reads.
func readUnits(n int, consistent bool) float64 {
	u := float64(max(1, (n+4095)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// addCapacity adds ConsumedCapacity when the request asked for it.
func addCapacity(out map[string]any, mode, table string, units float64) {
	switch mode {
	case "TOTAL", "INDEXES":
		out["ConsumedCapacity"] = map[string]any{"TableName": table, "CapacityUnits": units}
	}
}

// sweepInterval is how often writes look for expired items.
const sweepInterval = 1e9

// sweep deletes some expired items from every table with TTL enabled, at
// most once a second and a bounded number at a time so that no request
// waits long on it. mu must be held for writing.
func (h *Handler) sweep() {
	now := h.now()
	if now.Sub(h.lastSweep) < sweepInterval {
		return
	}
	h.lastSweep = now
	for _, t := range h.tables {
		t.expire(now.Unix(), 1000)
	}
}
