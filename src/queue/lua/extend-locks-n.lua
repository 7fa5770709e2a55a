--[[
  Extend the record locks we still hold (a long push keeps its records; a dead worker's expire).

  KEYS[1..n]  record lock keys
  ARGV[1]     owner token
  ARGV[2]     new lifetime, ms

  Returns how many were extended.
]]
local extended = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    extended = extended + 1
  end
end
return extended
