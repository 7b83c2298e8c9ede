-- waves.lua — a Storage vMotion in waves: the powered-off VMs of each cluster first (wave 1:
-- cold copies, nobody notices, and a problem with the new datastores shows up before any
-- running VM is touched), then the running ones (wave 2).
--
--   moonmotion run  examples/waves.lua --dry-run                 (built-in simulator)
--   moonmotion plan examples/waves.lua --generate clusters=2,hosts=4,vms=40,off=0.3
--   moonmotion run  examples/waves.lua from='ds-old-*' to='ds-new-*' exclude='db-*,sql-*'
--
-- Parameters:
--   from      datastores to empty, a glob                    default legacy-*
--   to        where the VMs go, a glob                        default new-*
--   exclude   VMs left out, globs separated by commas         default db-*  (database VMs move
--             in their own window, with their application owners)
--   folder    only VMs in this VM folder (a glob on the       default none: every folder
--             folder path, e.g. "/*/vm/prod*")
--   scope     where a wave must end before the next starts:  default cluster
--             cluster (each cluster on its own) or vcenter
--   per_host  Storage vMotions at once per host               default 2
--
-- Waves count per cluster by default: cluster A's running VMs may start while cluster B still
-- copies its powered-off ones. A failed or skipped job ends its wave like a done one, so one
-- stuck VM never holds the next wave back; FileLocked (a backup still holding a disk) is
-- retried twice, then the VM is skipped and listed for a human.

local strategy = require "moonmotion.strategy"

local params = params or {}                -- name=value pairs from the command line
local from = params.from or "legacy-*"     -- the defaults match the built-in simulator's names
local to = params.to or "new-*"
local scope = params.scope or "cluster"
local per_host = tonumber(params.per_host or 2)
local folder = params.folder

local excluded = {}
for pattern in (params.exclude or "db-*"):gmatch("[^,]+") do excluded[#excluded + 1] = pattern end
local is_excluded = strategy.glob(excluded)
local in_folder = folder and strategy.glob(folder)

-- The VMs this strategy moves: not excluded by name, and in the folder when one is given
-- (vm.folder is the VM's folder path as govc prints it, e.g. "/DC1/vm/Production/web").
-- Teams that mark waves with vSphere tags select by tag instead, e.g.
--   if vm.tag and vm.tag["migration-wave"] ~= "wave-1" then return false end
-- (vm.tag is nil where vCenter's Automation API could not be read: see docs/LUA.md).
local function wanted(vm)
  if is_excluded(vm.name) then return false end
  if in_folder then return vm.folder ~= nil and in_folder(vm.folder) end
  return true
end

return strategy.new {
  select = function(inv)
    return strategy.storage_moves(inv, { from = from, to = to, filter = wanted })
  end,

  -- Powered off (and suspended: no running guest either) first.
  wave = function(job)
    return job.vm.power == "poweredOn" and 2 or 1
  end,
  wave_scope = scope,

  order = strategy.largest_first,
  target = strategy.most_free_space,
  limits = strategy.limits { max_concurrent = strategy.half_of_hosts, per_host = per_host },
  on_blocked = strategy.vmotion,

  -- FileLocked twice, then skip (the retry rules' nil); other retriable faults as the engine's
  -- defaults. on_failure = strategy.skip lets the rules retry first.
  retries = { FileLocked = 2 },
  on_failure = strategy.skip,
}
