--[[
  Record the register entries just pushed and release the locks we still hold — one round trip per batch.
  A lock that expired and was taken by another worker is neither released nor overwritten, and its
  record's version is not written by us either (the other worker's push decides).

  KEYS[1]  locks hash of the object
  KEYS[2]  versions hash of the object
  ARGV[1]  owner token
  ARGV[2]  how many versions follow (n)
  ARGV[3 .. 2+2n]  id, version pairs to write
  ARGV[3+2n ..]    ids to release without a write

  Returns the ids among the writes whose lock was no longer ours (nothing written for them).
]]
local lost = {}
local function ours(id)
  local held = redis.call('HGET', KEYS[1], id)
  if not held then return false end
  local separator = string.find(held, '|', 1, true)
  return string.sub(held, 1, separator - 1) == ARGV[1]
end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local id = ARGV[3 + 2 * i]
  if ours(id) then
    redis.call('HSET', KEYS[2], id, ARGV[4 + 2 * i])
    redis.call('HDEL', KEYS[1], id)
  else
    lost[#lost + 1] = id
  end
end
for i = 3 + 2 * n, #ARGV do
  local id = ARGV[i]
  if ours(id) then
    redis.call('HDEL', KEYS[1], id)
  end
end
return lost
