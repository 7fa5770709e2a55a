--[[
  One heartbeat of a replica in a membership set, timed by the Redis server's clock (replicas'
  clocks may disagree): record the replica as seen now, forget replicas not seen for the member
  ttl, and return the live ones.

  KEYS[1]  membership sorted set (member: replica id, score: last heartbeat, ms)
  ARGV[1]  replica id
  ARGV[2]  member ttl, ms

  Returns the live replica ids (this one included), in id order.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(members)
return members
