-- hello-coroutines.lua — Moonmotion's concurrency in one page: coroutines that wait
-- without blocking each other, then live vCenter tasks followed by their own coroutines.
-- Not a strategy (it returns nothing): a plain script, like a PowerCLI one.
--
--   moonmotion run examples/hello-coroutines.lua          (no vCenter configured: the built-in simulator)
--   GOVC_URL=... moonmotion run examples/hello-coroutines.lua moves=0   (look, do not touch)
--
-- Parameters:
--   moves   how many VMs to move (the smallest ones, to a "new-*" datastore)   default 3
--
-- Every function that waits (mm.sleep, t:wait, conn:vms…) suspends only the coroutine that
-- called it; the others keep running on the same thread. mm.spawn starts one; h:wait()
-- collects its results.

local mm = require "moonmotion"
local params = params or {}
local moves = tonumber(params.moves or 3)

-- 1. Three workers sleeping 0.3, 0.1 and 0.2 s: together they take 0.3 s, not 0.6 s.
local started = mm.now()
local workers = {}
for i, delay in ipairs { 0.3, 0.1, 0.2 } do
  workers[i] = mm.spawn(function()
    mm.sleep(delay)
    print(string.format("worker %d woke up after %.1f s", i, delay))
    return delay
  end)
end
local slept = 0
for _, w in ipairs(workers) do slept = slept + w:wait() end
print(string.format("3 workers slept %.1f s in all, in %.1f s of real time", slept, mm.now() - started))

-- 2. Live tasks. mm.connect() uses the command line flags or GOVC_* variables, or the
-- built-in simulator when nothing is configured (conn.simulated tells).
local conn = mm.connect()
print("connected to " .. conn.name)
if moves <= 0 then return end

-- The smallest VMs still on an old datastore, each to a new datastore its host can see.
local candidates = conn:vms { datastore = "legacy-*" }
table.sort(candidates, function(a, b) return a.committed < b.committed end)
local tasks = {}
local sent = {}   -- bytes sent to each datastore by this script, to spread the moves
local function room(ds) return ds.free - (sent[ds.name] or 0) end
for _, vm in ipairs(candidates) do
  if #tasks == moves then break end
  local target
  for _, ds in ipairs(vm.host.datastores) do
    if ds.name:match("^new%-") and (target == nil or room(ds) > room(target)) then target = ds end
  end
  if target then
    sent[target.name] = (sent[target.name] or 0) + vm.committed
    -- async = true: returns the Task at once instead of waiting for it.
    local t = conn:moveVM(vm, { datastore = target }, { async = true })
    print(string.format("%s: moving %s (%.1f GiB) to %s", t.id, vm.name, vm.committed / 2^30, target.name))
    tasks[#tasks + 1] = t
  end
end

-- One coroutine per task, each waiting for its own task. t.state and t.progress are live:
-- the task poller updates them; nobody calls Get-Task in a loop.
local waiters = {}
for i, t in ipairs(tasks) do
  waiters[i] = mm.spawn(function()
    local ok, err = t:wait { timeout = 3600 }
    if ok then
      print(string.format("%s: %s done (%s)", t.id, t.entity_name, t.state))
    else
      print(string.format("%s: %s failed: %s %s", t.id, t.entity_name, err.type, err.message or ""))
    end
    return ok
  end)
end

-- Meanwhile the main coroutine reports progress until every task has ended.
while true do
  local running = 0
  local line = {}
  for _, t in ipairs(tasks) do
    if not t.done then running = running + 1 end
    line[#line + 1] = string.format("%s %s %s%%", t.id, t.state, t.progress or 0)
  end
  if running == 0 then break end
  print("progress: " .. table.concat(line, ", "))
  -- mm.sleep counts the connection's clock: on the simulator a minute of simulated time
  -- (a fraction of a real second), on a real vCenter two real seconds.
  mm.sleep(conn.simulated and 60 or 2)
end

local moved = 0
for _, w in ipairs(waiters) do if w:wait() then moved = moved + 1 end end
print(string.format("%d of %d VMs moved", moved, #tasks))
