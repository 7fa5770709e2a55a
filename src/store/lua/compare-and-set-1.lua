--[[
  Replace a string value only if it still holds what the caller read (optimistic update without
  WATCH, which is per-connection state and unsafe on a shared connection).

  KEYS[1]  key
  ARGV[1]  expected current value
  ARGV[2]  replacement

  Returns 1 when replaced, 0 when the value had changed.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
