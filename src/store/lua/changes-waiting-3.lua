--[[
  Count the changes (not the jobs) that wait in one integration's change queue: the jobs no worker
  has taken yet. A job carries a batch of changes and its id ends in `|n<count>|<digest>`
  (src/model/change.ts, changeBatchId), so the count is read from the ids alone: no job is
  decoded. A job whose id has no count (none is written so today) is counted from its data.

  KEYS[1]  the queue's `wait` list
  KEYS[2]  the queue's `paused` list (where `wait` moves while the queue is paused)
  KEYS[3]  the queue's `prioritized` sorted set
  ARGV[1]  the queue's key prefix (`<prefix>:bull:<queue>:`): the job hash is ARGV[1] .. id

  Returns the number of changes in those jobs.
]]
local function changesOf(id)
  local count = string.match(id, '|n(%d+)|[%w_%-]+$')
  if count then return tonumber(count) end
  local data = redis.call('HGET', ARGV[1] .. id, 'data')
  if not data then return 0 end
  local ok, decoded = pcall(cjson.decode, data)
  if ok and type(decoded) == 'table' and type(decoded.changes) == 'table' then return #decoded.changes end
  return 1
end

local total = 0
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do total = total + changesOf(id) end
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do total = total + changesOf(id) end
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do total = total + changesOf(id) end
return total
