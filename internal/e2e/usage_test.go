package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway"
)

// captureSink keeps every usage event the gateway emits.
type captureSink struct {
	mu  sync.Mutex
	evs []*convertor.UsageEvent
}

func (c *captureSink) Emit(ev *convertor.UsageEvent) {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.mu.Unlock()
}

// waitFor polls until n events arrived or the deadline passes.
func (c *captureSink) waitFor(t *testing.T, n int) []*convertor.UsageEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]*convertor.UsageEvent(nil), c.evs...)
		c.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("got %d usage events, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUsage_OneEventPerRequest(t *testing.T) {
	t.Parallel()
	sink := &captureSink{}
	store := keyStore(t)
	secret, k := newKey(t, store, func(k *convertor.APIKey) { k.RPM = 3 })
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Keys: store, Usage: sink})
	ctx := context.Background()

	resp, err := s.client.Chat.Completions.New(ctx, userParams("@emulator usage in 11 out 7\n@emulator cache read 5 write 3"), option.WithAPIKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	p := userParams("@emulator usage in 13 out 9")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	collect(t, s, p, option.WithAPIKey(secret))
	_, err = s.client.Chat.Completions.New(ctx, userParams("@emulator error ValidationException nope"), option.WithAPIKey(secret))
	wantAPIError(t, err, 400, "")
	_, err = s.client.Chat.Completions.New(ctx, userParams("refused by the limit"), option.WithAPIKey(secret))
	wantAPIError(t, err, 429, "rate_limit_exceeded")

	evs := sink.waitFor(t, 4)
	// Events leave when a request ends (a stream's after its last chunk,
	// which may be after the next request began); their times are when
	// each request arrived, the order the requests were sent in.
	slices.SortFunc(evs, func(a, b *convertor.UsageEvent) int { return a.Time.Compare(b.Time) })
	want := []struct {
		status          string
		in, out, cr, cw int64
		streamed        bool
	}{
		{convertor.UsageOK, 11, 7, 5, 3, false},
		{convertor.UsageOK, 13, 9, 0, 0, true},
		{convertor.UsageError, 0, 0, 0, 0, false},
		{convertor.UsageRefused, 0, 0, 0, 0, false},
	}
	ids := map[string]bool{}
	for i, ev := range evs {
		w := want[i]
		if ev.Status != w.status || ev.InputTokens != w.in || ev.OutputTokens != w.out || ev.CacheReadTokens != w.cr || ev.CacheWriteTokens != w.cw || ev.Streamed != w.streamed {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("event %d invalid: %v", i, err)
		}
		if ev.KeyID != k.ID || ev.Model != model || ev.BedrockModelID == "" || ev.RequestID == "" {
			t.Errorf("event %d identity = %+v", i, ev)
		}
		ids[ev.ID] = true
	}
	if len(ids) != 4 {
		t.Errorf("event ids not unique: %v", ids)
	}
	if resp.Usage.PromptTokens != 11+5+3 {
		t.Errorf("response prompt_tokens = %d, want input + cache read + cache write", resp.Usage.PromptTokens)
	}
	if evs[3].ErrorType != convertor.ERateLimited || evs[3].HTTPStatus != 429 {
		t.Errorf("refused event = %+v", evs[3])
	}
}

// TestUsage_DisconnectedStreamIsCounted leaves a stream early: the event
// says so and still carries the tokens generated before the cut.
func TestUsage_DisconnectedStreamIsCounted(t *testing.T) {
	t.Parallel()
	sink := &captureSink{}
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Usage: sink})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := userParams("@emulator text " + longText(400) + "\n@emulator delay 20")
	stream := s.client.Chat.Completions.NewStreaming(ctx, p)
	for n := 0; stream.Next(); n++ {
		if n == 3 {
			cancel()
		}
	}
	evs := sink.waitFor(t, 1)
	ev := evs[0]
	if !ev.Disconnected || ev.Status != convertor.UsageCanceled || !ev.Streamed {
		t.Errorf("event = %+v, want a canceled, disconnected stream", ev)
	}
	if ev.OutputTokens == 0 || ev.InputTokens == 0 || !ev.Estimated {
		t.Errorf("tokens so far not counted: %+v", ev)
	}
}

func longText(words int) string {
	return strings.Repeat("word ", words)
}

// fakeSpend reports a settable month-to-date spend for every key.
type fakeSpend struct {
	mu     sync.Mutex
	micros int64
}

func (f *fakeSpend) MonthSpend(context.Context, string, time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.micros, nil
}

func (f *fakeSpend) set(v int64) { f.mu.Lock(); f.micros = v; f.mu.Unlock() }

func TestBudget_RefusedOncePassed(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	spend := &fakeSpend{}
	sink := &captureSink{}
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Keys: store, Spend: spend, Usage: sink})
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.MonthlyBudgetMicros = 1_000_000 })
	ctx := context.Background()
	spend.set(999_999)
	if _, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret)); err != nil {
		t.Fatalf("under budget: %v", err)
	}
	spend.set(1_000_000)
	// The spend is cached for a few seconds: poll until the refusal shows.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret))
		if err != nil {
			apiErr := wantAPIError(t, err, 429, "insufficient_quota")
			if apiErr.Type != "insufficient_quota" {
				t.Errorf("type = %q", apiErr.Type)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key past its budget is still served")
		}
		time.Sleep(200 * time.Millisecond)
	}
	sink.mu.Lock()
	n := len(sink.evs)
	sink.mu.Unlock()
	evs := sink.waitFor(t, n)
	if last := evs[len(evs)-1]; last.Status != convertor.UsageRefused || last.ErrorType != convertor.EQuota {
		t.Errorf("refusal event = %+v", last)
	}
}
