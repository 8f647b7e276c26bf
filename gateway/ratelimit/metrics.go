package ratelimit

import "github.com/prometheus/client_golang/prometheus"

// Metric names share the gateway's namespace so one scrape shows them together.
const (
	metricsNamespace = "convertor_gateway"
	metricsSubsystem = "ratelimit"
)

// Results counted by the decisions metric.
const (
	resultAllowed         = "allowed"
	resultRefusedRequests = "refused_requests"
	resultRefusedTokens   = "refused_tokens"
	resultFailedOpen      = "failed_open"   // store unreachable, admitted uncounted
	resultFailedClosed    = "failed_closed" // store unreachable, refused with EUnavailable
)

// metrics are a limiter's Prometheus collectors. The counters are resolved
// once so the hot path is one atomic add.
type metrics struct {
	decisions *prometheus.CounterVec
	allowed   prometheus.Counter
	refusedR  prometheus.Counter
	refusedT  prometheus.Counter
	failOpen  prometheus.Counter
	failClose prometheus.Counter

	storeErrors prometheus.Counter // calls that did not reach Redis
	skipped     prometheus.Counter // calls the open breaker kept from Redis
	breakerOpen prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "decisions_total",
			Help: "Rate-limit admissions by result (allowed, refused_requests, refused_tokens, failed_open, failed_closed).",
		}, []string{"result"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "redis_errors_total",
			Help: "Rate-limit calls to Redis that failed or timed out.",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "redis_skipped_total",
			Help: "Rate-limit calls not sent to Redis because its circuit breaker was open.",
		}),
		breakerOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "redis_breaker_open",
			Help: "1 while the rate limiter skips an unreachable Redis, else 0.",
		}),
	}
	m.allowed = m.decisions.WithLabelValues(resultAllowed)
	m.refusedR = m.decisions.WithLabelValues(resultRefusedRequests)
	m.refusedT = m.decisions.WithLabelValues(resultRefusedTokens)
	m.failOpen = m.decisions.WithLabelValues(resultFailedOpen)
	m.failClose = m.decisions.WithLabelValues(resultFailedClosed)
	return m
}

// count records a decision that the store made.
func (m *metrics) count(d Decision) {
	switch {
	case d.Allowed:
		m.allowed.Inc()
	case d.Reason == ReasonRequests:
		m.refusedR.Inc()
	default:
		m.refusedT.Inc()
	}
}

// register adds the collectors to r; withStore adds those about Redis.
// Like prometheus.MustRegister it panics on a duplicate registration, a
// wiring mistake.
func (m *metrics) register(r prometheus.Registerer, withStore bool) {
	if r == nil {
		return
	}
	r.MustRegister(m.decisions)
	if withStore {
		r.MustRegister(m.storeErrors, m.skipped, m.breakerOpen)
	}
}
