package emulator_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

// TestServe checks that Serve answers on its listener and returns cleanly
// when its context ends.
func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- emulator.Serve(ctx, ln, emulator.New(emulator.Options{}), slog.New(slog.DiscardHandler))
	}()
	resp, err := http.Post("http://"+ln.Addr().String()+"/model/"+sonnet+"/converse", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v, want nil after cancel", err)
	}
}
