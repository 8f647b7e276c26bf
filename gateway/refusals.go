package gateway

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// refusalMemory remembers the keys the rate limiter refused for their
// request count, and until when, so that their requests are refused before
// their body is read: a key over its limit must not cost a JSON parse and
// a conversion per request (an 18 MB body costs over a second of CPU).
//
// A refusal for the request count holds until its RetryAfter: requests
// leave a window only as time passes, and other replicas can only add to
// it. (The one exception is a lease another replica gives back unused, at
// most 1/50 of the limit per replica; this replica leaves those permits to
// the others until then.) Refusals for tokens are not remembered: a token
// reservation is corrected down when the answer is shorter than
// max_tokens, so token capacity can come back before RetryAfter, and a
// smaller request may fit at once.
//
// Safe for concurrent use.
type refusalMemory struct {
	// n is len(m): most requests come from keys nobody refused, and find
	// that out without taking mu.
	n atomic.Int64

	mu sync.Mutex
	m  map[string]refusal // mu must be held
}

// refusal is one remembered refusal: the decision as the limiter made it
// at a time no later than at, under the limits lim.
type refusal struct {
	at  time.Time
	lim ratelimit.Limits
	d   ratelimit.Decision
}

func newRefusalMemory() *refusalMemory {
	return &refusalMemory{m: map[string]refusal{}}
}

// remember records that the limiter refused keyID under lim with d, at a
// time no earlier than at (taken before asking, so the refusal is never
// held longer than the limiter's RetryAfter). Only refusals for the
// request count are kept; see refusalMemory.
func (r *refusalMemory) remember(keyID string, at time.Time, lim ratelimit.Limits, d ratelimit.Decision, tokens int64) {
	// With tokens short too, RetryAfter is also the tokens' wait, which a
	// correction can shorten; only a refusal whose tokens would have fit
	// waits on the request count alone. (Remaining tokens of 0 may hide
	// a window counted past its limit.)
	tokensFit := lim.Tokens == 0 || (d.RemainingTokens > 0 && tokens <= d.RemainingTokens)
	if d.Allowed || d.Reason != ratelimit.ReasonRequests || d.RetryAfter <= 0 || !tokensFit {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= DefaultKeyCacheEntries {
		r.sweepLocked(at)
		if len(r.m) >= DefaultKeyCacheEntries {
			// Forgetting a refusal costs only a question to the limiter.
			clear(r.m)
		}
	}
	r.m[keyID] = refusal{at: at, lim: lim, d: d}
	r.n.Store(int64(len(r.m)))
}

// check returns the refusal of keyID as it stands at now, when one is
// remembered under the same limits and has not run out: the decision's
// waits are shortened by the time passed since.
func (r *refusalMemory) check(keyID string, lim ratelimit.Limits, now time.Time) (ratelimit.Decision, bool) {
	if r.n.Load() == 0 {
		return ratelimit.Decision{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.m[keyID]
	if !ok {
		return ratelimit.Decision{}, false
	}
	passed := now.Sub(f.at)
	if passed >= f.d.RetryAfter || passed < 0 || f.lim != lim {
		// Run out, or the key's limits changed since: ask the limiter.
		delete(r.m, keyID)
		r.n.Store(int64(len(r.m)))
		return ratelimit.Decision{}, false
	}
	d := f.d
	d.RetryAfter -= passed
	d.ResetRequests = max(d.ResetRequests-passed, 0)
	d.ResetTokens = max(d.ResetTokens-passed, 0)
	return d, true
}

// sweepLocked drops the refusals that have run out. r.mu must be held.
func (r *refusalMemory) sweepLocked(now time.Time) {
	for k, f := range r.m {
		if now.Sub(f.at) >= f.d.RetryAfter {
			delete(r.m, k)
		}
	}
}

// admitKey authenticates a request to a model endpoint and refuses it,
// before its body is parsed, when its key is past its budget or still
// refused for its request count: what every such endpoint does first.
func (s *Server) admitKey(ctx *fasthttp.RequestCtx, x *exchange) error {
	if err := s.authenticate(ctx, x); err != nil {
		return err
	}
	return s.refuseEarly(ctx, x)
}

// refuseEarly refuses, before the request body is read, a key past its
// monthly budget, and a key whose request count the rate limiter refused
// while that refusal still holds; either answer is the one the full path
// would give. Both need only the key.
func (s *Server) refuseEarly(ctx *fasthttp.RequestCtx, x *exchange) error {
	if err := s.checkBudget(s.baseCtx, x); err != nil {
		x.refused = true
		s.nameUnparsedModel(ctx, x)
		return err
	}
	if x.keyID == "" {
		return nil
	}
	lim := s.limitsFor(x.key)
	if lim.Requests == 0 {
		return nil
	}
	d, ok := s.refusals.check(x.keyID, lim, s.now())
	if !ok {
		return nil
	}
	setRateLimitHeaders(&ctx.Response.Header, d)
	x.refused = true
	s.nameUnparsedModel(ctx, x)
	s.metrics.rateLimited.WithLabelValues(d.Reason).Inc()
	return newRateLimitError(d, lim, 0)
}

// maxUnparsedModel bounds the model name taken from an unparsed body;
// longer names are no model anyone routes.
const maxUnparsedModel = 256

// nameUnparsedModel gives the record of a request refused before its body
// was parsed the model it asked for, so that refusals show under their
// model in usage rather than as unreadModel. It only scans the body for
// the top-level "model" string, skipping over the rest without decoding
// it (milliseconds for the largest body a parse would spend a second on),
// and keeps the name only when it resolves to a route.
func (s *Server) nameUnparsedModel(ctx *fasthttp.RequestCtx, x *exchange) {
	m := gjson.GetBytes(ctx.PostBody(), "model")
	if m.Type != gjson.String || m.Str == "" || len(m.Str) > maxUnparsedModel {
		return
	}
	route, err := s.deps.Routes.ResolveRoute(s.baseCtx, m.Str)
	if err != nil {
		return
	}
	x.model, x.bedrockModel = m.Str, route.BedrockModelID
}
