--[[
  Extend the push locks we still hold in an object's locks hash (a long push keeps its records).

  KEYS[1]  locks hash of the object
  ARGV[1]  owner token
  ARGV[2]  new lifetime, ms
  ARGV[3..] record ids

  Returns how many were extended.
]]
local time = redis.call('TIME')
local expires = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[2])
local extended = 0
for i = 3, #ARGV do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if held then
    local separator = string.find(held, '|', 1, true)
    if string.sub(held, 1, separator - 1) == ARGV[1] then
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[1] .. '|' .. expires)
      extended = extended + 1
    end
  end
end
return extended
