package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsReadyTimeout bounds an embedded server's start: tens of milliseconds
// usually, longer when JetStream recovers a large store.
const natsReadyTimeout = 30 * time.Second

// NATSOptions configures an embedded NATS server.
type NATSOptions struct {
	// Host is the interface to listen on, default "127.0.0.1": the
	// development stack has no authentication.
	Host string
	// Port is the client port; 0 picks a free one.
	Port int
	// Fallback picks a free port when Port is taken instead of failing.
	Fallback bool
	// StoreDir holds JetStream's file store; streams and consumer
	// positions survive a restart on the same directory.
	StoreDir string
	Log      *slog.Logger
}

// NATS is a NATS server with JetStream running in this process.
type NATS struct {
	srv *server.Server
	url string
	// FellBack reports that the requested port was taken and another
	// was used.
	FellBack bool
}

// StartNATS starts a NATS server with JetStream on a file store and waits
// until it accepts connections.
func StartNATS(opts NATSOptions) (*NATS, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("start nats: no store directory")
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	port := server.RANDOM_PORT
	fellBack := false
	if opts.Port != 0 {
		// nats-server cannot report a taken port (it logs and never gets
		// ready), so the port is tried here first. Another process could
		// take it in between; then the readiness wait below fails.
		ln, fb, err := Listen(net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)), opts.Fallback)
		if err != nil {
			return nil, fmt.Errorf("start nats: %w", err)
		}
		ln.Close()
		fellBack = fb
		if !fb {
			port = opts.Port
		}
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "convertor-dev",
		Host:       opts.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Clean(opts.StoreDir),
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats on %s port %d: not ready within %s", opts.Host, opts.Port, natsReadyTimeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats: JetStream did not start on store %s", opts.StoreDir)
	}
	addr := srv.Addr().(*net.TCPAddr)
	n := &NATS{srv: srv, url: "nats://" + net.JoinHostPort(opts.Host, strconv.Itoa(addr.Port)), FellBack: fellBack}
	if opts.Log != nil {
		opts.Log.Debug("nats started", "url", n.url, "store", opts.StoreDir)
	}
	return n, nil
}

// URL returns the client URL.
func (n *NATS) URL() string { return n.url }

// Shutdown stops the server and waits until it has flushed its store.
func (n *NATS) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// Pending returns how many messages the server's durable consumers have
// still to process: not yet delivered plus delivered but unacknowledged.
func (n *NATS) Pending() (int, error) {
	jsz, err := n.srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true, Consumer: true})
	if err != nil {
		return 0, fmt.Errorf("jetstream info: %w", err)
	}
	total := 0
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			for _, c := range st.Consumer {
				total += int(c.NumPending) + c.NumAckPending
			}
		}
	}
	return total, nil
}

// WaitIdle polls every interval until the consumers have nothing pending
// on two polls in a row, or ctx ends; it returns how many messages were
// pending at the last poll. Two polls, because a consumer that acks a
// message after publishing its result to another stream can make one
// poll, which reads the streams one after the other, miss the result.
func (n *NATS) WaitIdle(ctx context.Context, interval time.Duration) (pending int, err error) {
	idle := 0
	for {
		pending, err = n.Pending()
		if err != nil {
			return pending, err
		}
		if pending == 0 {
			idle++
			if idle == 2 {
				return 0, nil
			}
		} else {
			idle = 0
		}
		select {
		case <-ctx.Done():
			return pending, ctx.Err()
		case <-time.After(interval):
		}
	}
}
