--[[
  Take the push locks of several records of one object, each only if free (or expired), and read
  the pushed versions of those we got — one round trip per batch. Locks live in one hash per object:
  field = record id, value = "<owner>|<expires at, ms>".

  KEYS[1]  locks hash of the object
  KEYS[2]  versions hash of the object
  ARGV[1]  owner token
  ARGV[2]  lock lifetime, ms
  ARGV[3..] record ids

  Returns a flat array, two entries per id: 1 and its stored version (or false) when taken by us,
  0 and false when another worker holds it.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expires = now + tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local held = redis.call('HGET', KEYS[1], id)
  local free = true
  if held then
    local separator = string.find(held, '|', 1, true)
    local until_ms = tonumber(string.sub(held, separator + 1))
    if until_ms and until_ms > now and string.sub(held, 1, separator - 1) ~= ARGV[1] then free = false end
  end
  if free then
    redis.call('HSET', KEYS[1], id, ARGV[1] .. '|' .. expires)
    out[#out + 1] = 1
    out[#out + 1] = redis.call('HGET', KEYS[2], id)
  else
    out[#out + 1] = 0
    out[#out + 1] = false
  end
end
return out
