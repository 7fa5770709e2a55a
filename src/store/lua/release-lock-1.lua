--[[
  Release a lock only if we still hold it (a lock that expired and was taken by another process
  must not be deleted by its former owner).

  KEYS[1]  lock key
  ARGV[1]  owner token the lock was set with

  Returns 1 when released, 0 when the lock was not ours (or already gone).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
