package bedrock

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

// NewSDKClient returns the official bedrockruntime client configured like a
// Client from the same arguments: same region, endpoint, retry budget and
// tuned transport. The gateway does not use it; it exists so tests and
// benchmarks can drive Bedrock (or the emulator) through the SDK and compare.
//
// bedrockruntime is pinned at v1.62.0: from v1.63.0 on, concurrent
// ConverseStream calls on one client race inside smithy-go under -race.
func NewSDKClient(awsCfg aws.Config, cfg ClientConfig) *bedrockruntime.Client {
	retries := cfg.MaxRetries
	switch {
	case retries == 0:
		retries = DefaultMaxRetries
	case retries < 0:
		retries = 0
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(cfg)}
	}
	return bedrockruntime.NewFromConfig(awsCfg, func(o *bedrockruntime.Options) {
		if cfg.Region != "" {
			o.Region = cfg.Region
		}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.HTTPClient = hc
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = retries + 1
		})
	})
}
