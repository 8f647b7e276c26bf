package dynamo

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableVariable pairs a table's name with the variable that sets it.
type TableVariable struct {
	Variable string // DYNAMODB_*_TABLE
	Name     string
}

// Variables returns every table of t with its variable, in the order of
// Definitions.
func (t Tables) Variables() []TableVariable {
	return []TableVariable{
		{"DYNAMODB_API_KEYS_TABLE", t.APIKeys},
		{"DYNAMODB_USAGE_TABLE", t.Usage},
		{"DYNAMODB_USAGE_STATS_TABLE", t.UsageStats},
		{"DYNAMODB_MODEL_PRICING_TABLE", t.ModelPricing},
		{"DYNAMODB_MODEL_MAPPING_TABLE", t.ModelMapping},
		{"DYNAMODB_AUDIT_TABLE", t.Audit},
	}
}

// TableSpec is one table of Definitions in a plain form for tools outside
// Go: the AWS CDK app in deploy/cdk builds its tables from the JSON of
// Specs (`convertor tables definitions --json`), so AWS gets the tables
// the code queries.
type TableSpec struct {
	// Variable is the DYNAMODB_*_TABLE variable the services read the
	// table's name from.
	Variable string `json:"variable"`
	// Name is the table's default name.
	Name         string        `json:"name"`
	PartitionKey KeyAttribute  `json:"partition_key"`
	SortKey      *KeyAttribute `json:"sort_key,omitempty"`
	// BillingMode is PAY_PER_REQUEST or PROVISIONED.
	BillingMode string `json:"billing_mode"`
	// TTLAttribute names the attribute DynamoDB's time to live expires
	// items by, "" for none.
	TTLAttribute           string      `json:"ttl_attribute,omitempty"`
	GlobalSecondaryIndexes []IndexSpec `json:"global_secondary_indexes,omitempty"`
}

// KeyAttribute is a key attribute and its type: S, N or B.
type KeyAttribute struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// IndexSpec is a global secondary index of a TableSpec.
type IndexSpec struct {
	Name         string        `json:"name"`
	PartitionKey KeyAttribute  `json:"partition_key"`
	SortKey      *KeyAttribute `json:"sort_key,omitempty"`
	// Projection is ALL, KEYS_ONLY or INCLUDE.
	Projection       string   `json:"projection"`
	NonKeyAttributes []string `json:"non_key_attributes,omitempty"`
}

// Specs returns Definitions(t) as TableSpecs, with each table's variable
// and time-to-live attribute. It refuses a definition using anything a
// TableSpec cannot carry (local secondary indexes, provisioned capacity,
// streams...), so a definition never reaches AWS with a part silently
// dropped.
func Specs(t Tables) ([]TableSpec, error) {
	vars := make(map[string]string)
	for _, v := range t.Variables() {
		vars[v.Name] = v.Variable
	}
	ttl := ttlAttributes(t)
	var specs []TableSpec
	var errs []error
	for _, def := range Definitions(t) {
		s, err := spec(def)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Variable = vars[s.Name]
		if s.Variable == "" {
			errs = append(errs, fmt.Errorf("table %s: no DYNAMODB_*_TABLE variable names it", s.Name))
		}
		s.TTLAttribute = ttl[s.Name]
		specs = append(specs, s)
	}
	return specs, errors.Join(errs...)
}

func spec(def *dynamodb.CreateTableInput) (TableSpec, error) {
	name := aws.ToString(def.TableName)
	switch {
	case len(def.LocalSecondaryIndexes) > 0,
		def.ProvisionedThroughput != nil,
		def.OnDemandThroughput != nil,
		def.StreamSpecification != nil,
		def.SSESpecification != nil,
		def.DeletionProtectionEnabled != nil,
		def.ResourcePolicy != nil,
		def.WarmThroughput != nil,
		def.GlobalTableSourceArn != nil,
		def.GlobalTableSettingsReplicationMode != "",
		len(def.VectorIndexes) > 0,
		len(def.Tags) > 0,
		def.TableClass != "":
		return TableSpec{}, fmt.Errorf("table %s: the definition uses a setting TableSpec does not carry; add it to TableSpec and the CDK app", name)
	}
	attrTypes := make(map[string]string)
	for _, a := range def.AttributeDefinitions {
		attrTypes[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	pk, sk, err := keyAttributes(def.KeySchema, attrTypes)
	if err != nil {
		return TableSpec{}, fmt.Errorf("table %s: %w", name, err)
	}
	s := TableSpec{Name: name, PartitionKey: pk, SortKey: sk, BillingMode: string(def.BillingMode)}
	for _, g := range def.GlobalSecondaryIndexes {
		ix, err := indexSpec(g, attrTypes)
		if err != nil {
			return TableSpec{}, fmt.Errorf("table %s: %w", name, err)
		}
		s.GlobalSecondaryIndexes = append(s.GlobalSecondaryIndexes, ix)
	}
	return s, nil
}

func indexSpec(g types.GlobalSecondaryIndex, attrTypes map[string]string) (IndexSpec, error) {
	name := aws.ToString(g.IndexName)
	if g.ProvisionedThroughput != nil || g.OnDemandThroughput != nil || g.WarmThroughput != nil {
		return IndexSpec{}, fmt.Errorf("index %s: throughput settings are not carried by IndexSpec", name)
	}
	pk, sk, err := keyAttributes(g.KeySchema, attrTypes)
	if err != nil {
		return IndexSpec{}, fmt.Errorf("index %s: %w", name, err)
	}
	ix := IndexSpec{Name: name, PartitionKey: pk, SortKey: sk, Projection: string(types.ProjectionTypeAll)}
	if g.Projection != nil {
		if g.Projection.ProjectionType != "" {
			ix.Projection = string(g.Projection.ProjectionType)
		}
		ix.NonKeyAttributes = g.Projection.NonKeyAttributes
	}
	return ix, nil
}

// keyAttributes reads a key schema: one HASH element and at most one
// RANGE, each with an attribute definition.
func keyAttributes(ks []types.KeySchemaElement, attrTypes map[string]string) (pk KeyAttribute, sk *KeyAttribute, err error) {
	for _, k := range ks {
		n := aws.ToString(k.AttributeName)
		typ, ok := attrTypes[n]
		if !ok {
			return pk, nil, fmt.Errorf("key attribute %s has no attribute definition", n)
		}
		a := KeyAttribute{Name: n, Type: typ}
		switch {
		case k.KeyType == types.KeyTypeHash && pk.Name == "":
			pk = a
		case k.KeyType == types.KeyTypeRange && sk == nil:
			sk = &a
		default:
			return pk, nil, fmt.Errorf("key schema %s is not one HASH and at most one RANGE", schemaString(ks))
		}
	}
	if pk.Name == "" {
		return pk, nil, fmt.Errorf("key schema %s has no HASH key", schemaString(ks))
	}
	return pk, sk, nil
}
