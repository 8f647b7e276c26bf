package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// responseKeyPrefix starts the Redis keys of stored responses. A key's
// keys share the hash tag {keyID}, so its index, sizes and responses sit
// in one cluster slot and one script can update them together.
const responseKeyPrefix = "convertor:responses:"

// responsesRedisTimeout bounds one store call. A follow-up waits on it,
// so a slow Redis fails the call (503) rather than hold the request.
const responsesRedisTimeout = 500 * time.Millisecond

// RedisResponseStore is a ResponseStore in Redis, so that a follow-up may
// reach any replica. Per key, a sorted set indexes the responses by time
// and a hash holds their sizes and total; a script keeps the bounds
// (entries and bytes per key, oldest out first), and every key expires
// with its TTL. What all keys together hold is bounded by Redis's own
// memory policy. Safe for concurrent use.
type RedisResponseStore struct {
	client      redis.UniversalClient
	maxEntries  int
	maxKeyBytes int64
	ttl         time.Duration
	now         func() time.Time
}

// newResponseStore builds the store the configuration asks for: Redis,
// shared by every replica, when REDIS_URL is set; else in the process.
func newResponseStore(cfg Config) (ResponseStore, error) {
	if cfg.RedisURL == "" {
		return NewMemoryResponseStore(cfg.ResponseStoreEntries, cfg.ResponseStoreKeyBytes, cfg.ResponseStoreMaxBytes, cfg.ResponseStoreTTL, nil), nil
	}
	client, err := ratelimit.ParseRedisURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return NewRedisResponseStore(client, cfg.ResponseStoreEntries, cfg.ResponseStoreKeyBytes, cfg.ResponseStoreTTL, nil), nil
}

// NewRedisResponseStore returns a store in client keeping at most
// maxEntries responses and maxKeyBytes bytes per key, each for ttl. now is
// the clock that orders and expires them; nil means time.Now.
func NewRedisResponseStore(client redis.UniversalClient, maxEntries int, maxKeyBytes int64, ttl time.Duration, now func() time.Time) *RedisResponseStore {
	if now == nil {
		now = time.Now
	}
	return &RedisResponseStore{client: client, maxEntries: maxEntries, maxKeyBytes: maxKeyBytes, ttl: ttl, now: now}
}

var _ ResponseStore = (*RedisResponseStore)(nil)

// redisResponseKeys returns the index, sizes and data-prefix keys of keyID.
func redisResponseKeys(keyID string) (index, sizes, data string) {
	base := responseKeyPrefix + "{" + keyID + "}:"
	return base + "index", base + "sizes", base + "r:"
}

// storedJSON is how a StoredResponse is kept: both parts are JSON already.
type storedJSON struct {
	Body  json.RawMessage `json:"body"`
	Items json.RawMessage `json:"items"`
}

// errResponseStoreDown answers a follow-up whose store could not be read.
var errResponseStoreDown = convertor.Errorf(convertor.EUnavailable, "The stored responses cannot be read right now; retry the request.")

// Get implements ResponseStore.
func (s *RedisResponseStore) Get(ctx context.Context, keyID, id string) (*StoredResponse, bool, error) {
	_, _, data := redisResponseKeys(keyID)
	rctx, cancel := context.WithTimeout(ctx, responsesRedisTimeout)
	defer cancel()
	b, err := s.client.Get(rctx, data+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get response %s: %w: %w", id, err, errResponseStoreDown)
	}
	var sj storedJSON
	if err := json.Unmarshal(b, &sj); err != nil {
		return nil, false, fmt.Errorf("decode stored response %s: %w", id, err)
	}
	return &StoredResponse{ID: id, Body: sj.Body, Items: sj.Items}, true, nil
}

// putScript stores one response and keeps the key's bounds. KEYS: index,
// sizes, the response's data key. ARGV: now (ms), ttl (ms), id, size,
// value, max entries, max bytes, the data-key prefix. Entries whose time
// ran out leave the index first, then the oldest until the bounds hold.
var putScript = redis.NewScript(`
local index, sizes, data = KEYS[1], KEYS[2], KEYS[3]
local now, ttl, id, size = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local maxn, maxb, prefix = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local function drop(m)
  local s = tonumber(redis.call('HGET', sizes, m) or '0')
  redis.call('HDEL', sizes, m)
  redis.call('HINCRBY', sizes, '_total', -s)
  redis.call('ZREM', index, m)
  redis.call('DEL', prefix .. m)
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', now - ttl)) do drop(m) end
if redis.call('ZSCORE', index, id) then drop(id) end
redis.call('SET', data, ARGV[5], 'PX', ttl)
redis.call('ZADD', index, now, id)
redis.call('HSET', sizes, id, size)
redis.call('HINCRBY', sizes, '_total', size)
while redis.call('ZCARD', index) > maxn or tonumber(redis.call('HGET', sizes, '_total')) > maxb do
  drop(redis.call('ZRANGE', index, 0, 0)[1])
end
redis.call('PEXPIRE', index, ttl)
redis.call('PEXPIRE', sizes, ttl)
return 1
`)

// Put implements ResponseStore.
func (s *RedisResponseStore) Put(ctx context.Context, keyID string, r *StoredResponse) error {
	size := r.size()
	if size > s.maxKeyBytes || s.maxEntries <= 0 {
		return nil
	}
	value, err := json.Marshal(storedJSON{Body: r.Body, Items: r.Items})
	if err != nil {
		return fmt.Errorf("encode response %s: %w", r.ID, err)
	}
	index, sizes, data := redisResponseKeys(keyID)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), responsesRedisTimeout)
	defer cancel()
	err = putScript.Run(rctx, s.client, []string{index, sizes, data + r.ID},
		s.now().UnixMilli(), s.ttl.Milliseconds(), r.ID, size, value, s.maxEntries, s.maxKeyBytes, data).Err()
	if err != nil {
		return fmt.Errorf("put response %s: %w", r.ID, err)
	}
	return nil
}

// deleteScript removes one response. KEYS: index, sizes, data key. ARGV:
// id. It returns 1 when the response was there.
var deleteScript = redis.NewScript(`
local index, sizes, data, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local live = redis.call('DEL', data)
if redis.call('ZSCORE', index, id) then
  local s = tonumber(redis.call('HGET', sizes, id) or '0')
  redis.call('HDEL', sizes, id)
  redis.call('HINCRBY', sizes, '_total', -s)
  redis.call('ZREM', index, id)
end
return live
`)

// Delete implements ResponseStore.
func (s *RedisResponseStore) Delete(ctx context.Context, keyID, id string) (bool, error) {
	index, sizes, data := redisResponseKeys(keyID)
	rctx, cancel := context.WithTimeout(ctx, responsesRedisTimeout)
	defer cancel()
	n, err := deleteScript.Run(rctx, s.client, []string{index, sizes, data + id}, id).Int()
	if err != nil {
		return false, fmt.Errorf("delete response %s: %w: %w", id, err, errResponseStoreDown)
	}
	return n == 1, nil
}
