package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// reasoningKeyPrefix starts the Redis keys of stored reasoning.
const reasoningKeyPrefix = "convertor:reasoning:"

// reasoningRedisTimeout bounds one store call: a slow Redis costs a turn
// its restored reasoning, never the request.
const reasoningRedisTimeout = 200 * time.Millisecond

// RedisReasoningStore is a ReasoningStore in Redis, so that the turn that
// answers a tool call may land on any replica. Entries expire after the
// TTL; Redis's own memory policy bounds them. A local store in front keeps
// reads on the replica that wrote them free. Safe for concurrent use.
type RedisReasoningStore struct {
	client redis.UniversalClient
	ttl    time.Duration
	local  ReasoningStore
	log    *slog.Logger
}

// NewRedisReasoningStore returns a store in client with entries kept for
// ttl, fronted by local (which may be nil).
func NewRedisReasoningStore(client redis.UniversalClient, ttl time.Duration, local ReasoningStore, log *slog.Logger) *RedisReasoningStore {
	return &RedisReasoningStore{client: client, ttl: ttl, local: local, log: log}
}

// Get implements ReasoningStore.
func (s *RedisReasoningStore) Get(ctx context.Context, ids []string) map[string][]bedrock.ContentBlock {
	out := map[string][]bedrock.ContentBlock{}
	if s.local != nil {
		out = s.local.Get(ctx, ids)
	}
	var missing []string
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out
	}
	keys := make([]string, len(missing))
	for i, id := range missing {
		keys[i] = reasoningKeyPrefix + id
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reasoningRedisTimeout)
	defer cancel()
	vals, err := s.client.MGet(rctx, keys...).Result()
	if err != nil {
		s.log.Warn("read reasoning from redis", "err", err)
		return out
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var blocks []bedrock.ContentBlock
		if json.Unmarshal([]byte(str), &blocks) == nil {
			out[missing[i]] = blocks
		}
	}
	return out
}

// Put implements ReasoningStore.
func (s *RedisReasoningStore) Put(ctx context.Context, m map[string][]bedrock.ContentBlock) {
	if s.local != nil {
		s.local.Put(ctx, m)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reasoningRedisTimeout)
	defer cancel()
	pipe := s.client.Pipeline()
	for id, blocks := range m {
		b, err := json.Marshal(blocks)
		if err != nil {
			continue
		}
		pipe.Set(rctx, reasoningKeyPrefix+id, b, s.ttl)
	}
	if _, err := pipe.Exec(rctx); err != nil {
		s.log.Warn("store reasoning in redis", "err", err)
	}
}
