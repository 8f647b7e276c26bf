package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// budgetCacheTTL is how stale a key's month-to-date spend may be: budget
// enforcement lags by at most this plus the aggregator's batch delay.
const budgetCacheTTL = 3 * time.Second

// SpendReader reads a key's month-to-date spend; convertor.StatsStore
// implements it.
type SpendReader interface {
	MonthSpend(ctx context.Context, keyID string, t time.Time) (int64, error)
}

// spendCache keeps each key's spend for budgetCacheTTL, so a key with a
// budget costs one store read every few seconds, not one per request.
// Safe for concurrent use.
type spendCache struct {
	r   SpendReader
	now func() time.Time

	mu      sync.Mutex
	entries map[string]spendEntry
}

type spendEntry struct {
	micros  int64
	month   int // of the spend, as monthOf gives it
	fetched time.Time
	// failed marks an entry that records only a failed read of a key
	// never read: it holds off the next read for budgetCacheTTL.
	failed bool
}

// monthOf numbers t's month (UTC) without formatting it, which would
// allocate on every request.
func monthOf(t time.Time) int {
	y, m, _ := t.UTC().Date()
	return y*12 + int(m) - 1
}

func newSpendCache(r SpendReader) *spendCache {
	return &spendCache{r: r, now: time.Now, entries: map[string]spendEntry{}}
}

// errSpendUnread is returned while a failed first read of a key's spend
// holds off the next one.
var errSpendUnread = errors.New("month-to-date spend not read yet; the stats store failed")

// spend returns the key's spend this month, from the cache when fresh.
// A store failure keeps the cached value for another budgetCacheTTL, and
// a failure for a key never read is remembered as long: while the store
// is down each key costs one slow read per budgetCacheTTL, not one per
// request.
func (c *spendCache) spend(ctx context.Context, keyID string) (int64, error) {
	now := c.now().UTC()
	month := monthOf(now)
	c.mu.Lock()
	e, ok := c.entries[keyID]
	c.mu.Unlock()
	ok = ok && e.month == month
	if ok && now.Sub(e.fetched) < budgetCacheTTL {
		if e.failed {
			return 0, errSpendUnread
		}
		return e.micros, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	v, err := c.r.MonthSpend(rctx, keyID, now)
	if err != nil {
		if ok && !e.failed {
			c.put(keyID, spendEntry{micros: e.micros, month: month, fetched: now})
			return e.micros, nil
		}
		c.put(keyID, spendEntry{month: month, fetched: now, failed: true})
		return 0, err
	}
	c.put(keyID, spendEntry{micros: v, month: month, fetched: now})
	return v, nil
}

func (c *spendCache) put(keyID string, e spendEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[keyID]; !ok && len(c.entries) >= DefaultKeyCacheEntries {
		clear(c.entries)
	}
	c.entries[keyID] = e
}

// checkBudget refuses a key whose month-to-date spend has reached its
// monthly budget, with OpenAI's insufficient_quota error. A spend that
// cannot be read does not refuse: the stats store being down must not take
// the API down; the refusal catches up once it is back.
func (s *Server) checkBudget(ctx context.Context, x *exchange) error {
	if x.key == nil || x.key.MonthlyBudgetMicros <= 0 || s.spend == nil {
		return nil
	}
	spent, err := s.spend.spend(ctx, x.keyID)
	if err != nil {
		s.log.Warn("read month-to-date spend", "key_id", x.keyID, "err", err)
		return nil
	}
	if spent < x.key.MonthlyBudgetMicros {
		return nil
	}
	s.metrics.rateLimited.WithLabelValues("budget").Inc()
	return &convertor.Error{
		Code:   convertor.EQuota,
		Reason: "insufficient_quota",
		Message: fmt.Sprintf("You exceeded this API key's monthly budget of %s (spent %s this month). It renews on the first of next month (UTC), or an admin can raise it.",
			convertor.FormatUSD(x.key.MonthlyBudgetMicros), convertor.FormatUSD(spent)),
	}
}

// PriceChecker says whether requests to a Bedrock model will have a
// price; PriceCache implements it.
type PriceChecker interface {
	// Priced reports whether a request to bedrockModelID at t will be
	// priced; known is false when the prices could not be loaded yet.
	Priced(bedrockModelID string, t time.Time) (priced, known bool)
}

// checkPriced refuses a key with a monthly budget a model that has no
// price: the accountant would record its requests at $0, so the budget
// could never stop them. While the prices cannot be loaded nothing is
// refused, as with a spend that cannot be read.
func (s *Server) checkPriced(x *exchange) error {
	if x.key == nil || x.key.MonthlyBudgetMicros <= 0 || s.deps.Prices == nil {
		return nil
	}
	priced, known := s.deps.Prices.Priced(x.bedrockModel, x.start)
	if priced || !known {
		return nil
	}
	s.metrics.rateLimited.WithLabelValues("unpriced").Inc()
	return &convertor.Error{
		Code:   convertor.EForbidden,
		Reason: "model_not_priced",
		Param:  "model",
		Message: fmt.Sprintf("This API key has a monthly budget, and the model %s has no price, so its cost could not be counted against the budget. An admin can add its price (convertor prices set, or POST /api/prices), or use a key without a budget.",
			quoteForMessage(x.model)),
	}
}
