package dynamolocal

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/btree"
	"github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"
)

var tableNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func checkTableName(field, name string) error {
	if name == "" {
		return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
	if len(name) < 3 || len(name) > 255 {
		return validation("%s must be at least 3 characters long and at most 255 characters long", strings.ToUpper(field[:1])+field[1:])
	}
	if !tableNamePattern.MatchString(name) {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name, field)
	}
	return nil
}

// table returns the named table, or DynamoDB's not-found error. mu must
// be held.
func (h *Handler) table(name string) (*table, error) {
	if err := checkTableName("tableName", name); err != nil {
		return nil, err
	}
	t, ok := h.tables[name]
	if !ok {
		return nil, notFound("Requested resource not found")
	}
	return t, nil
}

func (h *Handler) createTable(in *createTableInput) (any, error) {
	if err := checkTableName("tableName", in.TableName); err != nil {
		return nil, err
	}
	if len(in.KeySchema) == 0 || len(in.KeySchema) > 2 {
		return nil, validation("1 validation error detected: Value '%v' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2", in.KeySchema)
	}
	if len(in.AttributeDefinitions) == 0 {
		return nil, validation("1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null")
	}
	for _, d := range in.AttributeDefinitions {
		if _, ok := keyKind(d.AttributeType); !ok {
			return nil, validation("1 validation error detected: Value '%s' at 'attributeDefinitions.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
	}
	billing := in.BillingMode
	switch billing {
	case "", "PROVISIONED":
		billing = "PROVISIONED"
		if in.ProvisionedThroughput == nil || in.ProvisionedThroughput.ReadCapacityUnits < 1 || in.ProvisionedThroughput.WriteCapacityUnits < 1 {
			return nil, validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
	case "PAY_PER_REQUEST":
		if in.ProvisionedThroughput != nil {
			return nil, validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", billing)
	}
	defs := in.AttributeDefinitions
	schema, err := parseKeySchema(in.KeySchema, defs)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{schema.hash: true, schema.rng: true}
	t := newTable(in.TableName, h.now())
	t.schema, t.defs, t.billing, t.through = schema, defs, billing, in.ProvisionedThroughput
	t.stream, t.sse, t.tags = in.StreamSpecification, in.SSESpecification, in.Tags
	names := map[string]bool{}
	for _, list := range []struct {
		specs  []secondaryIndexJSON
		global bool
	}{{in.GlobalSecondaryIndexes, true}, {in.LocalSecondaryIndexes, false}} {
		for _, spec := range list.specs {
			ix, err := newIndex(spec, list.global, t, billing)
			if err != nil {
				return nil, err
			}
			if names[ix.name] {
				return nil, validation("One or more parameter values were invalid: Duplicate index name: %s", ix.name)
			}
			names[ix.name] = true
			used[ix.schema.hash], used[ix.schema.rng] = true, true
			t.indexes = append(t.indexes, ix)
		}
	}
	if len(in.LocalSecondaryIndexes) > 5 {
		return nil, validation("One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5")
	}
	if len(in.GlobalSecondaryIndexes) > 20 {
		return nil, validation("One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20")
	}
	for _, d := range defs {
		if !used[d.AttributeName] {
			return nil, validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.tables[in.TableName]; ok {
		return nil, inUse("Table already exists: " + in.TableName)
	}
	h.tables[in.TableName] = t
	desc := h.describe(t)
	desc["TableStatus"] = "ACTIVE"
	return map[string]any{"TableDescription": desc}, nil
}

func keyKind(name string) (attr.Kind, bool) {
	switch name {
	case "S":
		return attr.KindS, true
	case "N":
		return attr.KindN, true
	case "B":
		return attr.KindB, true
	}
	return 0, false
}

// parseKeySchema checks a key schema as DynamoDB does and resolves the
// key attributes' types from the definitions.
func parseKeySchema(ks []keySchemaElement, defs []attributeDefinition) (keySchema, error) {
	if len(ks) == 0 || len(ks) > 2 {
		return keySchema{}, validation("1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1")
	}
	kind := func(name string) (attr.Kind, bool) {
		for _, d := range defs {
			if d.AttributeName == name {
				return keyKind(d.AttributeType)
			}
		}
		return 0, false
	}
	var names, defNames []string
	for _, k := range ks {
		names = append(names, k.AttributeName)
	}
	for _, d := range defs {
		defNames = append(defNames, d.AttributeName)
	}
	var s keySchema
	for i, k := range ks {
		if k.AttributeName == "" {
			return keySchema{}, validation("1 validation error detected: Value null at 'keySchema.%d.member.attributeName' failed to satisfy constraint: Member must not be null", i+1)
		}
		kd, ok := kind(k.AttributeName)
		if !ok {
			return keySchema{}, validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
				strings.Join(names, ", "), strings.Join(defNames, ", "))
		}
		switch {
		case i == 0 && k.KeyType != "HASH":
			return keySchema{}, validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		case i == 1 && k.KeyType != "RANGE":
			return keySchema{}, validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
		case i == 0:
			s.hash, s.hashKind = k.AttributeName, kd
		default:
			s.rng, s.rngKind = k.AttributeName, kd
		}
	}
	if s.hash == s.rng {
		return keySchema{}, validation("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	return s, nil
}

func newIndex(spec secondaryIndexJSON, global bool, t *table, billing string) (*index, error) {
	if len(spec.IndexName) < 3 || len(spec.IndexName) > 255 || !tableNamePattern.MatchString(spec.IndexName) {
		return nil, validation("1 validation error detected: Value '%s' at 'indexName' failed to satisfy constraint: Member must have length greater than or equal to 3 and satisfy regular expression pattern: [a-zA-Z0-9_.-]+", spec.IndexName)
	}
	schema, err := parseKeySchema(spec.KeySchema, t.defs)
	if err != nil {
		return nil, err
	}
	if spec.Projection == nil || spec.Projection.ProjectionType == "" {
		return nil, validation("One or more parameter values were invalid: Unknown ProjectionType: null")
	}
	p := projection{kind: spec.Projection.ProjectionType, include: spec.Projection.NonKeyAttributes}
	switch p.kind {
	case "ALL", "KEYS_ONLY":
		if len(p.include) > 0 {
			return nil, validation("One or more parameter values were invalid: ProjectionType is %s, but NonKeyAttributes is specified", p.kind)
		}
	case "INCLUDE":
		if len(p.include) == 0 {
			return nil, validation("One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
		}
	default:
		return nil, validation("One or more parameter values were invalid: Unknown ProjectionType: %s", p.kind)
	}
	if !global {
		if t.schema.rng == "" {
			return nil, validation("One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex")
		}
		if schema.rng == "" {
			return nil, validation("One or more parameter values were invalid: Index KeySchema does not have a range key for index: %s", spec.IndexName)
		}
		if schema.hash != t.schema.hash {
			return nil, validation("One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: %s. index hash key: %s, table hash key: %s",
				spec.IndexName, schema.hash, t.schema.hash)
		}
	}
	if global && billing == "PAY_PER_REQUEST" && spec.ProvisionedThroughput != nil {
		return nil, validation("One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: %s when BillingMode is PAY_PER_REQUEST", spec.IndexName)
	}
	if global && billing == "PROVISIONED" && spec.ProvisionedThroughput == nil {
		return nil, validation("One or more parameter values were invalid: ProvisionedThroughput is not specified for index: %s", spec.IndexName)
	}
	return &index{
		name:       spec.IndexName,
		global:     global,
		schema:     schema,
		projection: p,
		through:    spec.ProvisionedThroughput,
		entries:    btree.NewG(btreeDegree, indexEntryLess),
	}, nil
}

func (h *Handler) deleteTable(in *tableNameInput) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, notFound("Requested resource not found: Table: " + in.TableName + " not found")
	}
	desc := h.describe(t)
	desc["TableStatus"] = "DELETING"
	delete(h.tables, in.TableName)
	return map[string]any{"TableDescription": desc}, nil
}

func (h *Handler) describeTable(in *tableNameInput) (any, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, notFound("Requested resource not found: Table: " + in.TableName + " not found")
	}
	return map[string]any{"Table": h.describe(t)}, nil
}

// describe is a TableDescription as DescribeTable answers it. mu must be
// held.
func (h *Handler) describe(t *table) map[string]any {
	arn := fmt.Sprintf("arn:aws:dynamodb:%s:000000000000:table/%s", h.region, t.name)
	d := map[string]any{
		"TableName":                 t.name,
		"TableArn":                  arn,
		"TableId":                   t.tableID,
		"TableStatus":               "ACTIVE",
		"CreationDateTime":          float64(t.created.UnixMilli()) / 1000,
		"AttributeDefinitions":      t.defs,
		"KeySchema":                 schemaJSON(t.schema),
		"ItemCount":                 t.items.Len(),
		"TableSizeBytes":            t.bytes,
		"DeletionProtectionEnabled": false,
	}
	d["ProvisionedThroughput"] = throughputJSON(t.through)
	if t.billing == "PAY_PER_REQUEST" {
		d["BillingModeSummary"] = map[string]any{"BillingMode": "PAY_PER_REQUEST",
			"LastUpdateToPayPerRequestDateTime": float64(t.created.UnixMilli()) / 1000}
	}
	if t.stream != nil && t.stream.StreamEnabled {
		d["StreamSpecification"] = t.stream
		d["LatestStreamLabel"] = t.created.UTC().Format("2006-01-02T15:04:05.000")
		d["LatestStreamArn"] = arn + "/stream/" + d["LatestStreamLabel"].(string)
	}
	var gsis, lsis []map[string]any
	for _, ix := range t.indexes {
		desc := map[string]any{
			"IndexName":      ix.name,
			"IndexArn":       arn + "/index/" + ix.name,
			"KeySchema":      schemaJSON(ix.schema),
			"Projection":     projectionJSON{ProjectionType: ix.projection.kind, NonKeyAttributes: ix.projection.include},
			"ItemCount":      ix.entries.Len(),
			"IndexSizeBytes": ix.bytes,
		}
		if ix.global {
			desc["IndexStatus"] = "ACTIVE"
			desc["ProvisionedThroughput"] = throughputJSON(ix.through)
			gsis = append(gsis, desc)
		} else {
			lsis = append(lsis, desc)
		}
	}
	if gsis != nil {
		d["GlobalSecondaryIndexes"] = gsis
	}
	if lsis != nil {
		d["LocalSecondaryIndexes"] = lsis
	}
	return d
}

func schemaJSON(s keySchema) []keySchemaElement {
	out := []keySchemaElement{{AttributeName: s.hash, KeyType: "HASH"}}
	if s.rng != "" {
		out = append(out, keySchemaElement{AttributeName: s.rng, KeyType: "RANGE"})
	}
	return out
}

func throughputJSON(p *provisionedThroughput) provisionedThroughputDescription {
	if p == nil {
		return provisionedThroughputDescription{}
	}
	return provisionedThroughputDescription{ReadCapacityUnits: p.ReadCapacityUnits, WriteCapacityUnits: p.WriteCapacityUnits}
}

func (h *Handler) listTables(in *listTablesInput) (any, error) {
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 1", *in.Limit)
		}
		limit = *in.Limit
	}
	h.mu.RLock()
	names := make([]string, 0, len(h.tables))
	for name := range h.tables {
		if name > in.ExclusiveStartTableName {
			names = append(names, name)
		}
	}
	h.mu.RUnlock()
	sort.Strings(names)
	out := map[string]any{"TableNames": names}
	if len(names) > limit {
		names = names[:limit]
		out["TableNames"] = names
		out["LastEvaluatedTableName"] = names[limit-1]
	}
	return out, nil
}

// updateTable changes billing, throughput and streams, and creates or
// deletes global secondary indexes; a new index is filled from the
// table's items at once, so it is ACTIVE when the call returns.
func (h *Handler) updateTable(in *updateTableInput) (any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, notFound("Requested resource not found: Table: " + in.TableName + " not found")
	}
	for _, d := range in.AttributeDefinitions {
		if _, ok := keyKind(d.AttributeType); !ok {
			return nil, validation("1 validation error detected: Value '%s' at 'attributeDefinitions.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
	}
	defs := slices.Clone(t.defs)
	for _, d := range in.AttributeDefinitions {
		if i := slices.IndexFunc(defs, func(x attributeDefinition) bool { return x.AttributeName == d.AttributeName }); i >= 0 {
			if defs[i].AttributeType != d.AttributeType {
				return nil, validation("One or more parameter values were invalid: Attribute %s is already defined with type %s", d.AttributeName, defs[i].AttributeType)
			}
			continue
		}
		defs = append(defs, d)
	}
	billing := t.billing
	if in.BillingMode != "" {
		billing = in.BillingMode
	}
	var created []*index
	var deleted []string
	for _, u := range in.GlobalSecondaryIndexUpdates {
		switch {
		case u.Create != nil:
			probe := &table{schema: t.schema, defs: defs}
			ix, err := newIndex(*u.Create, true, probe, billing)
			if err != nil {
				return nil, err
			}
			if t.findIndex(ix.name) != nil {
				return nil, validation("One or more parameter values were invalid: Index %s already exists", ix.name)
			}
			created = append(created, ix)
		case u.Delete != nil:
			if t.findIndex(u.Delete.IndexName) == nil {
				return nil, notFound("Requested resource not found: Index: " + u.Delete.IndexName + " not found")
			}
			deleted = append(deleted, u.Delete.IndexName)
		case u.Update != nil:
			ix := t.findIndex(u.Update.IndexName)
			if ix == nil {
				return nil, notFound("Requested resource not found: Index: " + u.Update.IndexName + " not found")
			}
			ix.through = u.Update.ProvisionedThroughput
		}
	}
	t.defs, t.billing = defs, billing
	if in.ProvisionedThroughput != nil {
		t.through = in.ProvisionedThroughput
	}
	if in.StreamSpecification != nil {
		t.stream = in.StreamSpecification
	}
	t.indexes = slices.DeleteFunc(t.indexes, func(ix *index) bool { return slices.Contains(deleted, ix.name) })
	for _, ix := range created {
		t.items.Ascend(func(e *entry) bool {
			ix.update(t, e.key, nil, decode(e.raw), e)
			return true
		})
		t.indexes = append(t.indexes, ix)
	}
	return map[string]any{"TableDescription": h.describe(t)}, nil
}

func (h *Handler) updateTimeToLive(in *updateTimeToLiveInput) (any, error) {
	spec := in.TimeToLiveSpecification
	if spec == nil || spec.Enabled == nil || spec.AttributeName == "" {
		return nil, validation("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, err
	}
	switch {
	case *spec.Enabled && t.ttlAttr != "":
		return nil, validation("TimeToLive is already enabled")
	case !*spec.Enabled && t.ttlAttr == "":
		return nil, validation("TimeToLive is already disabled")
	case !*spec.Enabled && t.ttlAttr != spec.AttributeName:
		return nil, validation("TimeToLive attribute name %s does not match the enabled attribute %s", spec.AttributeName, t.ttlAttr)
	case *spec.Enabled:
		t.enableTTL(spec.AttributeName)
	default:
		t.disableTTL()
	}
	return map[string]any{"TimeToLiveSpecification": map[string]any{"AttributeName": spec.AttributeName, "Enabled": *spec.Enabled}}, nil
}

func (h *Handler) describeTimeToLive(in *tableNameInput) (any, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	t, err := h.table(in.TableName)
	if err != nil {
		return nil, err
	}
	desc := map[string]any{"TimeToLiveStatus": "DISABLED"}
	if t.ttlAttr != "" {
		desc = map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": t.ttlAttr}
	}
	return map[string]any{"TimeToLiveDescription": desc}, nil
}
