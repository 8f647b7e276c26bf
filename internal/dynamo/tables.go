package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Index and attribute names of the tables other than api-keys. Every table
// keys on generic "pk" (and "sk") strings so that what a key holds can
// evolve without recreating the table; deploy/tables/README.md describes
// what each holds.
const (
	// UsageByKeyIndex queries a key's usage records by time: key_id, ts.
	UsageByKeyIndex = "by-key"
	// UsageByHourIndex queries every record of an hour by time: hour, ts.
	UsageByHourIndex = "by-hour"
	// UsageTTLAttribute holds the epoch second after which DynamoDB may
	// delete a usage record.
	UsageTTLAttribute = "expires_at"
	// UsageStatsByPeriodIndex lists every key's roll-ups of one hour or
	// day: period_start, key_model. It is sparse: only key × model rows
	// carry its keys.
	UsageStatsByPeriodIndex = "by-period"
)

// tableReadyTimeout bounds the wait for a new table to become ACTIVE; AWS
// takes seconds, local servers well under one.
const tableReadyTimeout = 2 * time.Minute

// tableReadyPoll is the interval between DescribeTable calls while waiting.
const tableReadyPoll = 250 * time.Millisecond

// Definitions returns the creation input of every table, api-keys first.
// All are on-demand (PAY_PER_REQUEST): traffic is bursty and a gateway must
// never be throttled by a capacity setting nobody revisited.
func Definitions(t Tables) []*dynamodb.CreateTableInput {
	return []*dynamodb.CreateTableInput{
		{
			TableName:            aws.String(t.APIKeys),
			AttributeDefinitions: attrs("pk"),
			KeySchema:            keys("pk", ""),
			BillingMode:          types.BillingModePayPerRequest,
		},
		{
			TableName:            aws.String(t.Usage),
			AttributeDefinitions: attrs("pk", "key_id", "hour", "ts"),
			KeySchema:            keys("pk", ""),
			BillingMode:          types.BillingModePayPerRequest,
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi(UsageByKeyIndex, "key_id", "ts"),
				gsi(UsageByHourIndex, "hour", "ts"),
			},
		},
		// usage-stats must never get a local secondary index: DynamoDB
		// could then no longer split a hot by-period partition by sort
		// key (stats.go says more).
		{
			TableName:            aws.String(t.UsageStats),
			AttributeDefinitions: attrs("pk", "sk", "period_start", "key_model"),
			KeySchema:            keys("pk", "sk"),
			BillingMode:          types.BillingModePayPerRequest,
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi(UsageStatsByPeriodIndex, "period_start", "key_model"),
			},
		},
		{
			TableName:            aws.String(t.ModelPricing),
			AttributeDefinitions: attrs("pk", "sk"),
			KeySchema:            keys("pk", "sk"),
			BillingMode:          types.BillingModePayPerRequest,
		},
		{
			TableName:            aws.String(t.ModelMapping),
			AttributeDefinitions: attrs("pk"),
			KeySchema:            keys("pk", ""),
			BillingMode:          types.BillingModePayPerRequest,
		},
	}
}

// ttlAttributes names the TTL attribute of the tables that have one. In
// usage-stats only the aggregator's applied-record markers carry it.
func ttlAttributes(t Tables) map[string]string {
	return map[string]string{t.Usage: UsageTTLAttribute, t.UsageStats: StatsTTLAttribute}
}

func attrs(names ...string) []types.AttributeDefinition {
	out := make([]types.AttributeDefinition, len(names))
	for i, n := range names {
		out[i] = types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	return out
}

func keys(hash, rang string) []types.KeySchemaElement {
	out := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	if rang != "" {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(rang), KeyType: types.KeyTypeRange})
	}
	return out
}

func gsi(name, hash, rang string) types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName:  aws.String(name),
		KeySchema:  keys(hash, rang),
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
	}
}

// TableResult says what CreateTables did to one table.
type TableResult struct {
	Name string
	// Created is false when the table existed already.
	Created bool
	// Warnings are problems that do not stop the product from working,
	// such as a local server without TTL support.
	Warnings []string
}

// CreateTables creates every table of t that does not exist and waits until
// each is ready; existing tables are left as they are, so running it again
// is harmless. It fails if an existing table has a different key schema,
// which no code here could use. Warnings are returned, not logged: the
// caller knows whether a person is reading.
func CreateTables(ctx context.Context, db *dynamodb.Client, t Tables, log *slog.Logger) ([]TableResult, error) {
	ttl := ttlAttributes(t)
	var results []TableResult
	// One at a time: AWS limits concurrent table creations per account, and
	// some local servers are not safe for concurrent CreateTable calls.
	for _, def := range Definitions(t) {
		name := aws.ToString(def.TableName)
		res := TableResult{Name: name}
		_, err := db.CreateTable(ctx, def)
		var inUse *types.ResourceInUseException
		switch {
		case err == nil:
			res.Created = true
			log.Debug("creating table", "table", name)
		case errors.As(err, &inUse):
			log.Debug("table exists", "table", name)
		default:
			return results, fmt.Errorf("create table %s: %w", name, err)
		}
		desc, err := waitActive(ctx, db, name)
		if err != nil {
			return results, err
		}
		warnings, err := checkTable(def, desc)
		if err != nil {
			return results, err
		}
		res.Warnings = append(res.Warnings, warnings...)
		if attr, ok := ttl[name]; ok {
			if w := enableTTL(ctx, db, name, attr); w != "" {
				res.Warnings = append(res.Warnings, w)
			}
		}
		results = append(results, res)
	}
	return results, nil
}

// waitActive polls until the table and its indexes are ACTIVE. Servers that
// report no status at all count as ready. The SDK's waiter is not
// used because it treats such a server as never ready.
func waitActive(ctx context.Context, db *dynamodb.Client, name string) (*types.TableDescription, error) {
	ctx, cancel := context.WithTimeout(ctx, tableReadyTimeout)
	defer cancel()
	for {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", name, err)
		}
		if ready(out.Table) {
			return out.Table, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("table %s not active (status %s): %w", name, out.Table.TableStatus, ctx.Err())
		case <-time.After(tableReadyPoll):
		}
	}
}

func ready(d *types.TableDescription) bool {
	if d == nil {
		return false
	}
	if d.TableStatus != "" && d.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range d.GlobalSecondaryIndexes {
		if g.IndexStatus != "" && g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// checkTable compares an existing table with its definition: a different
// key schema is an error, a missing index a warning (only the queries that
// use it fail, and an operator may add it without downtime).
func checkTable(def *dynamodb.CreateTableInput, desc *types.TableDescription) (warnings []string, err error) {
	name := aws.ToString(def.TableName)
	if desc == nil {
		return nil, nil
	}
	if len(desc.KeySchema) > 0 && schemaString(desc.KeySchema) != schemaString(def.KeySchema) {
		return nil, fmt.Errorf("table %s exists with key schema %s, want %s", name, schemaString(desc.KeySchema), schemaString(def.KeySchema))
	}
	have := make([]string, 0, len(desc.GlobalSecondaryIndexes))
	for _, g := range desc.GlobalSecondaryIndexes {
		have = append(have, aws.ToString(g.IndexName))
	}
	for _, g := range def.GlobalSecondaryIndexes {
		if !slices.Contains(have, aws.ToString(g.IndexName)) {
			warnings = append(warnings, fmt.Sprintf("table %s has no index %s", name, aws.ToString(g.IndexName)))
		}
	}
	return warnings, nil
}

func schemaString(ks []types.KeySchemaElement) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = aws.ToString(k.AttributeName) + " " + string(k.KeyType)
	}
	return strings.Join(parts, ", ")
}

// enableTTL turns on expiry by attr, returning a warning instead of failing:
// some local servers (dynalite) do not implement TTL, and a table
// without it only keeps its records longer.
func enableTTL(ctx context.Context, db *dynamodb.Client, name, attr string) (warning string) {
	if out, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)}); err == nil &&
		out.TimeToLiveDescription != nil {
		switch out.TimeToLiveDescription.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			return ""
		}
	}
	_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attr),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			err = errors.New(ae.ErrorCode())
		}
		return fmt.Sprintf("time to live on %s not enabled, records will not expire (%v)", attr, err)
	}
	return ""
}
