-- consolidate-disks.lua — consolidate the disks of every VM vCenter flags with
-- "Virtual machine disks consolidation is needed" (runtime.consolidationNeeded).
--
--   moonmotion run examples/consolidate-disks.lua                 (built-in simulator)
--   moonmotion run examples/consolidate-disks.lua cluster='prod-*' parallel=2
--
-- Parameters:
--   cluster   only VMs of clusters matching this glob         default *  (every cluster)
--   parallel  consolidations at once per datastore            default 2
--
-- Consolidation rewrites snapshot deltas into the base disks: heavy I/O on the VM's
-- datastores, nothing on the network. The engine charges it like the disk side of a Storage
-- vMotion: 16 cost units on each datastore of the VM, whose limit is 128 (so 8 at once).
-- `limits` below lowers the datastore limit to 16 × parallel.

local strategy = require "moonmotion.strategy"

local params = params or {}
local cluster = params.cluster or "*"
local parallel = tonumber(params.parallel or 2)
local in_cluster = strategy.glob(cluster)

return strategy.new {
  select = function(inv)
    return strategy.vms_needing_consolidation(inv, {
      filter = function(vm)
        if cluster == "*" then return true end
        return vm.cluster ~= nil and in_cluster(vm.cluster.name)
      end,
      label = "consolidate",
    })
  end,

  -- Smallest first: most VMs are cleaned up early, the big ones last.
  order = strategy.smallest_first,

  -- datastore_cost is in vSphere's cost units (see above); per_datastore would count
  -- Storage vMotions only, and there are none here.
  limits = strategy.limits { datastore_cost = 16 * parallel },

  -- A VM locked by a backup job fails with FileLocked: wait for the backup, up to 6 retries
  -- (30 s doubling to 10 min). Anything else: try once more, then leave the VM for a human.
  retries = { FileLocked = 6 },
  on_failure = function(job, err)
    if err.will_retry then return nil end                  -- a retry rule covers it
    if err.rule == "none" and err.attempt < 2 then return "retry" end
    return "skip"
  end,

  on_done = function(job)
    print("consolidated " .. job.vm.name)
  end,
}
