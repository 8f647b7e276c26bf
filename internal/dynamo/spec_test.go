package dynamo

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestSpecs(t *testing.T) {
	t.Parallel()
	specs, err := Specs(DefaultTables())
	if err != nil {
		t.Fatalf("Specs() error = %v", err)
	}
	defs := Definitions(DefaultTables())
	if len(specs) != len(defs) {
		t.Fatalf("Specs() = %d tables, want %d", len(specs), len(defs))
	}
	for i, s := range specs {
		d := defs[i]
		if s.Name != aws.ToString(d.TableName) || len(s.GlobalSecondaryIndexes) != len(d.GlobalSecondaryIndexes) {
			t.Errorf("spec %d = %s with %d indexes, want %s with %d", i, s.Name, len(s.GlobalSecondaryIndexes), aws.ToString(d.TableName), len(d.GlobalSecondaryIndexes))
		}
		if s.Variable == "" {
			t.Errorf("spec %s has no variable", s.Name)
		}
	}
	stats := specs[2]
	if stats.Name != DefaultUsageStatsTable || stats.SortKey == nil || stats.SortKey.Name != "sk" || stats.TTLAttribute != StatsTTLAttribute {
		t.Errorf("usage-stats spec = %+v", stats)
	}
	if ix := stats.GlobalSecondaryIndexes[0]; ix.Name != UsageStatsByPeriodIndex || ix.PartitionKey.Name != "period_start" || ix.SortKey.Name != "key_model" || ix.Projection != "ALL" {
		t.Errorf("by-period spec = %+v", ix)
	}
}

func TestSpec_Refuses(t *testing.T) {
	t.Parallel()
	base := func() *dynamodb.CreateTableInput {
		return &dynamodb.CreateTableInput{
			TableName:            aws.String("t"),
			AttributeDefinitions: attrs("pk", "sk"),
			KeySchema:            keys("pk", ""),
			BillingMode:          types.BillingModePayPerRequest,
		}
	}
	for _, tt := range []struct {
		name   string
		change func(*dynamodb.CreateTableInput)
		want   string
	}{
		{"local index", func(d *dynamodb.CreateTableInput) {
			d.LocalSecondaryIndexes = []types.LocalSecondaryIndex{{IndexName: aws.String("l")}}
		}, "does not carry"},
		{"stream", func(d *dynamodb.CreateTableInput) {
			d.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true)}
		}, "does not carry"},
		{"undefined key", func(d *dynamodb.CreateTableInput) { d.KeySchema = keys("id", "") }, "key attribute id has no attribute definition"},
		{"two hash keys", func(d *dynamodb.CreateTableInput) {
			d.KeySchema = append(keys("pk", ""), keys("sk", "")...)
		}, "is not one HASH"},
		{"index throughput", func(d *dynamodb.CreateTableInput) {
			g := gsi("g", "sk", "")
			g.ProvisionedThroughput = &types.ProvisionedThroughput{}
			d.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{g}
		}, "index g: throughput"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := base()
			tt.change(d)
			if _, err := spec(d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("spec() error = %v, want %q", err, tt.want)
			}
		})
	}
}
