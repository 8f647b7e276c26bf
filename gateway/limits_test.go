package gateway

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// durationReset is formatReset as time.Duration's String writes it.
func durationReset(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func TestFormatReset_MatchesDurationString(t *testing.T) {
	check := func(d time.Duration) {
		t.Helper()
		if got, want := formatReset(d), durationReset(d); got != want {
			t.Fatalf("formatReset(%d) = %q, want %q", int64(d), got, want)
		}
	}
	// Every millisecond up to two minutes, with the half-millisecond and
	// half-hundredth edges where rounding turns.
	for ms := time.Duration(-3); ms <= 120_000; ms++ {
		d := ms * time.Millisecond
		check(d)
		check(d + 499*time.Microsecond)
		check(d + 500*time.Microsecond)
		check(d + 4999*time.Microsecond)
		check(d + 5*time.Millisecond)
	}
	for _, d := range []time.Duration{time.Hour, time.Hour - 5*time.Millisecond, 25*time.Hour + 61*time.Second + 7*time.Millisecond, 1<<63 - 1} {
		check(d)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(time.Duration(r.Int64N(int64(48 * time.Hour))))
	}
}

func TestSetRateLimitHeaders_Wire(t *testing.T) {
	var resp fasthttp.Response
	resp.Header.Set("X-Ratelimit-Limit-Requests", "stale")
	setRateLimitHeaders(&resp.Header, ratelimit.Decision{
		LimitRequests: 60, RemainingRequests: 59, ResetRequests: 1500 * time.Millisecond,
		LimitTokens: 150000, RemainingTokens: 149000, ResetTokens: 6 * time.Minute,
	})
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := resp.Write(w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	for _, line := range []string{
		"X-Ratelimit-Limit-Requests: 60\r\n",
		"X-Ratelimit-Remaining-Requests: 59\r\n",
		"X-Ratelimit-Reset-Requests: 1.5s\r\n",
		"X-Ratelimit-Limit-Tokens: 150000\r\n",
		"X-Ratelimit-Remaining-Tokens: 149000\r\n",
		"X-Ratelimit-Reset-Tokens: 6m0s\r\n",
	} {
		if n := bytes.Count(b.Bytes(), []byte(line)); n != 1 {
			t.Errorf("response has %q %d times, want once:\n%s", line, n, b.Bytes())
		}
	}
	if bytes.Contains(b.Bytes(), []byte("stale")) {
		t.Errorf("an earlier value was kept:\n%s", b.Bytes())
	}

	// A dimension without a limit writes nothing.
	resp.Reset()
	setRateLimitHeaders(&resp.Header, ratelimit.Decision{LimitTokens: 10, RemainingTokens: 3})
	if v := resp.Header.Peek("x-ratelimit-limit-requests"); v != nil {
		t.Errorf("requests are not limited, yet x-ratelimit-limit-requests = %q", v)
	}
	if v := string(resp.Header.Peek("x-ratelimit-remaining-tokens")); v != "3" {
		t.Errorf("x-ratelimit-remaining-tokens = %q, want 3", v)
	}
}

func BenchmarkSetRateLimitHeaders(b *testing.B) {
	d := ratelimit.Decision{
		LimitRequests: 100_000_000, RemainingRequests: 99_999_000, ResetRequests: 1234 * time.Millisecond,
		LimitTokens: 1_000_000_000, RemainingTokens: 999_000_000, ResetTokens: 59*time.Second + 990*time.Millisecond,
	}
	var h fasthttp.ResponseHeader
	b.ReportAllocs()
	for b.Loop() {
		h.Reset()
		setRateLimitHeaders(&h, d)
	}
}
