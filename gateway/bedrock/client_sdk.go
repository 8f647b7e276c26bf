package bedrock

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

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

// NewTransport returns a net/http transport tuned as the Client's own pool
// is (HTTP/1.1, the same keep-alive pool size and timeouts), for the SDK
// client, so that benchmarks compare clients rather than pool settings.
func NewTransport(cfg ClientConfig) *http.Transport {
	dial := cfg.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	idle := cfg.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = DefaultMaxIdleConnsPerHost
	}
	idleTimeout := cfg.IdleConnTimeout
	if idleTimeout <= 0 {
		idleTimeout = DefaultIdleConnTimeout
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          idle * 2,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       idleTimeout,
		TLSHandshakeTimeout:   DefaultTLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// A non-nil empty map turns HTTP/2 off (see the Client comment).
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
}
