-- evacuate-datastore.lua — empty one datastore (before maintenance, a firmware upgrade or
-- its retirement) onto the other datastores its hosts can see.
--
--   moonmotion run examples/evacuate-datastore.lua                          (built-in simulator)
--   moonmotion run examples/evacuate-datastore.lua datastore=ds-gold-07
--   moonmotion run examples/evacuate-datastore.lua datastore=ds-gold-07 to='ds-gold-*'
--
-- Parameters:
--   datastore  the datastore to empty                      default legacy-01
--   to         where VMs may go, a glob (the evacuated     default *  (any other datastore)
--              datastore itself is always left out)
--   parallel   Storage vMotions at once per datastore      default 4
--
-- The data is spread over the targets by what each already holds
-- (strategy.balanced_by_committed), not just free space, so one big empty datastore does
-- not receive everything. Only datastores mounted by the VM's host are used (the engine
-- checks); a VM no target can take fails with the reason, the others go on.

local strategy = require "moonmotion.strategy"

local params = params or {}
local source = params.datastore or "legacy-01"
local to = params.to or "*"
local parallel = tonumber(params.parallel or 4)

return strategy.new {
  select = function(inv)
    if not inv:datastore(source) then
      error("evacuate-datastore: there is no datastore called " .. source
        .. " (pass datastore=<name>)")
    end
    -- Every other datastore matching `to`, as a list of names shared by every job.
    local targets = strategy.datastore_names(inv, to, source)
    if #targets == 0 then error("evacuate-datastore: no datastore other than " .. source .. " matches " .. to) end
    return strategy.storage_moves(inv, { from = source, to = targets, label = "evacuate " .. source })
  end,

  order = strategy.largest_first,

  -- Stateful: remembers how much it sent where. One picker per strategy, so call it here.
  target = strategy.balanced_by_committed(),

  -- The evacuated datastore is the bottleneck: every copy reads it. Cap the copies that
  -- touch any one datastore at `parallel` (vSphere allows 8) to keep its latency sane
  -- for the VMs still running on it.
  limits = strategy.limits { per_datastore = parallel, per_host = 2 },

  on_blocked = strategy.vmotion,
  -- Two attempts per VM in all, whatever the fault (FileLocked included), then leave it for
  -- a human: the datastore must be empty by the window's end, not after an hour of
  -- backoff. Without this line the engine's retry rules apply (FileLocked: 7 retries).
  on_failure = strategy.retry_up_to(2),
}
