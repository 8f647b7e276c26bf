package events

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics counts what the emitter and consumers do with events. Dropped
// must stay at zero: anything else means events were lost and is logged
// at Error as well.
type Metrics struct {
	Emitted  prometheus.Counter // handed to Emit
	Sent     prometheus.Counter // published by the emitter from its queue
	Spooled  prometheus.Counter // written to the spool
	Replayed prometheus.Counter // published from the spool
	Dropped  prometheus.Counter // lost: neither published nor spooled
	// Held is how many events wait in memory because the spool refuses
	// them; anything but 0 needs an operator (a full disk).
	Held prometheus.Gauge

	Consumed      prometheus.Counter // valid events handed to a consumer's handler and acked
	DeadLettered  prometheus.Counter // invalid payloads sent to the dead letter
	HandlerErrors prometheus.Counter // handler failures; their batches are tried again
	// Retrying is how many messages consumers hold after a failure of
	// their handler (a store that is down), to try them again.
	Retrying prometheus.Gauge

	// SubscribeFailures counts failed subscriptions, each retried;
	// Subscribed is 1 while a consumer's subscription is live.
	SubscribeFailures prometheus.Counter
	Subscribed        prometheus.Gauge
}

// NewMetrics creates the counters and registers them on reg; nil leaves
// them unregistered (tests). Registering on a registry that has them
// already reuses those, so an emitter and consumers can share one.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "convertor", Subsystem: "events", Name: name, Help: help})
		if reg == nil {
			return c
		}
		if err := reg.Register(c); err != nil {
			var exists prometheus.AlreadyRegisteredError
			if errors.As(err, &exists) {
				if old, ok := exists.ExistingCollector.(prometheus.Counter); ok {
					return old
				}
			}
			panic(err) // a name clash with a different metric is a bug
		}
		return c
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "convertor", Subsystem: "events", Name: name, Help: help})
		if reg == nil {
			return g
		}
		if err := reg.Register(g); err != nil {
			var exists prometheus.AlreadyRegisteredError
			if errors.As(err, &exists) {
				if old, ok := exists.ExistingCollector.(prometheus.Gauge); ok {
					return old
				}
			}
			panic(err)
		}
		return g
	}
	return &Metrics{
		Emitted:           counter("emitted_total", "Usage events handed to the emitter."),
		Sent:              counter("sent_total", "Usage events published from the emitter's queue."),
		Spooled:           counter("spooled_total", "Usage events written to the local spool."),
		Replayed:          counter("replayed_total", "Usage events published from the local spool."),
		Dropped:           counter("dropped_total", "Usage events lost: neither published nor spooled."),
		Held:              gauge("held", "Usage events held in memory because the spool refuses them."),
		Consumed:          counter("consumed_total", "Usage events processed by a consumer and acknowledged."),
		DeadLettered:      counter("deadlettered_total", "Invalid usage event payloads sent to the dead letter."),
		HandlerErrors:     counter("handler_errors_total", "Consumer batches whose handler failed; they are held and tried again."),
		Retrying:          gauge("retrying", "Messages a consumer holds to try again after its handler failed."),
		SubscribeFailures: counter("subscribe_failures_total", "Consumer subscriptions that failed and are being retried."),
		Subscribed:        gauge("subscribed", "1 while the consumer's subscription to the bus is live."),
	}
}

// Ready returns nil while a consumer's subscription is live (the
// Subscribed gauge), and why not otherwise: the readiness of the services
// that consume.
func (m *Metrics) Ready() error {
	var d dto.Metric
	if err := m.Subscribed.Write(&d); err != nil || d.GetGauge().GetValue() != 1 {
		return errors.New("not subscribed to the events bus; retrying")
	}
	return nil
}
