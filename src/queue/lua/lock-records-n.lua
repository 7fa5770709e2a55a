--[[
  Take the push locks of several records at once, each only if free (per-record serialisation of
  pushes across workers: a slower worker can never push between another's check and push).

  KEYS[1..n]  record lock keys
  ARGV[1]     owner token
  ARGV[2]     lock lifetime, ms (a crashed holder's locks expire)

  Returns an array of n integers: 1 = taken by us, 0 = held by someone else.
]]
local taken = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
    taken[i] = 1
  else
    taken[i] = 0
  end
end
return taken
