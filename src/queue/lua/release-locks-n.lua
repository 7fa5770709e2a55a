--[[
  Release the record locks we still hold (never someone else's, after an expiry).

  KEYS[1..n]  record lock keys
  ARGV[1]     owner token

  Returns how many were released.
]]
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
