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
	// AuditByTimeIndex walks the whole audit log by time: log, ts_id.
	AuditByTimeIndex = "by-time"
	// AuditByActorIndex walks one actor's changes by time: actor, ts_id.
	AuditByActorIndex = "by-actor"
	// AuditByResourceIndex walks one resource's history by time:
	// resource_id, ts_id.
	AuditByResourceIndex = "by-resource"
	// UsageStatsByPeriodIndex lists every key's roll-ups of one hour or
	// day: period_start, key_model. It is sparse: only key × model rows
	// carry its keys.
	UsageStatsByPeriodIndex = "by-period"
)

// tableReadyTimeout bounds the wait for a new table to become ACTIVE; AWS
// takes seconds, local servers well under one.
const tableReadyTimeout = 2 * time.Minute

// indexReadyTimeout bounds the wait for an existing table to become ACTIVE,
// which includes an index being added: AWS fills it from every item of
// the table, minutes for a few GB. Running `tables create` again resumes
// the wait.
const indexReadyTimeout = time.Hour

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
		// audit.go says why the entries are keyed by id and read through
		// indexes.
		{
			TableName:            aws.String(t.Audit),
			AttributeDefinitions: attrs("pk", auditLog, auditActor, auditResourceID, auditPosition),
			KeySchema:            keys("pk", ""),
			BillingMode:          types.BillingModePayPerRequest,
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi(AuditByTimeIndex, auditLog, auditPosition),
				gsi(AuditByActorIndex, auditActor, auditPosition),
				gsi(AuditByResourceIndex, auditResourceID, auditPosition),
			},
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
	// AddedIndexes names the indexes added to an existing table.
	AddedIndexes []string
	// Warnings are problems that do not stop the product from working,
	// such as a local server without TTL support.
	Warnings []string
}

// CreateTables creates every table of t that does not exist, adds the
// global secondary indexes an existing table lacks (UpdateTable), and
// waits until each table and index is ready; running it again is
// harmless. It fails if an existing table or index has a different key
// schema, which no code here could use. Warnings are returned, not
// logged: the caller knows whether a person is reading.
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
		// An existing table may be filling an index a previous run added.
		timeout := indexReadyTimeout
		switch {
		case err == nil:
			res.Created = true
			timeout = tableReadyTimeout
			log.Debug("creating table", "table", name)
		case errors.As(err, &inUse):
			log.Debug("table exists", "table", name)
		default:
			return results, fmt.Errorf("create table %s: %w", name, err)
		}
		desc, err := waitActive(ctx, db, name, timeout)
		if err != nil {
			return results, err
		}
		missing, err := checkTable(def, desc)
		if err != nil {
			return results, err
		}
		for _, g := range missing {
			added, err := addIndex(ctx, db, def, g, log)
			if err != nil {
				return results, err
			}
			if added {
				res.AddedIndexes = append(res.AddedIndexes, aws.ToString(g.IndexName))
			} else {
				res.Warnings = append(res.Warnings, fmt.Sprintf("table %s has no index %s and the server did not add it; the queries that use it fail", name, aws.ToString(g.IndexName)))
			}
		}
		if attr, ok := ttl[name]; ok {
			if w := enableTTL(ctx, db, name, attr); w != "" {
				res.Warnings = append(res.Warnings, w)
			}
		}
		results = append(results, res)
	}
	return results, nil
}

// addIndex creates index g of def on the existing table and waits until
// DynamoDB has filled it from the table's items and made it ACTIVE. It
// reports false, with no error, when the server does not add indexes to a
// table: it refuses the request as invalid (dynalite, for a table without
// provisioned throughput) or accepts it and ignores the index.
func addIndex(ctx context.Context, db *dynamodb.Client, def *dynamodb.CreateTableInput, g types.GlobalSecondaryIndex, log *slog.Logger) (added bool, err error) {
	name, index := aws.ToString(def.TableName), aws.ToString(g.IndexName)
	var defs []types.AttributeDefinition
	for _, k := range g.KeySchema {
		for _, d := range def.AttributeDefinitions {
			if aws.ToString(d.AttributeName) == aws.ToString(k.AttributeName) {
				defs = append(defs, d)
			}
		}
	}
	log.Info("adding index to table; it is filled from every item, which may take minutes", "table", name, "index", index)
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:            def.TableName,
		AttributeDefinitions: defs,
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName:  g.IndexName,
			KeySchema:  g.KeySchema,
			Projection: g.Projection,
		}}},
	})
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "ValidationException" || ae.ErrorCode() == "UnknownOperationException") {
		// DynamoDB accepts this request: the server does not implement
		// it (dynalite asks for a provisioned throughput).
		log.Debug("index not added", "table", name, "index", index, "error", err)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add index %s to table %s: %w", index, name, err)
	}
	desc, err := waitActive(ctx, db, name, indexReadyTimeout)
	if err != nil {
		return false, fmt.Errorf("add index %s to table %s: %w", index, name, err)
	}
	return hasIndex(desc, index), nil
}

func hasIndex(desc *types.TableDescription, index string) bool {
	return slices.ContainsFunc(desc.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool {
		return aws.ToString(g.IndexName) == index
	})
}

// waitActive polls until the table and its indexes are ACTIVE. Servers that
// report no status at all count as ready. The SDK's waiter is not
// used because it treats such a server as never ready.
func waitActive(ctx context.Context, db *dynamodb.Client, name string, timeout time.Duration) (*types.TableDescription, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
// key schema of the table or of an index is an error; the indexes it
// lacks are returned, for CreateTables to add.
func checkTable(def *dynamodb.CreateTableInput, desc *types.TableDescription) (missing []types.GlobalSecondaryIndex, err error) {
	name := aws.ToString(def.TableName)
	if desc == nil {
		return nil, nil
	}
	if len(desc.KeySchema) > 0 && schemaString(desc.KeySchema) != schemaString(def.KeySchema) {
		return nil, fmt.Errorf("table %s exists with key schema %s, want %s", name, schemaString(desc.KeySchema), schemaString(def.KeySchema))
	}
	for _, g := range def.GlobalSecondaryIndexes {
		i := slices.IndexFunc(desc.GlobalSecondaryIndexes, func(have types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(have.IndexName) == aws.ToString(g.IndexName)
		})
		if i < 0 {
			missing = append(missing, g)
			continue
		}
		if have := desc.GlobalSecondaryIndexes[i].KeySchema; len(have) > 0 && schemaString(have) != schemaString(g.KeySchema) {
			return nil, fmt.Errorf("table %s has index %s with key schema %s, want %s", name, aws.ToString(g.IndexName), schemaString(have), schemaString(g.KeySchema))
		}
	}
	return missing, nil
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
