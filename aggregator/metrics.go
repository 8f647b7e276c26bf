package aggregator

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the aggregator does with priced records.
type Metrics struct {
	Applied      prometheus.Counter   // records added to the roll-ups
	Duplicates   prometheus.Counter   // records delivered again and skipped
	DeadLettered prometheus.Counter   // payloads that are not valid records
	BatchErrors  prometheus.Counter   // batches that failed and were nacked
	BatchSeconds prometheus.Histogram // time to apply one batch
}

// NewMetrics creates the metrics and registers them on reg; nil leaves
// them unregistered (tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "convertor", Subsystem: "aggregator", Name: name, Help: help})
	}
	m := &Metrics{
		Applied:      counter("applied_total", "Priced records added to the roll-ups."),
		Duplicates:   counter("duplicates_total", "Priced records delivered again and skipped."),
		DeadLettered: counter("deadlettered_total", "Payloads that are not valid priced records, sent to the dead letter."),
		BatchErrors:  counter("batch_errors_total", "Batches whose roll-up write failed; they are held and applied again."),
		BatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "convertor", Subsystem: "aggregator", Name: "batch_seconds",
			Help:    "Time to apply one batch of priced records to the roll-ups.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Applied, m.Duplicates, m.DeadLettered, m.BatchErrors, m.BatchSeconds)
	}
	return m
}
