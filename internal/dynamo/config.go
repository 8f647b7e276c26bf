// Package dynamo stores the product's records in DynamoDB, implementing the
// root package's store interfaces; one file per table. It works against AWS
// and against local DynamoDB-compatible servers (dynamolocal, DynamoDB
// Local, dynalite), which is why it avoids what some of them lack (see
// each table).
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// Default table names; each can be overridden by its DYNAMODB_*_TABLE variable.
const (
	DefaultAPIKeysTable      = "openai-convertor-api-keys"
	DefaultUsageTable        = "openai-convertor-usage"
	DefaultUsageStatsTable   = "openai-convertor-usage-stats"
	DefaultModelPricingTable = "openai-convertor-model-pricing"
	DefaultModelMappingTable = "openai-convertor-model-mapping"
	DefaultAuditTable        = "openai-convertor-audit"
)

// DefaultRegion matches the gateway's: every Claude model is served there.
const DefaultRegion = "us-east-1"

// localCredential signs requests to a local server when no keys are given:
// local servers check that requests are signed, not by whom.
const localCredential = "local"

// Tables names the product's tables.
type Tables struct {
	APIKeys      string // DYNAMODB_API_KEYS_TABLE
	Usage        string // DYNAMODB_USAGE_TABLE
	UsageStats   string // DYNAMODB_USAGE_STATS_TABLE
	ModelPricing string // DYNAMODB_MODEL_PRICING_TABLE (or DYNAMODB_PRICING_TABLE)
	ModelMapping string // DYNAMODB_MODEL_MAPPING_TABLE
	Audit        string // DYNAMODB_AUDIT_TABLE
}

// DefaultTables returns the default table names.
func DefaultTables() Tables {
	return Tables{
		APIKeys:      DefaultAPIKeysTable,
		Usage:        DefaultUsageTable,
		UsageStats:   DefaultUsageStatsTable,
		ModelPricing: DefaultModelPricingTable,
		ModelMapping: DefaultModelMappingTable,
		Audit:        DefaultAuditTable,
	}
}

// Config says where the tables are.
type Config struct {
	// Endpoint is DYNAMODB_ENDPOINT_URL, a local server such as
	// "http://127.0.0.1:8001"; empty means AWS's regional endpoint.
	Endpoint string
	// Region is AWS_REGION, default "us-east-1".
	Region string
	// AccessKeyID and SecretAccessKey (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY) sign requests to a local Endpoint; they default
	// to fixed local values. Against AWS the SDK's default credential chain
	// is used instead, so roles and profiles work.
	AccessKeyID     string
	SecretAccessKey string
	Tables          Tables
}

// tableNameRE is DynamoDB's rule for table names.
var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envvar.New(getenv)
	cfg := Config{
		Endpoint:        r.String("DYNAMODB_ENDPOINT_URL", ""),
		Region:          r.String("AWS_REGION", DefaultRegion),
		AccessKeyID:     r.String("AWS_ACCESS_KEY_ID", ""),
		SecretAccessKey: r.String("AWS_SECRET_ACCESS_KEY", ""),
		Tables: Tables{
			APIKeys:    r.String("DYNAMODB_API_KEYS_TABLE", DefaultAPIKeysTable),
			Usage:      r.String("DYNAMODB_USAGE_TABLE", DefaultUsageTable),
			UsageStats: r.String("DYNAMODB_USAGE_STATS_TABLE", DefaultUsageStatsTable),
			// DYNAMODB_PRICING_TABLE is the name earlier releases used.
			ModelPricing: r.String("DYNAMODB_MODEL_PRICING_TABLE", r.String("DYNAMODB_PRICING_TABLE", DefaultModelPricingTable)),
			ModelMapping: r.String("DYNAMODB_MODEL_MAPPING_TABLE", DefaultModelMappingTable),
			Audit:        r.String("DYNAMODB_AUDIT_TABLE", DefaultAuditTable),
		},
	}
	return cfg, errors.Join(r.Err(), cfg.Validate())
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("DYNAMODB_ENDPOINT_URL %q: want an http or https URL", c.Endpoint))
		}
	}
	seen := make(map[string]string)
	for _, t := range c.Tables.Variables() {
		if !tableNameRE.MatchString(t.Name) {
			errs = append(errs, fmt.Errorf("%s %q: want 3 to 255 letters, digits, '_', '-' or '.'", t.Variable, t.Name))
			continue
		}
		if other, ok := seen[t.Name]; ok {
			errs = append(errs, fmt.Errorf("%s and %s both name table %q", other, t.Variable, t.Name))
		}
		seen[t.Name] = t.Variable
	}
	return errors.Join(errs...)
}

// maxIdleConns is how many idle connections a client keeps to DynamoDB:
// more than the writes the busiest service has in flight.
const maxIdleConns = 256

// NewClient returns a DynamoDB client for cfg.
func NewClient(ctx context.Context, cfg Config) (*dynamodb.Client, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}
	if cfg.Endpoint != "" {
		// A fixed provider also keeps the SDK from probing the instance
		// metadata service, which never answers off EC2.
		id, secret := cfg.AccessKeyID, cfg.SecretAccessKey
		if id == "" || secret == "" {
			id, secret = localCredential, localCredential
		}
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		// The SDK keeps 10 idle connections per host; the accountant has
		// dozens of writes in flight to the one DynamoDB endpoint, and
		// every one beyond ten would open a new connection and close it
		// after its answer.
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = maxIdleConns
			t.MaxIdleConnsPerHost = maxIdleConns
		})
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			// Local servers do not all send the CRC32 header DynamoDB
			// does.
			o.DisableValidateResponseChecksum = true
		}
	}), nil
}
