--[[
  Advance a channel's durable replay position, never backwards: events are enqueued in replay
  order, but two flushes may complete out of order.

  KEYS[1]  replay hash of the integration
  ARGV[1]  channel
  ARGV[2]  replay id just safely enqueued

  Returns 1 when the position moved, 0 when it was already at or past ARGV[2].
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
