-- adjust.lua corrects the tokens an admission reserved by adding a delta to
-- the bucket it reserved them in, and to the sum T, if that bucket still
-- counts. See admit.lua for the hash's fields.
--
-- KEYS[1]  the key's hash
-- ARGV[1]  bucket width, ms
-- ARGV[2]  buckets per window (n)
-- ARGV[3]  the reservation's bucket, exactly as admit.lua named it
-- ARGV[4]  tokens to add, negative to give back
-- ARGV[5]  "" in production (server TIME); a time in ms in tests
--
-- Returns 1 when the bucket was corrected, 0 when it no longer counts.

if redis.replicate_commands then redis.replicate_commands() end

local key = KEYS[1]
local width = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local bucket = tonumber(ARGV[3])
local delta = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A bucket that left the window no longer counts, and one that admit.lua
-- dropped already is out of T. A missing hash has expired or was lost with
-- a restarted server; writing would leave a key without expiry.
local kept = tonumber(redis.call('HGET', key, 'o'))
if not kept or bucket < kept or bucket < math.floor(now / width) - n then return 0 end

-- add changes one counter of the bucket and its running sum, giving back no
-- more than the bucket held: a repeated correction must not leave a credit.
local function add(prefix, sum, d)
  if d == 0 then return end
  local field = prefix .. ARGV[3]
  local v = redis.call('HINCRBY', key, field, d)
  if v <= 0 then
    d = d - v
    redis.call('HDEL', key, field)
  end
  redis.call('HINCRBY', key, sum, d)
end
add('t:', 'T', delta)
-- ARGV[6]: a change of the bucket's request count (unused leased requests
-- given back), default none.
add('r:', 'R', tonumber(ARGV[6]) or 0)
return 1
