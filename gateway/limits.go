package gateway

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// imageTokenEstimate is what one image is reserved at: Claude bills an
// image by its pixels, up to about 1,600 tokens for the largest it keeps.
const imageTokenEstimate = 1600

// limitsFor returns the limits a key is held to: its own RPM and TPM where
// set, else the global defaults when RATE_LIMIT_ENABLED.
func (s *Server) limitsFor(key *convertor.APIKey) ratelimit.Limits {
	lim := ratelimit.Limits{Window: s.cfg.RateLimitWindow}
	if s.cfg.RateLimitEnabled {
		lim.Requests, lim.Tokens = s.cfg.RateLimitRequests, s.cfg.RateLimitTokens
	}
	if key != nil {
		if key.RPM > 0 {
			lim.Requests = key.RPM
		}
		if key.TPM > 0 {
			lim.Tokens = key.TPM
		}
	}
	return lim
}

// admit counts the request against its key's limits and sets the
// x-ratelimit-* headers. It returns a rate-limit error when refused. The
// budget was checked before the body was read (refuseEarly).
func (s *Server) admit(ctx *fasthttp.RequestCtx, x *exchange, creq *bedrock.ConverseRequest) error {
	prompt := estimatePromptTokens(creq)
	x.promptEstimate = prompt
	if s.deps.Limiter == nil || x.keyID == "" {
		return nil
	}
	lim := s.limitsFor(x.key)
	if lim.Requests == 0 && lim.Tokens == 0 {
		return nil
	}
	tokens := prompt
	if creq.InferenceConfig != nil && creq.InferenceConfig.MaxTokens != nil {
		tokens += int64(*creq.InferenceConfig.MaxTokens)
	}
	asked := s.now()
	d, err := s.deps.Limiter.Admit(s.baseCtx, x.keyID, lim, tokens)
	if err != nil {
		return err
	}
	setRateLimitHeaders(&ctx.Response.Header, d)
	if !d.Allowed {
		x.refused = true
		s.refusals.remember(x.keyID, asked, lim, d, tokens)
		s.metrics.rateLimited.WithLabelValues(d.Reason).Inc()
		return newRateLimitError(d, lim, tokens)
	}
	// Only a token limit needs the reservation corrected; without one the
	// correction would be a Redis round trip for nothing.
	x.reservation, x.reserved = d.Reservation, lim.Tokens > 0
	return nil
}

// settle queues the correction of the request's token reservation to what
// Bedrock counted; the adjuster merges and sends it off the request path.
func (s *Server) settle(x *exchange) {
	if !x.reserved {
		return
	}
	u := x.usage
	s.adjuster.add(x.reservation, int64(u.InputTokens+u.OutputTokens+u.CacheReadInputTokens+u.CacheWriteInputTokens))
}

// estimatePromptTokens estimates the prompt's tokens: its text at about
// four bytes a token (convert.EstimateTokens) and a flat figure per image.
// The estimate is corrected once Bedrock reports the real count.
func estimatePromptTokens(creq *bedrock.ConverseRequest) int64 {
	var bytes, images int
	for _, sb := range creq.System {
		if sb.Text != nil {
			bytes += len(*sb.Text)
		}
	}
	for _, m := range creq.Messages {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				bytes += len(*b.Text)
			case b.Image != nil:
				images++
			case b.ToolUse != nil:
				bytes += len(b.ToolUse.Name) + len(b.ToolUse.Input)
			case b.ToolResult != nil:
				for _, c := range b.ToolResult.Content {
					switch {
					case c.Text != nil:
						bytes += len(*c.Text)
					case c.JSON != nil:
						bytes += len(c.JSON)
					case c.Image != nil:
						images++
					}
				}
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				bytes += len(b.ReasoningContent.ReasoningText.Text)
			}
		}
	}
	if creq.ToolConfig != nil {
		for _, t := range creq.ToolConfig.Tools {
			if t.ToolSpec != nil {
				bytes += len(t.ToolSpec.Name) + len(t.ToolSpec.Description) + len(t.ToolSpec.InputSchema.JSON)
			}
		}
	}
	return int64(convert.EstimateTokens(bytes) + images*imageTokenEstimate)
}

// The x-ratelimit-* header names, in the form fasthttp writes them.
var (
	hdrLimitRequests     = []byte("X-Ratelimit-Limit-Requests")
	hdrRemainingRequests = []byte("X-Ratelimit-Remaining-Requests")
	hdrResetRequests     = []byte("X-Ratelimit-Reset-Requests")
	hdrLimitTokens       = []byte("X-Ratelimit-Limit-Tokens")
	hdrRemainingTokens   = []byte("X-Ratelimit-Remaining-Tokens")
	hdrResetTokens       = []byte("X-Ratelimit-Reset-Tokens")
)

// setRateLimitHeaders writes OpenAI's x-ratelimit-* headers for the
// dimensions that have a limit. Every limited request carries them, so
// the values are formatted on the stack and the names given canonical.
func setRateLimitHeaders(h *fasthttp.ResponseHeader, d ratelimit.Decision) {
	var buf [32]byte
	if d.LimitRequests > 0 {
		h.SetCanonical(hdrLimitRequests, strconv.AppendInt(buf[:0], d.LimitRequests, 10))
		h.SetCanonical(hdrRemainingRequests, strconv.AppendInt(buf[:0], d.RemainingRequests, 10))
		h.SetCanonical(hdrResetRequests, appendReset(buf[:0], d.ResetRequests))
	}
	if d.LimitTokens > 0 {
		h.SetCanonical(hdrLimitTokens, strconv.AppendInt(buf[:0], d.LimitTokens, 10))
		h.SetCanonical(hdrRemainingTokens, strconv.AppendInt(buf[:0], d.RemainingTokens, 10))
		h.SetCanonical(hdrResetTokens, appendReset(buf[:0], d.ResetTokens))
	}
}

// formatReset writes a reset time as OpenAI does ("1s", "6m0s", "120ms").
func formatReset(d time.Duration) string {
	var buf [32]byte
	return string(appendReset(buf[:0], d))
}

// appendReset appends d as formatReset writes it: time.Duration's form,
// to the millisecond below a second and to the hundredth above.
func appendReset(dst []byte, d time.Duration) []byte {
	if d < time.Second {
		d = d.Round(time.Millisecond)
	} else {
		d = d.Round(10 * time.Millisecond)
	}
	switch {
	case d <= 0:
		return append(dst, "0s"...)
	case d < time.Second:
		dst = strconv.AppendInt(dst, int64(d/time.Millisecond), 10)
		return append(dst, "ms"...)
	}
	if h := d / time.Hour; h > 0 {
		dst = strconv.AppendInt(dst, int64(h), 10)
		dst = append(dst, 'h')
		d -= h * time.Hour
		dst = strconv.AppendInt(dst, int64(d/time.Minute), 10)
		dst = append(dst, 'm')
	} else if m := d / time.Minute; m > 0 {
		dst = strconv.AppendInt(dst, int64(m), 10)
		dst = append(dst, 'm')
	}
	d %= time.Minute
	dst = strconv.AppendInt(dst, int64(d/time.Second), 10)
	if cs := int64(d%time.Second) / int64(10*time.Millisecond); cs > 0 {
		dst = append(dst, '.', byte('0'+cs/10))
		if cs%10 != 0 {
			dst = append(dst, byte('0'+cs%10))
		}
	}
	return append(dst, 's')
}

// rateLimitError is a 429 from our own limiter. Its OpenAI type names the
// exhausted limit, as OpenAI's does.
type rateLimitError struct {
	err        *convertor.Error
	typ        string
	retryAfter time.Duration
}

func newRateLimitError(d ratelimit.Decision, lim ratelimit.Limits, tokens int64) *rateLimitError {
	retry := max(d.RetryAfter, time.Second)
	var msg string
	switch d.Reason {
	case ratelimit.ReasonTokens:
		if tokens > lim.Tokens {
			msg = fmt.Sprintf("Request too large: it needs about %d tokens (prompt estimate plus max_tokens) and the limit is %d tokens per %s. Lower max_tokens or shorten the prompt.", tokens, lim.Tokens, windowName(lim.Window))
		} else {
			msg = fmt.Sprintf("Rate limit reached for tokens per %s: limit %d, requested %d. Please try again in %s.", windowName(lim.Window), lim.Tokens, tokens, formatReset(retry))
		}
	default:
		msg = fmt.Sprintf("Rate limit reached for requests per %s: limit %d. Please try again in %s.", windowName(lim.Window), lim.Requests, formatReset(retry))
	}
	return &rateLimitError{
		err:        &convertor.Error{Code: convertor.ERateLimited, Reason: "rate_limit_exceeded", Message: msg},
		typ:        d.Reason,
		retryAfter: retry,
	}
}

func windowName(w time.Duration) string {
	if w == time.Minute || w == 0 {
		return "minute"
	}
	return w.String()
}

func (e *rateLimitError) Error() string             { return e.err.Error() }
func (e *rateLimitError) Unwrap() error             { return e.err }
func (e *rateLimitError) RetryAfter() time.Duration { return e.retryAfter }
func (e *rateLimitError) ErrorType() string         { return e.typ }

// newLimiter builds the rate limiter the configuration asks for: Redis,
// shared by every replica, when REDIS_URL is set; else in-process. Its
// metrics go to reg.
func newLimiter(cfg Config, log *slog.Logger, reg prometheus.Registerer) (ratelimit.Limiter, error) {
	if cfg.RedisURL == "" {
		return ratelimit.NewMemory(ratelimit.MemoryOptions{Registerer: reg}), nil
	}
	ratelimit.SetRedisLogger(log)
	client, err := ratelimit.ParseRedisURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return ratelimit.NewLeasing(ratelimit.NewRedis(client, ratelimit.RedisOptions{
		FailClosed: !cfg.RateLimitFailOpen, Timeout: cfg.RateLimitRedisTimeout, Log: log, Registerer: reg,
	})), nil
}
