--[[
  One heartbeat of a replica in a membership, timed by the Redis server's clock (replicas' clocks
  may disagree): record the replica as seen now (and when it joined, the first time), forget
  replicas not seen for the member ttl, and return the live ones, oldest first.

  KEYS[1]  live replicas (sorted set: replica id → last heartbeat, ms)
  KEYS[2]  join times (sorted set: replica id → when it joined, ms)
  ARGV[1]  replica id
  ARGV[2]  member ttl, ms

  Returns the live replica ids (this one included) in the order they joined (ties by id).
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
for _, replica in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[1], replica) then
    redis.call('ZREM', KEYS[2], replica)
  end
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return redis.call('ZRANGE', KEYS[2], 0, -1)
