package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// natsReconnectWait is short because a publisher that is down spools
	// every event until it reconnects.
	natsReconnectWait = 500 * time.Millisecond
	// natsAPITimeout bounds stream and consumer management calls.
	natsAPITimeout = 5 * time.Second
	// natsPublishTimeout bounds the wait for JetStream to acknowledge a
	// publish.
	natsPublishTimeout = 5 * time.Second
	// natsAckTimeout bounds the wait for JetStream to confirm an ack.
	natsAckTimeout = 5 * time.Second
	// natsRetryWait paces a subscription whose pull keeps failing.
	natsRetryWait = time.Second
)

// streamConfig is the stream holding cfg's subjects: on disk, kept until
// MaxAge (not until acknowledged), because several consumer groups read it
// and billing may replay it.
func streamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "usage events of the OpenAI API convertor",
		Subjects:    []string{cfg.Topic, cfg.DeadLetterTopic},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      cfg.MaxAge,
		Duplicates:  cfg.DuplicateWindow,
	}
}

// ensureStream creates the stream or updates it to streamConfig.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, natsAPITimeout)
	defer cancel()
	s, err := js.CreateOrUpdateStream(ctx, streamConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Stream, err)
	}
	return s, nil
}

// natsPublisher publishes through watermill-nats's JetStream publisher,
// making sure the stream exists first and setting Nats-Msg-Id to the
// message UUID (the event id) so JetStream drops re-publishes, such as a
// spool replay of events whose first publish did arrive.
type natsPublisher struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	ready bool // the stream exists; p.mu must be held

	// pubMu makes one Publish at a time: a Publish waits for all of the
	// connection's publishes to be acknowledged, and counts every failure
	// reported meanwhile as its own.
	pubMu sync.Mutex
	// failed is the first failure JetStream reported since the Publish in
	// progress began; failMu guards it, as the error handler runs on the
	// connection's goroutines.
	failMu sync.Mutex
	failed error
}

func newNATSPublisher(ctx context.Context, cfg Config, log *slog.Logger) (*natsPublisher, error) {
	nc, err := nats.Connect(cfg.NATSURL,
		nats.Name("convertor events publisher"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(natsReconnectWait),
		// Start even when the server is down: the emitter spools until it
		// is back.
		nats.RetryOnFailedConnect(true),
		// No reconnect buffer: a publish while disconnected fails at once
		// (and is spooled) instead of waiting out its timeout.
		nats.ReconnectBufSize(-1),
	)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	p := &natsPublisher{nc: nc, cfg: cfg, log: log}
	// Failures come to the handler rather than through each publish's
	// own channels: a batch waits once, for all of them.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncErrHandler(p.asyncFailed))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p.js = js
	if err := p.ensure(ctx); err != nil {
		log.Warn("events stream not ready; publishes fail until it is", "stream", cfg.Stream, "error", err)
	}
	return p, nil
}

// ensure creates the stream unless it is known to exist.
func (p *natsPublisher) ensure(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready {
		return nil
	}
	if !p.nc.IsConnected() {
		return fmt.Errorf("create stream %s: %w", p.cfg.Stream, nats.ErrDisconnected)
	}
	if _, err := ensureStream(ctx, p.js, p.cfg); err != nil {
		return err
	}
	p.ready = true
	return nil
}

// asyncFailed is JetStream's handler of a failed asynchronous publish (an
// error reply, a lost connection, no stream). It runs before the
// connection reports its publishes complete.
func (p *natsPublisher) asyncFailed(_ jetstream.JetStream, _ *nats.Msg, err error) {
	p.failMu.Lock()
	if p.failed == nil {
		p.failed = err
	}
	p.failMu.Unlock()
}

// Publish implements message.Publisher. The messages go out at once,
// without waiting for each acknowledgement in turn (which bounded a
// publisher to one message per round trip), and Publish returns when
// JetStream has acknowledged all of them, or with the first failure. After
// a failure some of them may be stored: publishing them again is safe,
// as JetStream drops a message whose id it has seen within its duplicate
// window, and consumers are idempotent on event id beyond it. A Publish
// that fails gives up on what it left unacknowledged (CleanupPublisher),
// so none of it holds up or fails the next one. The messages are those
// watermill-nats writes, so either side interoperates with plain
// watermill-nats.
func (p *natsPublisher) Publish(topic string, msgs ...*message.Message) error {
	if topic != p.cfg.Topic && topic != p.cfg.DeadLetterTopic {
		return fmt.Errorf("publish: topic %q is not a subject of stream %s", topic, p.cfg.Stream)
	}
	if err := p.ensure(context.Background()); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	p.failMu.Lock()
	p.failed = nil
	p.failMu.Unlock()
	var marshaler wmnats.NATSMarshaler
	for _, m := range msgs {
		if m.Metadata == nil {
			m.Metadata = make(message.Metadata)
		}
		m.Metadata.Set(nats.MsgIdHdr, m.UUID)
		nm, err := marshaler.Marshal(topic, m)
		if err != nil {
			p.js.CleanupPublisher()
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		if _, err := p.js.PublishMsgAsync(nm); err != nil {
			p.js.CleanupPublisher()
			if errors.Is(err, nats.ErrReconnectBufExceeded) {
				// With no reconnect buffer this is how a publish fails
				// while the connection is down; say that, not the buffer.
				return fmt.Errorf("publish %s: not connected to NATS, reconnecting: %w", topic, err)
			}
			return fmt.Errorf("publish %s: %w", topic, err)
		}
	}
	timeout := time.NewTimer(natsPublishTimeout)
	defer timeout.Stop()
	select {
	case <-p.js.PublishAsyncComplete():
	case <-timeout.C:
		// Fail what is still unacknowledged, so that a publish whose
		// answer is lost does not hold up every later Publish.
		p.js.CleanupPublisher()
		return fmt.Errorf("publish %s: no acknowledgement within %v", topic, natsPublishTimeout)
	}
	p.failMu.Lock()
	defer p.failMu.Unlock()
	if p.failed != nil {
		return fmt.Errorf("publish %s: %w", topic, p.failed)
	}
	return nil
}

// Close implements message.Publisher; it closes the connection.
func (p *natsPublisher) Close() error {
	p.nc.Close()
	return nil
}

// natsSubscriber reads a durable pull consumer. It makes sure of the stream
// on each Subscribe, not when it is made: a consumer that starts while the
// server is down, or too slow to answer, waits for it through its
// resubscription loop instead of exiting. It is ours rather than
// watermill-nats's subscriber because that one hands out one message at a
// time (each waits for its ack before the next is delivered), which makes
// batching impossible, and can send on its closed output channel when its
// context ends. Messages keep watermill-nats's headers, so either side
// interoperates with plain watermill-nats.
type natsSubscriber struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	cfg  Config
	name string
	log  *slog.Logger

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newNATSSubscriber(cfg Config, name string, log *slog.Logger) (*natsSubscriber, error) {
	if !validStreamName(name) {
		return nil, fmt.Errorf("consumer name %q may not contain '.', '*', '>', '/', '\\' or spaces", name)
	}
	nc, err := nats.Connect(cfg.NATSURL,
		nats.Name("convertor events consumer "+name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(natsReconnectWait),
		// Start even when the server is down: Subscribe fails, and is
		// retried, until it is back.
		nats.RetryOnFailedConnect(true),
	)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	// The stream is made sure of by Subscribe, whose failures the
	// resubscription loop logs and retries.
	return &natsSubscriber{nc: nc, js: js, cfg: cfg, name: name, log: log, closing: make(chan struct{})}, nil
}

// durableName names the consumer of topic for the group s.name; JetStream
// names cannot hold the subject's dots.
func (s *natsSubscriber) durableName(topic string) string {
	return s.name + "_" + strings.NewReplacer(".", "-", "*", "-", ">", "-").Replace(topic)
}

// Subscribe implements message.Subscriber. The channel closes when ctx ends
// or the subscriber is closed, once every message handed out has been
// acknowledged or negatively acknowledged.
func (s *natsSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic != s.cfg.Topic && topic != s.cfg.DeadLetterTopic {
		return nil, fmt.Errorf("subscribe: topic %q is not a subject of stream %s", topic, s.cfg.Stream)
	}
	select {
	case <-s.closing:
		return nil, errors.New("subscribe: subscriber closed")
	default:
	}
	if !s.nc.IsConnected() {
		return nil, fmt.Errorf("subscribe %s: %w", topic, nats.ErrDisconnected)
	}
	stream, err := ensureStream(ctx, s.js, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	cctx, cancel := context.WithTimeout(ctx, natsAPITimeout)
	cons, err := stream.CreateOrUpdateConsumer(cctx, jetstream.ConsumerConfig{
		Durable:       s.durableName(topic),
		FilterSubject: topic,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		// Without limit: a message JetStream stops delivering is lost
		// without a trace. The consumers retry what fails for a while
		// (a store outage) and dead-letter what never can succeed.
		MaxDeliver:    -1,
		MaxAckPending: s.cfg.MaxInFlight,
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: consumer %s: %w", topic, s.durableName(topic), err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(s.cfg.MaxInFlight))
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	out := make(chan *message.Message)
	ctx, stop := context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		select {
		case <-ctx.Done():
		case <-s.closing:
		}
		stop()
		it.Stop()
	}()
	go s.pump(ctx, it, out, topic)
	return out, nil
}

// pump moves messages from it to out until it stops, then waits for the
// acks of everything handed out before closing out.
func (s *natsSubscriber) pump(ctx context.Context, it jetstream.MessagesContext, out chan<- *message.Message, topic string) {
	var acks sync.WaitGroup
	defer func() {
		acks.Wait()
		close(out)
		s.wg.Done()
	}()
	log := s.log.With("topic", topic, "consumer", s.name)
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return
		}
		if err != nil {
			log.Warn("events pull failed; retrying", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(natsRetryWait):
			}
			continue
		}
		wm := toWatermill(msg)
		wm.SetContext(ctx)
		select {
		case out <- wm:
		case <-ctx.Done():
			// Not handed out: let it go back to the stream now rather
			// than after AckWait.
			_ = msg.Nak()
			return
		}
		acks.Add(1)
		go func() {
			defer acks.Done()
			s.settle(wm, msg, log)
		}()
	}
}

// settle forwards the consumer's ack or nack of wm to JetStream. A message
// neither acked nor nacked before the subscriber closes is redelivered
// after AckWait.
func (s *natsSubscriber) settle(wm *message.Message, msg jetstream.Msg, log *slog.Logger) {
	select {
	case <-wm.Acked():
		ctx, cancel := context.WithTimeout(context.Background(), natsAckTimeout)
		defer cancel()
		// DoubleAck waits for the server, so an ack lost on the way shows
		// up here rather than as a silent redelivery.
		if err := msg.DoubleAck(ctx); err != nil {
			log.Warn("events ack failed; the message will be redelivered", "event_id", wm.UUID, "error", err)
		}
	case <-wm.Nacked():
		if err := msg.Nak(); err != nil {
			log.Warn("events nack failed; the message is redelivered after the ack wait", "event_id", wm.UUID, "error", err)
		}
	case <-s.closing:
	}
}

// toWatermill turns a JetStream message into a watermill one, as
// watermill-nats does: the UUID from its header, other headers as metadata.
func toWatermill(msg jetstream.Msg) *message.Message {
	h := msg.Headers()
	id := h.Get(wmnats.WatermillUUIDHdr)
	if id == "" {
		id = h.Get(nats.MsgIdHdr)
	}
	wm := message.NewMessage(id, msg.Data())
	for k, v := range h {
		if k == wmnats.WatermillUUIDHdr || k == nats.MsgIdHdr || len(v) == 0 {
			continue
		}
		wm.Metadata.Set(k, v[0])
	}
	return wm
}

// Close implements message.Subscriber: subscriptions end, unacknowledged
// messages return to the stream after AckWait, and the connection closes.
func (s *natsSubscriber) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.wg.Wait()
		s.nc.Close()
	})
	return nil
}
