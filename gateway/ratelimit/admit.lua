-- admit.lua counts one request and its reserved tokens against a key's
-- sliding window, if both fit; see the package documentation for why
-- counting the oldest bucket whole keeps every window within the limit.
--
-- KEYS[1]  the key's hash:
--            r:<bucket>, t:<bucket>  requests and tokens counted in a bucket
--            R, T   their sums over the buckets kept, so an admission reads
--                   five fields however many buckets there are
--            o      the oldest bucket kept; older ones are out of the sums
--            lr, lt the newest bucket that counted requests, tokens
-- ARGV[1]  bucket width, ms
-- ARGV[2]  buckets per window (n); buckets cur-n .. cur are counted
-- ARGV[3]  request limit, 0 = unlimited
-- ARGV[4]  token limit, 0 = unlimited
-- ARGV[5]  tokens to reserve
-- ARGV[6]  "" in production: the clock is the server's TIME, so replicas
--          with skewed clocks agree. Tests pass a time in ms to slide the
--          window deterministically.
--
-- Returns {allowed, requests, tokens, reset_requests, reset_tokens,
-- retry_requests, retry_tokens, bucket, now}; times in ms, retry 0 when the
-- dimension fits now and -1 when it never can.

-- TIME before a write needs effects replication: the default from Redis 5,
-- a no-op on 7; older servers need the call.
if redis.replicate_commands then redis.replicate_commands() end

local key = KEYS[1]
local width = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local limit_requests = tonumber(ARGV[3])
local limit_tokens = tonumber(ARGV[4])
local need = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
-- ARGV[7]: how many requests to admit at once (a lease), default one.
local count = tonumber(ARGV[7]) or 1
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local cur = math.floor(now / width)
local oldest = cur - n

local cur_requests, cur_tokens = 'r:' .. cur, 't:' .. cur
local h = redis.call('HMGET', key, 'R', 'T', 'o', 'lr', 'lt', cur_requests, cur_tokens)
local sum_requests = tonumber(h[1]) or 0
local sum_tokens = tonumber(h[2]) or 0
local kept = tonumber(h[3]) or oldest
local last_requests = tonumber(h[4])
local last_tokens = tonumber(h[5])
local bucket_requests = tonumber(h[6]) or 0
local bucket_tokens = tonumber(h[7]) or 0
local newest = math.max(cur, last_requests or cur, last_tokens or cur)
local dirty = false

-- Drop the buckets that left the window since the last call: usually none
-- or one, at most a window's worth after a pause.
if kept < oldest then
  local stop = math.min(oldest - 1, newest)
  local fields = {}
  for id = kept, stop do
    fields[#fields + 1] = 'r:' .. id
    fields[#fields + 1] = 't:' .. id
  end
  if #fields > 0 then
    local v = redis.call('HMGET', key, unpack(fields))
    for i = 1, #v, 2 do
      sum_requests = sum_requests - (tonumber(v[i]) or 0)
      sum_tokens = sum_tokens - (tonumber(v[i + 1]) or 0)
    end
    redis.call('HDEL', key, unpack(fields))
  end
  kept = oldest
  dirty = true
end

-- retry returns how long until want more fits under limit, freeing the
-- buckets oldest first as they leave the window. Only a refusal pays for
-- reading buckets, and it reads them in growing batches: a throttled key is
-- usually refused by a narrow margin that the oldest bucket already frees.
local function retry(prefix, sum, want, limit)
  if limit == 0 or sum + want <= limit then return 0 end
  if want > limit then return -1 end
  local freed, id, batch = 0, math.min(kept, oldest), 1
  while id <= newest do
    local stop = math.min(id + batch - 1, newest)
    local fields = {}
    for i = id, stop do fields[#fields + 1] = prefix .. i end
    local v = redis.call('HMGET', key, unpack(fields))
    for i = 1, #v do
      freed = freed + (tonumber(v[i]) or 0)
      if sum - freed + want <= limit then return (id + i - 1 + n + 1) * width - now end
    end
    id, batch = stop + 1, batch * 4
  end
  return -1
end

local retry_requests = retry('r:', sum_requests, count, limit_requests)
local retry_tokens = retry('t:', sum_tokens, need, limit_tokens)
local allowed = 0
if retry_requests == 0 and retry_tokens == 0 then
  allowed = 1
  sum_requests = sum_requests + count
  last_requests = math.max(last_requests or cur, cur)
  if need > 0 then
    sum_tokens = sum_tokens + need
    last_tokens = math.max(last_tokens or cur, cur)
    redis.call('HSET', key, 'R', sum_requests, 'T', sum_tokens, 'o', kept, 'lr', last_requests,
      'lt', last_tokens, cur_requests, bucket_requests + count, cur_tokens, bucket_tokens + need)
  else
    redis.call('HSET', key, 'R', sum_requests, 'T', sum_tokens, 'o', kept, 'lr', last_requests,
      cur_requests, bucket_requests + count)
  end
  -- Keep the hash until its newest bucket leaves the window; an idle key
  -- then costs nothing.
  redis.call('PEXPIRE', key, (newest + n + 1) * width - now)
elseif dirty then
  redis.call('HSET', key, 'R', sum_requests, 'T', sum_tokens, 'o', kept)
end

-- reset is how long until the newest bucket that counted something has
-- left the window, and with it everything counted now.
local function reset(last, sum)
  if sum <= 0 or not last or last < oldest then return 0 end
  return (last + n + 1) * width - now
end

return {allowed, sum_requests, sum_tokens, reset(last_requests, sum_requests), reset(last_tokens, sum_tokens),
  retry_requests, retry_tokens, cur, now}
