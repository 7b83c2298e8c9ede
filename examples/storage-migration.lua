-- storage-migration.lua — move every VM off the old datastores onto the new ones.
--
--   moonmotion run examples/storage-migration.lua                     (no vCenter: the built-in simulator)
--   moonmotion run examples/storage-migration.lua from='legacy-*' to='new-*'
--   moonmotion run examples/storage-migration.lua --dry-run          (print the ordered plan, move nothing)
--   moonmotion plan examples/storage-migration.lua --generate clusters=3,hosts=8,vms=3000
--
-- Parameters (name=value after the script; quote globs so the shell leaves them alone):
--   from      datastores to empty, a glob               default legacy-*
--   to        datastores to fill, a glob                default new-*
--   per_host  Storage vMotions at once per ESXi host    default 2 (vSphere's own cap)
--   retries   attempts per VM before giving up on it    default 3
--
-- The policy is the classic one, refined over years of PowerCLI migration scripts:
--   * largest VMs first, so the long copies start early and the run ends on small ones;
--   * at most half of a cluster's hosts copying at once, and 2 copies per host;
--   * the target with the most free space (free space counts the copies in flight);
--   * when a VM's host is full but another host of its cluster has room, vMotion the VM
--     there first instead of waiting (the "pro-active vMotion"; see on_blocked).
-- The engine never exceeds vSphere's limits (8 per host, 128 per datastore, vMotion
-- network) whatever these hooks say; they only choose within them.
--
-- To adapt it: change `select` to choose other VMs (a filter on name, cluster, power
-- state…), `order` to change who goes first, `limits` for a gentler or bolder pace.
-- The hooks and what they receive are described in docs/LUA.md, "Strategies".

local strategy = require "moonmotion.strategy"

local params = params or {}               -- name=value pairs from the command line
local from = params.from or "legacy-*"    -- the defaults match the built-in simulator's names
local to = params.to or "new-*"
local per_host = tonumber(params.per_host or 2)
local retries = tonumber(params.retries or 3)

return strategy.new {
  -- Which VMs move, and where to. Called once with the inventory (inv.vms, inv.hosts,
  -- inv.datastores, inv.clusters; inv:vms{...} filters like conn:vms). Each job names the
  -- VM and the allowed targets: strategy.storage_moves gives every `to` datastore the VM's
  -- host mounts, and `target` chooses among those with room at the last moment.
  select = function(inv)
    local jobs = strategy.storage_moves(inv, { from = from, to = to })
    -- Only VMs with a file on a `from` datastore are selected, and the engine never moves a
    -- VM twice in a run. Add a filter to leave VMs out:
    --   strategy.storage_moves(inv, { from = from, to = to,
    --     filter = function(vm) return not vm.template and not vm.name:match("^test%-") end })
    print(string.format("storage-migration: %d VMs on %s move to %s", #jobs, from, to))
    return jobs
  end,

  -- Who goes first: a comparator like table.sort's (true when `a` goes before `b`).
  -- Jobs have job.size (bytes to copy), job.vm (VM), job.cluster, job.label…
  order = strategy.largest_first,

  -- Which datastore, among the candidates that have room right now. Alternatives:
  -- strategy.round_robin() or strategy.balanced_by_committed(), or your own function
  -- returning one of `candidates` (or nil to wait).
  target = strategy.most_free_space,

  -- Pace per cluster: half of the usable hosts copying at once, `per_host` per host.
  -- Other fields: per_datastore, host_cost, datastore_cost, network_cost.
  limits = function(cluster)
    return { max_concurrent = strategy.half_of_hosts(cluster), per_host = per_host }
  end,

  -- Pace for the whole vCenter (default: 256 jobs at once across every cluster;
  -- `moonmotion run --max-concurrent N` overrides it). For a busy vCenter, for example:
  -- vcenter_limits = strategy.vcenter_limits { max_concurrent = 32 },

  -- The VM's host is full, another host of the cluster could take it: vMotion it there
  -- first. Return "wait" to keep it where it is (for VMs pinned to a host, for example).
  -- The engine asks whenever another host of the cluster has room for the VM, even when
  -- the full host has none left for the vMotion itself (a host copying two VMs has used
  -- all 8 of its cost units; a vMotion needs 1): the vMotion then gets the first claim on
  -- that host, so the next unit it frees goes to the vMotion before its next copy starts.
  -- The destination is picked when the vMotion starts (the host with most room then).
  on_blocked = function(job, info)
    return "vmotion"
  end,

  -- A fault the engine does not retry on its own (or retries used up): "retry", "skip"
  -- (the run goes on) or "abort" (no new moves; running ones finish).
  on_failure = function(job, err)
    if err.type == "NoDiskSpace" then return "skip" end     -- retrying cannot help
    if job.attempts < retries then return "retry" end
    return "skip"
  end,

  -- A VM arrived. Keep it short: hooks run while the engine waits. For example:
  --   on_done = function(job) print(job.vm.name .. " is on " .. job.target.name) end,
  -- strategy.nothing (like the other stdlib answers used above) is answered by the engine
  -- itself, without a Lua call per job.
  on_done = strategy.nothing,
}
