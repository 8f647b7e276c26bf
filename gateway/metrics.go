package gateway

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// metricsNamespace prefixes every metric the gateway exports.
const metricsNamespace = "convertor_gateway"

// Metrics are the gateway's Prometheus metrics, in a registry of their own
// so several servers (tests) can run in one process.
type Metrics struct {
	registry *prometheus.Registry
	handler  fasthttp.RequestHandler

	requests         *prometheus.CounterVec
	upstreamLatency  *prometheus.HistogramVec
	ttft             *prometheus.HistogramVec
	tokens           *prometheus.CounterVec
	inflightStreams  prometheus.Gauge
	disconnects      prometheus.Counter
	upstreamRetries  prometheus.Counter
	upstreamFailures *prometheus.CounterVec
	rateLimited      *prometheus.CounterVec
}

// latencyBuckets span a cached one-token answer to a long thinking stream.
var latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320}

func newMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "requests_total",
			Help: "Requests served, by HTTP status, model route and whether streamed.",
		}, []string{"status", "model", "stream"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "upstream_duration_seconds",
			Help:    "Time from sending a Bedrock call to its last byte.",
			Buckets: latencyBuckets,
		}, []string{"model", "stream"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "time_to_first_token_seconds",
			Help:    "Time from receiving a streamed request to writing its first chunk.",
			Buckets: latencyBuckets,
		}, []string{"model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "tokens_total",
			Help: "Tokens reported by Bedrock, by model route and kind (input, output, cache_read, cache_write).",
		}, []string{"model", "kind"}),
		inflightStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "inflight_streams",
			Help: "Streamed responses being written now.",
		}),
		disconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "client_disconnects_total",
			Help: "Requests and streams ended because the client went away.",
		}),
		upstreamRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_retries_total",
			Help: "Bedrock calls retried after throttling or unavailability.",
		}),
		upstreamFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_errors_total",
			Help: "Failed Bedrock calls, by domain error code.",
		}, []string{"code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "rate_limited_total",
			Help: "Requests refused by the gateway's own limits, by limit: requests, tokens, budget, or unpriced (a budgeted key asking for a model without a price).",
		}, []string{"limit"}),
	}
	m.registry.MustRegister(m.requests, m.upstreamLatency, m.ttft, m.tokens, m.inflightStreams,
		m.disconnects, m.upstreamRetries, m.upstreamFailures, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return m
}

// Registry returns the registry, for a binary that exports more metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) observeRequest(status int, model string, stream bool) {
	m.requests.WithLabelValues(strconv.Itoa(status), model, strconv.FormatBool(stream)).Inc()
}

func (m *Metrics) observeUpstream(model string, stream bool, d time.Duration, attempts int, code string) {
	m.upstreamLatency.WithLabelValues(model, strconv.FormatBool(stream)).Observe(d.Seconds())
	if attempts > 1 {
		m.upstreamRetries.Add(float64(attempts - 1))
	}
	if code != "" {
		m.upstreamFailures.WithLabelValues(code).Inc()
	}
}

func (m *Metrics) observeTokens(model string, u bedrock.TokenUsage) {
	for _, k := range []struct {
		kind string
		n    int
	}{
		{"input", u.InputTokens},
		{"output", u.OutputTokens},
		{"cache_read", u.CacheReadInputTokens},
		{"cache_write", u.CacheWriteInputTokens},
	} {
		if k.n > 0 {
			m.tokens.WithLabelValues(model, k.kind).Add(float64(k.n))
		}
	}
}
