-- The benchmark's Lua side, run both by Debian's stock lua5.4 and inside Moonmotion.
-- Prints one "name<TAB>ns-per-iteration" line per measurement (best of ROUNDS, loop overhead
-- subtracted). Usage: lua5.4 calls.lua N ROUNDS  (Moonmotion passes its functions in `bench`).
local N = math.tointeger(tonumber((...)) or 10000000)
local ROUNDS = math.tointeger(tonumber((select(2, ...))) or 5)
local clock = os.clock

local function best(run)
  local t = math.huge
  for _ = 1, ROUNDS do t = math.min(t, run()) end
  return t
end

local empty = best(function()
  local t0 = clock()
  for i = 1, N do end
  return clock() - t0
end)

local function measure(name, f)
  local t = best(function()
    local t0 = clock()
    for i = 1, N do f(i) end
    return clock() - t0
  end)
  print(string.format("%s\t%.1f", name, (t - empty) / N * 1e9))
end

measure("c_abs", math.abs)          -- a built-in C function: check an integer, push it

-- Reference for the round trips below: a plain Lua coroutine switch (resume + yield).
do
  local M = math.max(N // 20, 1000)
  local co = coroutine.wrap(function() while true do coroutine.yield() end end)
  local t = best(function()
    local t0 = clock()
    for _ = 1, M do co() end
    return clock() - t0
  end)
  print(string.format("lua_switch\t%.1f", t / M * 1e9))
end

local bench = rawget(_G, "bench")   -- set only inside Moonmotion
if bench then
  measure("swift_abs", bench.abs)                 -- the same work in Swift (fast form)
  measure("swift_abs_values", bench.abs_values)   -- Swift, [LuaValue] -> [LuaValue] form

  -- Suspend/resume round trips (wall clock: other threads take part in some).
  local now, M = bench.now, math.max(N // 20, 1000)
  local function round_trip(name, f, m)
    local t = best(function()
      local t0 = now()
      for _ = 1, m do f() end
      return now() - t0
    end)
    print(string.format("%s\t%.1f", name, t / m * 1e9))
  end
  round_trip("yield", bench.yield, M)             -- mm.yield(): ready queue
  round_trip("park", bench.park, M)               -- park on a pending operation, completed at once
  round_trip("sleep0", bench.sleep0, M)           -- mm.sleep(0)
  round_trip("async", bench.async, math.max(M // 50, 200))  -- Swift async function (Task hop)
end
