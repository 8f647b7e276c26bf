package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// The fake Bedrock answers at once with bytes encoded when it starts, and
// shares no code with the gateway: what it costs is the floor any
// Bedrock client pays, so "direct" figures are not the gateway's own
// client measured twice. The request's text picks the reply:
const (
	// markHold: stream the first delta, then hold the stream open until
	// the client leaves or /release is called (open-stream memory).
	markHold = "HOLD-STREAM"
	// markSlow: stream slowDeltas one-token deltas (per-event cost).
	markSlow = "SLOW-STREAM"
)

// Reply shapes: a 7-delta stream and a non-streamed reply of the same text,
// as the load runs used; slowDeltas for a token-by-token reply.
const (
	streamDeltas = 7
	slowDeltas   = 200
	inputTokens  = 25
)

// fakeBedrock is the zero-latency Converse server.
type fakeBedrock struct {
	converse []byte
	stream   []byte
	slow     []byte
	first    []byte // a held stream's opening: messageStart and one delta
	end      []byte // a held stream's end once released

	held    atomic.Int64
	release chan struct{}
	once    sync.Once
}

func newFakeBedrock() (*fakeBedrock, error) {
	f := &fakeBedrock{release: make(chan struct{})}
	words := []string{"The ", "keeper ", "tends ", "the ", "light ", "through ", "storms."}
	text := strings.Join(words, "")
	body, err := json.Marshal(map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": []any{map[string]any{"text": text}}}},
		"stopReason": "end_turn",
		"usage":      map[string]any{"inputTokens": inputTokens, "outputTokens": len(words), "totalTokens": inputTokens + len(words)},
		"metrics":    map[string]any{"latencyMs": 1},
	})
	if err != nil {
		return nil, err
	}
	f.converse = body
	if f.stream, err = encodeStream(true, words, true); err != nil {
		return nil, err
	}
	slow := make([]string, slowDeltas)
	for i := range slow {
		slow[i] = "tok "
	}
	if f.slow, err = encodeStream(true, slow, true); err != nil {
		return nil, err
	}
	if f.first, err = encodeStream(true, words[:1], false); err != nil {
		return nil, err
	}
	if f.end, err = encodeStream(false, nil, true); err != nil {
		return nil, err
	}
	return f, nil
}

// encodeStream encodes (part of) a ConverseStream reply of one text block
// made of deltas: start adds the message's start, complete the block's
// stop, the message's stop and the usage metadata.
func encodeStream(start bool, deltas []string, complete bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	put := func(event string, payload any) error {
		b, err := json.Marshal(payload)
		if err != nil {
			return err
		}
		return enc.Encode(&buf, eventstream.Message{
			Headers: eventstream.Headers{
				{Name: ":event-type", Value: eventstream.StringValue(event)},
				{Name: ":content-type", Value: eventstream.StringValue("application/json")},
				{Name: ":message-type", Value: eventstream.StringValue("event")},
			},
			Payload: b,
		})
	}
	if start {
		if err := put("messageStart", map[string]any{"role": "assistant"}); err != nil {
			return nil, err
		}
	}
	for _, d := range deltas {
		if err := put("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": d}}); err != nil {
			return nil, err
		}
	}
	if !complete {
		return buf.Bytes(), nil
	}
	steps := []struct {
		event   string
		payload any
	}{
		{"contentBlockStop", map[string]any{"contentBlockIndex": 0}},
		{"messageStop", map[string]any{"stopReason": "end_turn"}},
		{"metadata", map[string]any{
			"usage":   map[string]any{"inputTokens": inputTokens, "outputTokens": len(deltas), "totalTokens": inputTokens + len(deltas)},
			"metrics": map[string]any{"latencyMs": 1},
		}},
	}
	for _, s := range steps {
		if err := put(s.event, s.payload); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func (f *fakeBedrock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/held":
		fmt.Fprint(w, f.held.Load())
		return
	case r.Method == http.MethodPost && r.URL.Path == "/release":
		f.once.Do(func() { close(f.release) })
		return
	case r.Method != http.MethodPost:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/converse"):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.converse)))
		w.Write(f.converse)
	case strings.HasSuffix(r.URL.Path, "/converse-stream"):
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		switch {
		case bytes.Contains(body, []byte(markHold)):
			f.hold(w, r)
		case bytes.Contains(body, []byte(markSlow)):
			w.Write(f.slow)
		default:
			w.Write(f.stream)
		}
	default:
		http.Error(w, `{"message":"unknown operation"}`, http.StatusNotFound)
	}
}

// hold sends the opening of a stream and keeps it open until the client
// leaves or the run releases every held stream.
func (f *fakeBedrock) hold(w http.ResponseWriter, r *http.Request) {
	w.Write(f.first)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	f.held.Add(1)
	defer f.held.Add(-1)
	select {
	case <-r.Context().Done():
	case <-f.release:
		w.Write(f.end)
	}
}

// serveFake runs the fake Bedrock on addr and prints its address on
// stdout, for the parent process to read.
func serveFake(ctx context.Context, addr string) error {
	f, err := newFakeBedrock()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: f}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
