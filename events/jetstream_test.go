package events_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// publisherBehindItsBack returns a NATS publisher whose stream it made
// and has since been deleted behind its back, with a connection of the
// test's own to set the stream up again as the test needs.
func publisherBehindItsBack(t *testing.T) (events.Config, message.Publisher, jetstream.JetStream, *nats.Conn) {
	t.Helper()
	cfg := jetStreamConfig(t, testenv.NATS(t))
	pub := openPublisher(t, cfg)
	nc, js := testenv.JetStream(t, cfg.NATSURL)
	// After deleting a stream, nats-server removes the account's streams
	// directory in the background if it is empty, which races a stream
	// created at once ("error creating store for stream"). A second
	// stream keeps the directory while the tests recreate theirs.
	keep := jetstream.StreamConfig{Name: cfg.Stream + "_keep", Subjects: []string{"keep." + cfg.Stream}}
	if _, err := js.CreateStream(t.Context(), keep); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(t.Context(), cfg.Stream); err != nil {
		t.Fatal(err)
	}
	return cfg, pub, js, nc
}

// testMessages returns the messages of n test events, numbered from first.
func testMessages(t *testing.T, first, n int) []*message.Message {
	t.Helper()
	msgs := make([]*message.Message, n)
	for i := range msgs {
		var err error
		if msgs[i], err = events.NewMessage(testEvent(t, first+i)); err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

// storedMsgs returns how many messages stream holds.
func storedMsgs(t *testing.T, stream jetstream.Stream) uint64 {
	t.Helper()
	info, err := stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestNATSPublisher_UnansweredPublishDoesNotHoldLaterOnes: a publish that
// nothing acknowledges (here: the stream is gone and a plain subscriber
// takes the subject, so the server does not answer "no responders" either)
// fails after its timeout, and the next publish, once the stream is back,
// is not held up or failed by it.
func TestNATSPublisher_UnansweredPublishDoesNotHoldLaterOnes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg, pub, js, nc := publisherBehindItsBack(t)
	silent, err := nc.Subscribe(cfg.Topic, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(cfg.Topic, testMessages(t, 2, 1)...); err == nil {
		t.Fatal("Publish() that nothing acknowledges = nil, want an error")
	}

	if err := silent.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Stream, Subjects: []string{cfg.Topic, cfg.DeadLetterTopic}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(cfg.Topic, testMessages(t, 3, 2)...); err != nil {
		t.Fatalf("Publish() after the stream is back = %v, want nil", err)
	}
	if n := storedMsgs(t, stream); n != 2 {
		t.Errorf("stream holds %d messages after the publish, want 2", n)
	}
}

// TestNATSPublisher_DisconnectedSaysSo: a publish while the server is
// unreachable fails at once, and its error says the connection is down
// rather than naming the reconnect buffer the publisher runs without.
func TestNATSPublisher_DisconnectedSaysSo(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATS(t)
	cfg := jetStreamConfig(t, srv.URL())
	pub := openPublisher(t, cfg)
	srv.Stop()
	var err error
	waitFor(t, deliveryTimeout, "a publish to fail for the lost connection", func() bool {
		err = pub.Publish(cfg.Topic, testMessages(t, 0, 1)...)
		return errors.Is(err, nats.ErrReconnectBufExceeded)
	})
	if !strings.Contains(err.Error(), "not connected to NATS, reconnecting") {
		t.Errorf("Publish() while disconnected = %q, want it to say the connection is down", err)
	}
}

// TestNATSPublisher_RefusedMessageFailsThePublish: when JetStream refuses
// one message of a batch (here: a stream full to its limit that discards
// new messages), Publish reports it, so the emitter keeps the batch; the
// messages it did store are dropped as duplicates when the batch comes
// again.
func TestNATSPublisher_RefusedMessageFailsThePublish(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg, pub, js, _ := publisherBehindItsBack(t)
	full := jetstream.StreamConfig{
		Name: cfg.Stream, Subjects: []string{cfg.Topic, cfg.DeadLetterTopic},
		MaxMsgs: 2, Discard: jetstream.DiscardNew,
	}
	stream, err := js.CreateStream(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	batch := testMessages(t, 0, 3)
	if err := pub.Publish(cfg.Topic, batch...); err == nil {
		t.Fatal("Publish() of 3 messages into a stream that holds 2 = nil, want the refusal")
	}

	// Room again: the batch goes through, and the two stored before are
	// not stored twice.
	full.MaxMsgs = -1
	if _, err := js.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(cfg.Topic, batch...); err != nil {
		t.Fatalf("Publish() again with room = %v, want nil", err)
	}
	if n := storedMsgs(t, stream); n != 3 {
		t.Errorf("stream holds %d messages, want the batch's 3 once each", n)
	}
}

// BenchmarkNATSPublisher_Publish publishes batches of 100 events to a
// JetStream stream, as the emitter does, and waits for their
// acknowledgements; an op is one batch (ns/event is per event).
func BenchmarkNATSPublisher_Publish(b *testing.B) {
	name := uniqueName(b)
	cfg := events.Config{
		NATSURL: testenv.NATS(b), Stream: name, Topic: "b." + name + ".events",
		DeadLetterTopic: "b." + name + ".deadletter", MaxInFlight: 64,
	}
	pub, err := events.NewPublisher(b.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pub.Close() })
	const batch = 100
	evs := testEvents(b, batch)
	msgs := make([]*message.Message, batch)
	b.ReportAllocs()
	for b.Loop() {
		for j, ev := range evs {
			ev.ID = events.NewID(ev.Time) // fresh ids: no duplicates
			if msgs[j], err = events.NewMessage(ev); err != nil {
				b.Fatal(err)
			}
		}
		if err := pub.Publish(cfg.Topic, msgs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}
