-- Gives one admission back: removes its id from every budget named (a subset of the call's budgets).
-- An admission that already left its window, or was never recorded, is simply not there.
-- KEYS[i]  sorted set of a budget; ARGV[1]  admission id
for i = 1, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
return 0
