package convertor

import (
	"context"
	"strings"
	"time"
)

// UsageEventVersion is the schema version of UsageEvent. Consumers refuse
// (dead-letter) versions they do not know instead of guessing.
//
// Version 2 added CacheWrite1hTokens. It is a version and not only a new
// field because a version-1 consumer would read such an event without
// error and price its 1-hour cache writes at the 5-minute rate; refusing
// it is the safer failure during a rolling upgrade.
const UsageEventVersion = 2

// MinUsageEventVersion is the oldest schema version still read. A
// version-1 event is a version-2 event without 1-hour cache writes, which
// is what it was: the gateway wrote only 5-minute cache points then.
const MinUsageEventVersion = 1

// Usage event statuses.
const (
	UsageOK       = "ok"       // Bedrock answered (finish reason whatever it was)
	UsageError    = "error"    // the request failed after reaching Bedrock
	UsageRefused  = "refused"  // a rate limit or budget refused it before Bedrock
	UsageCanceled = "canceled" // the client left; tokens so far are counted
)

// UsageEvent is emitted once per request that reached Bedrock or was
// refused by a limit. Delivery is at least once; every consumer writes
// idempotently on ID, so the effect is exactly once.
type UsageEvent struct {
	Version int `json:"v"`
	// ID is a ULID, unique per request, the idempotency key everywhere.
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	// Model is the name the client asked for; BedrockModelID what served it.
	Model          string `json:"model"`
	BedrockModelID string `json:"bedrock_model_id,omitempty"`
	Region         string `json:"region,omitempty"`

	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// CacheWrite1hTokens are those of CacheWriteTokens written with a
	// 1-hour TTL (Bedrock's cacheDetails), which AWS bills at a higher
	// rate than 5-minute writes; the rest of CacheWriteTokens are 5-minute
	// writes.
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	// Estimated is set when Bedrock's own count never arrived (a stream the
	// client left before its end) and the tokens were estimated.
	Estimated bool `json:"estimated,omitempty"`

	LatencyMs int64 `json:"latency_ms"`
	TTFTMs    int64 `json:"ttft_ms,omitempty"`
	// Status is one of the Usage* constants; ErrorType the domain error
	// code or Bedrock exception name when Status is not ok.
	Status       string `json:"status"`
	ErrorType    string `json:"error_type,omitempty"`
	HTTPStatus   int    `json:"http_status"`
	Streamed     bool   `json:"streamed"`
	Disconnected bool   `json:"disconnected"`
}

// Validate checks what a consumer relies on. Returns EInvalid.
func (e *UsageEvent) Validate() error {
	switch {
	case e.Version < MinUsageEventVersion || e.Version > UsageEventVersion:
		return Errorf(EInvalid, "usage event version %d is not supported (want %d to %d)", e.Version, MinUsageEventVersion, UsageEventVersion)
	case e.ID == "":
		return Errorf(EInvalid, "usage event id required")
	case e.Time.IsZero():
		return Errorf(EInvalid, "usage event %s: time required", e.ID)
	case e.Model == "":
		return Errorf(EInvalid, "usage event %s: model required", e.ID)
	case e.InputTokens < 0 || e.OutputTokens < 0 || e.CacheReadTokens < 0 || e.CacheWriteTokens < 0 || e.CacheWrite1hTokens < 0:
		return Errorf(EInvalid, "usage event %s: negative token count", e.ID)
	case e.CacheWrite1hTokens > e.CacheWriteTokens:
		return Errorf(EInvalid, "usage event %s: 1-hour cache writes exceed all cache writes", e.ID)
	}
	switch e.Status {
	case UsageOK, UsageError, UsageRefused, UsageCanceled:
	default:
		return Errorf(EInvalid, "usage event %s: unknown status %q", e.ID, e.Status)
	}
	return nil
}

// Price is what one model costs per million tokens, in micro-dollars,
// from EffectiveFrom on (until the next price of the same model and route).
// Integer micro-dollars per million tokens is exact for every published
// Bedrock price (they are whole hundredths of a cent per million).
type Price struct {
	// Model is the Bedrock model id without geography prefix
	// ("anthropic.claude-sonnet-4-5-20250929-v1:0").
	Model string `json:"model"`
	// Route narrows the price to one inference-profile geography prefix
	// ("global", "us", "eu"...), where AWS prices it differently; empty
	// matches any route.
	Route         string    `json:"route,omitempty"`
	EffectiveFrom time.Time `json:"effective_from"`
	// Per million tokens, micro-dollars.
	InputMicros      int64 `json:"input_micros_per_mtok"`
	OutputMicros     int64 `json:"output_micros_per_mtok"`
	CacheReadMicros  int64 `json:"cache_read_micros_per_mtok"`
	CacheWriteMicros int64 `json:"cache_write_micros_per_mtok"`
	// CacheWrite1hMicros is the rate of 1-hour cache writes (AWS bills
	// them at 2× input, 5-minute ones at 1.25×). 0 means not given: such
	// writes are then priced at 2× InputMicros, AWS's rule for every Claude
	// model that has them, so a price entered before 1-hour caching
	// existed does not make them free.
	CacheWrite1hMicros int64 `json:"cache_write_1h_micros_per_mtok,omitempty"`
	// Tiers are higher rates for large requests: a request whose prompt
	// (input + cache read + cache write tokens) exceeds a tier's
	// AboveTokens pays that tier's rates for all of its tokens, as AWS
	// bills Claude Sonnet 4.5 above 200,000 prompt tokens. The tier with
	// the highest AboveTokens exceeded applies.
	Tiers []PriceTier `json:"tiers,omitempty"`
	// Source says where the figures come from (a URL and date).
	Source string `json:"source,omitempty"`
}

// PriceTier is the rates of a Price above a prompt size.
type PriceTier struct {
	// AboveTokens is exceeded by the prompt (input + cache read + cache
	// write tokens) of the requests this tier prices.
	AboveTokens        int64 `json:"above_tokens"`
	InputMicros        int64 `json:"input_micros_per_mtok"`
	OutputMicros       int64 `json:"output_micros_per_mtok"`
	CacheReadMicros    int64 `json:"cache_read_micros_per_mtok"`
	CacheWriteMicros   int64 `json:"cache_write_micros_per_mtok"`
	CacheWrite1hMicros int64 `json:"cache_write_1h_micros_per_mtok,omitempty"`
}

// Validate checks what pricing relies on. Returns EInvalid.
func (p *Price) Validate() error {
	switch {
	case p.Model == "" || strings.ContainsAny(p.Model, " \t\r\n#"):
		return ParamErrorf("model", "price model %q: want a Bedrock model id without spaces or '#'", p.Model)
	case strings.ContainsAny(p.Route, ". \t\r\n#"):
		return ParamErrorf("route", "price route %q: want a geography prefix such as \"global\" or \"us\", without the dot", p.Route)
	case p.EffectiveFrom.IsZero():
		return ParamErrorf("effective_from", "price of %s: effective_from required", p.Model)
	case p.InputMicros < 0 || p.OutputMicros < 0 || p.CacheReadMicros < 0 || p.CacheWriteMicros < 0 || p.CacheWrite1hMicros < 0:
		return Errorf(EInvalid, "price of %s: negative rate", p.Model)
	}
	for i, t := range p.Tiers {
		switch {
		case t.AboveTokens <= 0:
			return ParamErrorf("tiers", "price of %s: tier %d: above_tokens must be positive", p.Model, i)
		case i > 0 && t.AboveTokens <= p.Tiers[i-1].AboveTokens:
			return ParamErrorf("tiers", "price of %s: tiers must be in increasing above_tokens", p.Model)
		case t.InputMicros < 0 || t.OutputMicros < 0 || t.CacheReadMicros < 0 || t.CacheWriteMicros < 0 || t.CacheWrite1hMicros < 0:
			return ParamErrorf("tiers", "price of %s: tier %d: negative rate", p.Model, i)
		}
	}
	return nil
}

// UsageRecord is a priced usage event, one per request, stored for the
// request log and for replay.
type UsageRecord struct {
	UsageEvent
	// CostMicros is the price of the request in micro-dollars, rounded
	// half up from the exact product once per request.
	CostMicros int64 `json:"cost_micros"`
	// PriceFrom identifies the price used (its EffectiveFrom), so a replay
	// can tell what changed.
	PriceFrom time.Time `json:"price_from,omitzero"`
	// Unpriced is set when no price matched the model at the event's time:
	// CostMicros is then 0 until a replay with --reprice finds one. A
	// request without tokens needs no price and is never unpriced.
	Unpriced bool `json:"unpriced,omitempty"`
}

// UsageStore keeps priced usage records.
type UsageStore interface {
	// PutUsage stores r unless a record with its ID exists; it reports
	// whether it stored it (false for a duplicate delivery).
	PutUsage(ctx context.Context, r *UsageRecord) (stored bool, err error)
	// Usage returns the records with from <= Time < to, optionally of one
	// key, oldest first, calling fn per page; fn returning an error stops.
	Usage(ctx context.Context, from, to time.Time, keyID string, fn func([]*UsageRecord) error) error
	// RepriceUsage overwrites the cost fields (CostMicros, PriceFrom,
	// Unpriced) of the stored record with r's ID, for a replay that priced
	// it again; the other fields stay as stored. Returns ENotFound.
	RepriceUsage(ctx context.Context, r *UsageRecord) error
	// RequestLog returns one key's records with Time in [q.From, q.To),
	// newest first, at most q.Limit, and a cursor for the next page (""
	// when there is none). Returns EInvalid for a missing key id or a
	// cursor it did not issue.
	RequestLog(ctx context.Context, q RequestLogQuery) (recs []*UsageRecord, next string, err error)
}

// RequestLogQuery selects a page of one key's request log.
type RequestLogQuery struct {
	KeyID    string
	From, To time.Time
	// Limit is the page size (at most MaxPageSize; 0 means DefaultPageSize).
	Limit int
	// Cursor continues a previous page; "" starts at the newest record.
	Cursor string
}

// PriceStore keeps the pricing table.
type PriceStore interface {
	// Prices returns every price, all effective dates.
	Prices(ctx context.Context) ([]Price, error)
	// CreatePrice adds a price. Prices are never rewritten: a price with
	// the same Model, Route and EffectiveFrom makes it fail with EConflict.
	// Returns EInvalid if p does not validate.
	CreatePrice(ctx context.Context, p Price) error
}
