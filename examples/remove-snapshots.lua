-- remove-snapshots.lua — delete snapshots older than N days (forgotten "before-upgrade"
-- snapshots that grow until a datastore fills up).
--
--   moonmotion run examples/remove-snapshots.lua                  (built-in simulator, 30 days)
--   moonmotion run examples/remove-snapshots.lua days=14
--   moonmotion run examples/remove-snapshots.lua days=14 --dry-run      (list them first!)
--
-- Parameters:
--   days       minimum age of a snapshot to delete, in days   default 30
--   keep       VM name glob whose snapshots are never touched  default none
--   parallel   removals at once per datastore                 default 2
--
-- A VM whose snapshots are all old loses them all in one task (RemoveAllSnapshots); a VM
-- with recent snapshots too loses only the old ones, one task each, and its recent ones
-- stay. Removing a snapshot consolidates its delta into the parent disk: I/O on the VM's
-- datastores, which `limits` keeps moderate.

local strategy = require "moonmotion.strategy"

local params = params or {}
local days = tonumber(params.days or 30)
if days == nil or days < 0 then error("remove-snapshots: days must be a number of days, e.g. days=30") end
local keep = params.keep and strategy.glob(params.keep) or function() return false end
local parallel = tonumber(params.parallel or 2)

return strategy.new {
  select = function(inv)
    local jobs = strategy.snapshots_older_than(inv, days, {
      filter = function(vm) return not keep(vm.name) end,
      label = "snapshots older than " .. days .. " days",
    })
    print(string.format("remove-snapshots: %d removals", #jobs))
    return jobs
  end,

  -- Biggest VMs first: their deltas take longest to merge.
  order = strategy.largest_first,

  -- Each removal costs 16 units on each of the VM's datastores (limit 128): cap it at
  -- `parallel` removals per datastore.
  limits = strategy.limits { datastore_cost = 16 * parallel },

  -- A snapshot that is already gone (removed by hand meanwhile) is not worth stopping for.
  -- A VM locked by a backup (FileLocked) is retried by the engine's rules (err.will_retry);
  -- anything else gets one more try.
  on_failure = function(job, err)
    if err.type == "ManagedObjectNotFound" then return "skip" end
    if err.will_retry then return nil end
    if err.rule == "none" and err.attempt < 2 then return "retry" end
    return "skip"
  end,
}
