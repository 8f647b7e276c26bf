package devstack

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openai-api-convertor/convertor/internal/testenv"
)

func startNATS(t *testing.T, dir string) *NATS {
	t.Helper()
	n, err := StartNATS(NATSOptions{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNATS_RestartKeepsStreams publishes, restarts the server on the same
// store, and consumes what the durable consumer had not yet processed.
func TestNATS_RestartKeepsStreams(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	n := startNATS(t, dir)
	_, js := testenv.JetStream(t, n.URL())
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := js.Publish(ctx, "t.x", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	// A consumer learns of stored messages a moment after the publish
	// is acknowledged.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, err := n.Pending()
		if err == nil && p == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pending() = %d, %v; want 3", p, err)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	if p, err := n.WaitIdle(short, 10*time.Millisecond); err == nil || p != 3 {
		t.Errorf("WaitIdle with work pending = %d, %v; want 3 and the context's error", p, err)
	}
	cancelShort()
	n.Shutdown()

	n = startNATS(t, dir)
	defer n.Shutdown()
	_, js = testenv.JetStream(t, n.URL())
	c, err := js.Consumer(ctx, "T", "c")
	if err != nil {
		t.Fatalf("consumer after restart: %v", err)
	}
	batch, err := c.Fetch(3, jetstream.FetchMaxWait(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, ",") != "0,1,2" {
		t.Errorf("messages after restart = %v, want 0,1,2", got)
	}
	if p, err := n.WaitIdle(ctx, 10*time.Millisecond); err != nil || p != 0 {
		t.Errorf("WaitIdle after consuming = %d, %v; want 0, nil", p, err)
	}
}

func TestStartNATS_PortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := StartNATS(NATSOptions{Port: port, StoreDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("StartNATS on a taken port: error %v, want one naming port %d", err, port)
	}
	n, err := StartNATS(NATSOptions{Port: port, Fallback: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown()
	if !n.FellBack || strings.HasSuffix(n.URL(), ":"+strconv.Itoa(port)) {
		t.Errorf("fallback: FellBack = %v, URL %s (taken port %d)", n.FellBack, n.URL(), port)
	}
}
