-- storage-migration.lua — move every VM off the old datastores onto the new ones.
--
--   moonmotion run examples/storage-migration.lua                     (no vCenter: the built-in simulator)
--   moonmotion run examples/storage-migration.lua from='legacy-*' to='new-*'
--   moonmotion run examples/storage-migration.lua --dry-run          (print the ordered plan, move nothing)
--   moonmotion plan examples/storage-migration.lua --generate clusters=3,hosts=8,vms=3000
--
-- Parameters (name=value after the script; quote globs so the shell leaves them alone):
--   from      datastores to empty, a glob               default legacy-*
--   to        datastores to fill: a glob, or the name   default new-*
--             of a datastore cluster (its members)
--   format    convert the disks that move:              default: keep each disk's format
--             thin, thick or eager
--   together  false: each file of a VM may land on      default true
--             its own datastore
--   sdrs      true: let the datastore cluster named     default false
--             by `to` choose (Storage DRS)
--   min_free  free space every destination keeps        default 10%
--   per_host  Storage vMotions at once per ESXi host    default 2 (vSphere's own cap)
--   max_concurrent  Storage vMotions at once per     default half of its usable hosts
--             cluster (a number), or auto: paced by measured copy throughput
--   arrays    with auto: datastores sharing a storage   default: each datastore alone
--             array, pattern=name,… (legacy-*=old,new-*=new)
--   pace      with auto: the pacer's settings,          default min=2,max=64,window=120,
--             name=value,… (min max window settle       settle=30,threshold=0.05,reprobe=900
--             threshold reprobe; seconds)
--   retries   attempts per VM before giving up on it,   default 3
--             for faults the retry rules do not retry
--
-- Real VMs keep their home (vmx) and disks on several datastores: a SQL server's OS disk on
-- legacy-01, its data on legacy-02 and its logs on a flash tier that is not migrated. Only
-- the files on a `from` datastore move; the others stay where they are (the move carries a
-- disk locator for each disk, so vSphere does not drag them along). Before the window,
-- `--dry-run` lists each VM's files with where they go, and the VMs that cannot move as
-- asked — a physical-mode RDM, a shared (multi-writer) disk on a running VM, Fault
-- Tolerance, an ISO left on a datastore being emptied, an orphaned VM, a host in
-- maintenance, a task already running, no destination big enough — each with what to do.
-- The run skips them with the same reason.
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
-- A number, or (passed through as written) whatever else `limits` accepts for it.
local max_concurrent = params.max_concurrent and (tonumber(params.max_concurrent) or params.max_concurrent)
-- auto with declared arrays or settings: strategy.adaptive{…} (see its documentation).
if max_concurrent == "auto" and (params.arrays or params.pace) then
  local spec = {}
  if params.arrays then
    spec.arrays = {}
    for pattern, name in params.arrays:gmatch("([^,=]+)=([^,]+)") do spec.arrays[pattern] = name end
  end
  for k, v in (params.pace or ""):gmatch("([%w_]+)=([^,]+)") do spec[k] = tonumber(v) or v end
  max_concurrent = strategy.adaptive(spec)
end
local retries = tonumber(params.retries or 3)
local format = params.format                -- nil: each disk keeps its format
local together = params.together ~= "false"
local sdrs = params.sdrs == "true"
local min_free = params.min_free or "10%"

return strategy.new {
  -- Which VMs move, and where to. Called once with the inventory (inv.vms, inv.hosts,
  -- inv.datastores, inv.clusters; inv:vms{...} filters like conn:vms). Each job names the
  -- VM and the allowed targets: strategy.storage_moves gives every `to` datastore the VM's
  -- host mounts, and `target` chooses among those with room at the last moment.
  select = function(inv)
    local jobs = strategy.storage_moves(inv, {
      from = from, to = to,
      -- Where each source's files go, when some sources have their own targets (an exact
      -- name wins over a glob, a longer glob over a shorter one); the others go to `to`:
      --   map = { ["legacy-01"] = "new-01", ["legacy-0[2-4]"] = "new-02" },
      keep_together = together,   -- false: each file (home, each disk) placed on its own
      format = format,            -- "thin", "thick" (lazily zeroed) or "eager" (eagerly zeroed)
      sdrs = sdrs or nil,         -- let the datastore cluster's Storage DRS choose
    })
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

  -- Which datastore, among the candidates that have room right now (and free space for what
  -- lands there plus min_free). Alternatives: strategy.round_robin() or
  -- strategy.balanced_by_committed(), or your own function(job, candidates, files) returning
  -- one of `candidates` for all the files, a table { config = ds, [2001] = ds } with one per
  -- file (files[i].id, .key, .label, .bytes, .datastore), or nil to wait.
  target = strategy.most_free_space,

  -- Your own reasons a VM cannot move, checked before anything moves (the run skips it and
  -- says why). For example:
  --   checks = { function(vm) if vm.tools ~= "guestToolsRunning" and vm.power == "poweredOn" then
  --                return "VMware Tools are not running — start them first" end end },

  -- Pace per cluster: half of the usable hosts copying at once (or `max_concurrent`),
  -- `per_host` per host, and the free space each destination keeps after a copy (a
  -- fraction, "10%", or "500 GiB"). Other fields: per_datastore, host_cost, datastore_cost,
  -- network_cost.
  limits = function(cluster)
    return { max_concurrent = max_concurrent or strategy.half_of_hosts(cluster), per_host = per_host, min_free = min_free }
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

  -- Faults vSphere clears by itself (FileLocked, TaskInProgress, a host briefly
  -- unreachable, …) are retried by the engine: 7 retries, 30 s doubling to 10 min. Change
  -- that per fault type (a type covers its subtypes), and cap every job's attempts:
  --   retries = { FileLocked = 3, HostCommunication = 10, default = 7, limit = 25 },
  --   backoff = { first = 30, max = 600, factor = 2 },

  -- Every failure comes here first. nil lets the retry rules decide (err.will_retry says
  -- what they would do); otherwise "retry", "skip" (the run goes on) or "abort" (no new
  -- moves; running ones finish). tostring(err) is one line for a log.
  on_failure = function(job, err)
    if err.type == "NoDiskSpace" then return "skip" end     -- retrying cannot help
    if err.will_retry then return nil end
    if err.rule == "none" and err.attempt < retries then return "retry" end
    print("giving up on " .. job.vm_name .. ": " .. tostring(err))
    return "skip"
  end,

  -- A VM arrived. Keep it short: hooks run while the engine waits. For example:
  --   on_done = function(job) print(job.vm.name .. " is on " .. job.target.name) end,
  -- strategy.nothing (like the other stdlib answers used above) is answered by the engine
  -- itself, without a Lua call per job.
  on_done = strategy.nothing,
}
