package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// keySet holds the user pool's signing keys: fetched from the JWKS URL,
// refreshed in the background, fetched again for an unknown kid at most
// once per interval. Safe for concurrent use.
type keySet struct {
	url        string
	log        *slog.Logger
	refresh    time.Duration // periodic refresh
	retry      time.Duration // retry of a failed first fetch
	timeout    time.Duration // one fetch
	unknownKID *rate.Limiter // fetches for unknown kids

	current atomic.Pointer[loadedKeys] // nil until the first fetch succeeds

	ctx    context.Context // ends the background work
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// loadedKeys is a fetched key set and the verification keyfunc over it.
type loadedKeys struct {
	// cached is read without fetching: the keys of the last good fetch.
	cached jwkset.Storage
	// keyfunc finds a token's key in cached, fetching the set again when
	// the kid is unknown; keySet.keyfunc decides whether it may.
	keyfunc keyfunc.Keyfunc
}

// Key errors, mapped to caller-safe messages by cognitoVerifier.
var (
	errNoKID      = errors.New("token header has no kid")
	errUnknownKID = errors.New("kid is not in the key set and a refetch happened less than an interval ago")
)

// newKeySet fetches the keys at url, or starts retrying in the background
// when that fails. The background work ends with ctx or close.
func newKeySet(ctx context.Context, url string, cfg Config, log *slog.Logger) *keySet {
	k := &keySet{
		url:        url,
		log:        log,
		refresh:    orDefault(cfg.KeyRefreshInterval, DefaultKeyRefreshInterval),
		retry:      orDefault(cfg.KeyRetryInterval, DefaultKeyRetryInterval),
		timeout:    orDefault(cfg.KeyFetchTimeout, DefaultKeyFetchTimeout),
		unknownKID: rate.NewLimiter(rate.Every(orDefault(cfg.UnknownKIDRefreshInterval, DefaultUnknownKIDRefreshInterval)), 1),
	}
	k.ctx, k.cancel = context.WithCancel(ctx)
	if err := k.load(); err != nil {
		log.Error("fetch Cognito signing keys; admin requests get 503 until a retry succeeds",
			"url", url, "error", err, "retry_interval", k.retry)
		k.wg.Go(k.retryLoad)
	}
	return k
}

// load fetches the key set once and, if that works, makes it current and
// leaves a goroutine refreshing it until k.ctx ends. Called by one
// goroutine at a time: newKeySet, then retryLoad.
func (k *keySet) load() (err error) {
	// The storage starts its refresh goroutine before the first fetch;
	// a failed attempt must not leave it behind.
	ctx, cancel := context.WithCancel(k.ctx)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	store, err := jwkset.NewStorageFromHTTP(k.url, jwkset.HTTPClientStorageOptions{
		Ctx:             ctx,
		HTTPTimeout:     k.timeout,
		RefreshInterval: k.refresh,
		RefreshErrorHandler: func(_ context.Context, err error) {
			// The keys of the last good fetch stay in use meanwhile.
			k.log.Warn("refresh Cognito signing keys", "url", k.url, "error", err)
		},
	})
	if err != nil {
		return err
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{k.url: store},
		// keySet.keyfunc rate-limits without waiting; this limiter must
		// not hold a request back a second time. RateLimitWaitMax bounds
		// the refetch itself.
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
		RateLimitWaitMax:  k.timeout,
	})
	if err != nil {
		return err
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:     ctx,
		Storage: client,
		// Cognito marks its keys "sig"; a key for encryption must never
		// verify a signature.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return err
	}
	k.current.Store(&loadedKeys{cached: store, keyfunc: kf})
	return nil
}

// retryLoad fetches the keys every retry interval until that works or
// k.ctx ends.
func (k *keySet) retryLoad() {
	t := time.NewTicker(k.retry)
	defer t.Stop()
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-t.C:
		}
		if err := k.load(); err != nil {
			k.log.Warn("fetch Cognito signing keys", "url", k.url, "error", err, "retry_interval", k.retry)
			continue
		}
		k.log.Info("fetched Cognito signing keys; admin sign-in works", "url", k.url)
		return
	}
}

// keyfunc returns the jwt.Keyfunc verifying a token with the current keys,
// or ok false while no fetch has succeeded. A token without a kid is
// refused: Cognito always sets one, and trying every key would make an
// unknown kid free for a forger. For an unknown kid the key set is fetched
// again unless that happened less than an interval ago, in which case the
// token is refused from the cache without waiting.
func (k *keySet) keyfunc(ctx context.Context) (f jwt.Keyfunc, ok bool) {
	cur := k.current.Load()
	if cur == nil {
		return nil, false
	}
	verify := cur.keyfunc.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKID
		}
		_, err := cur.cached.KeyRead(ctx, kid)
		if errors.Is(err, jwkset.ErrKeyNotFound) && !k.unknownKID.Allow() {
			return nil, errUnknownKID
		}
		return verify(t)
	}, true
}

// close ends the background refresh and waits for a retry loop to end.
func (k *keySet) close() {
	k.cancel()
	k.wg.Wait()
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
