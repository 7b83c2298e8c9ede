--- moonmotion.strategy: defaults and helpers for migration strategies.
--
-- A strategy script returns a table of hooks that the migration engine calls (the
-- contract is in docs/LUA.md, "Strategies"). This module builds and checks that table and
-- supplies the usual pieces, so a strategy says only what is particular to it:
--
--   local strategy = require "moonmotion.strategy"
--   return strategy.new {
--     select = function(inv)
--       return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" })
--     end,
--     order      = strategy.largest_first,
--     target     = strategy.most_free_space,
--     limits     = strategy.limits { max_concurrent = strategy.half_of_hosts, per_host = 2 },
--     vcenter_limits = strategy.vcenter_limits { max_concurrent = 64 },  -- the whole vCenter
--     on_blocked = strategy.vmotion,
--     on_failure = strategy.retry_up_to(3),
--   }
--
-- Hooks run synchronously on the Lua executor while the engine waits for their answer:
-- keep them quick, and do not call functions that wait (conn:vms, t:wait, mm.sleep)
-- inside them. Plain Lua state (upvalues, module tables) persists between calls, which is
-- how the stateful target pickers below remember what they chose.
--
-- Everything here is plain Lua and works on any table with the documented fields, so it
-- can be tried on hand-made tables in a REPL.
--
-- @module moonmotion.strategy

local M = {}

-- The names the engine accepts, and its "did you mean" for misspelt ones, come from the
-- engine itself (LuaStrategy+Names.swift), so these checks and the engine's own agree.
local mm = require "moonmotion"
local util = require "moonmotion.util"

--- The hooks a strategy table may hold, in the order the engine first calls them.
M.HOOKS = { table.unpack(mm.hook_names) }

local is_hook = {}
for _, name in ipairs(M.HOOKS) do is_hook[name] = true end

--- The fields of a strategy table that are settings, not hooks: `retries` and `backoff`
-- (docs/LUA.md, "Retries"). The engine checks them; `strategy.new` asks it to, so a
-- mistake is reported at the script's line.
M.SETTINGS = { table.unpack(mm.strategy_settings) }

local is_setting = {}
for _, name in ipairs(M.SETTINGS) do is_setting[name] = true end

--- The fields `limits(cluster)` may return.
M.LIMIT_FIELDS = { table.unpack(mm.limit_fields) }

local is_limit_field = {}
for _, name in ipairs(M.LIMIT_FIELDS) do is_limit_field[name] = true end

--- The fields `vcenter_limits(inv)` may return.
M.VCENTER_LIMIT_FIELDS = { table.unpack(mm.vcenter_limit_fields) }

-- " (did you mean 'on_failure'?)" for "onFailure", "on-failure" or "on_failur"; "" when no
-- valid name is close.
local function suggestion(name, valid)
  local best = mm.did_you_mean(tostring(name), valid)
  return best and (" (did you mean '" .. best .. "'?)") or ""
end

-- This file's chunk name, to tell the caller's functions from the library's own.
local own_source = debug and debug.getinfo and debug.getinfo(1, "S").source

-- " (the function at file.lua:12)" for a Lua function of the caller: errors raised about a
-- strategy table often have no caller line (`return strategy.new {...}` is a tail call).
local function defined_at(v)
  if type(v) ~= "function" or not (debug and debug.getinfo) then return "" end
  local info = debug.getinfo(v, "S")
  if info.what ~= "Lua" or info.source == own_source then return "" end
  return " (the function at " .. info.short_src .. ":" .. info.linedefined .. ")"
end

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and type(mt.__call) == "function"
end

-- A job's label from a helper's `label` option: the text, or what a function(vm) returns
-- (a string or nil; anything else is an error naming the VM).
local function label_of(label, vm)
  if not is_callable(label) then return label end
  local text = label(vm)
  if text ~= nil and type(text) ~= "string" then
    error("label: the function returned a " .. type(text) .. " for " .. tostring(vm.name) .. "; return a string or nil", 3)
  end
  return text
end

-- =============================================================================
-- Orders: comparators for the `order` hook (true when `a` runs before `b`)
-- =============================================================================

--- Largest VM first (by `job.size`, the committed bytes a Storage vMotion copies). This is
-- the engine's default order: long copies start early, so the tail of the run is short.
-- Jobs of equal size keep the order `select` returned them in (the sort is stable).
-- @param a job table
-- @param b job table
-- @return true when `a` goes first
function M.largest_first(a, b)
  return a.size > b.size
end

--- Smallest VM first: many VMs done early (useful for a pilot wave).
-- @param a job table
-- @param b job table
-- @return true when `a` goes first
function M.smallest_first(a, b)
  return a.size < b.size
end

--- A comparator from a key: `strategy.by(function(job) return job.vm.name end)` orders
-- by VM name; `strategy.by("size", true)` largest first; `strategy.by("vm.power")` by a
-- dotted path. Keys compare as `util.less` does: numbers, strings, booleans (false first),
-- mixed types by type, nil last — so a boolean or a missing field never raises.
-- @param key a field name or dotted path of the job table, or a function(job) returning the key
-- @param descending true for the largest key first (nil keys still last)
-- @return a comparator for `order`
function M.by(key, descending)
  if type(key) ~= "string" and not is_callable(key) then
    error("strategy.by: the key must be a field name, a dotted path (\"vm.power\") or a function(job), got " .. type(key), 2)
  end
  local get = util.getter(key, "strategy.by")
  local less = util.less
  if descending then
    return function(a, b)
      local va, vb = get(a), get(b)
      if va == nil or vb == nil then return va ~= nil and vb == nil end
      return less(vb, va)
    end
  end
  return function(a, b) return less(get(a), get(b)) end
end

--- Chains comparators: the first one that tells `a` and `b` apart decides.
-- `strategy.chain(strategy.by(function(j) return j.cluster and j.cluster.name or "" end), strategy.largest_first)`
-- runs cluster by cluster, largest first within each.
-- @param ... comparators
-- @return a comparator for `order`
function M.chain(...)
  local comparators = { ... }
  for i, c in ipairs(comparators) do
    if not is_callable(c) then error("strategy.chain: argument #" .. i .. " is not a function", 2) end
  end
  return function(a, b)
    for i = 1, #comparators do
      local c = comparators[i]
      if c(a, b) then return true end
      if c(b, a) then return false end
    end
    return false
  end
end

-- =============================================================================
-- Target pickers for the `target(job, candidates)` hook
-- =============================================================================
-- `candidates` are Datastore objects (name, free, capacity, ...) with room for one more
-- Storage vMotion and enough free space, `free` already reduced by the moves in flight.
-- A picker returns one of them, or nil to let the job wait for a better moment.

--- The candidate with the most free space (ties: the first name in alphabetical order).
-- This is the engine's default target.
-- @param job the job table (unused)
-- @param candidates array of Datastore
-- @return a Datastore, or nil when there is none
function M.most_free_space(job, candidates)
  local best
  for i = 1, #candidates do
    local c = candidates[i]
    if best == nil or c.free > best.free or (c.free == best.free and c.name < best.name) then best = c end
  end
  return best
end

--- A stateful picker that takes the candidates in turn, by name: each call picks the first
-- candidate whose name comes after the one picked last (wrapping around). Call it once per
-- strategy: `target = strategy.round_robin()`.
-- @return a target hook
function M.round_robin()
  local last
  return function(job, candidates)
    local first, next_one
    for i = 1, #candidates do
      local c = candidates[i]
      local name = c.name
      if first == nil or name < first.name then first = c end
      if last ~= nil and name > last and (next_one == nil or name < next_one.name) then next_one = c end
    end
    local pick = next_one or first
    if pick then last = pick.name end
    return pick
  end
end

--- A stateful picker that keeps the data placed on each datastore balanced: it picks the
-- candidate holding the fewest bytes, counting what it held when first seen (capacity −
-- free) plus the sizes of the jobs this picker sent there since (ties: most free space,
-- then name). Call it once per strategy: `target = strategy.balanced_by_committed()`.
-- A job that fails after being sent still counts; the balance is approximate by design.
-- @return a target hook
function M.balanced_by_committed()
  local placed = {}
  return function(job, candidates)
    local best, best_load
    for i = 1, #candidates do
      local c = candidates[i]
      local name = c.name
      local load = placed[name]
      if load == nil then
        load = (c.capacity or 0) - (c.free or 0)
        placed[name] = load
      end
      if best == nil or load < best_load
        or (load == best_load and (c.free > best.free or (c.free == best.free and name < best.name))) then
        best, best_load = c, load
      end
    end
    if best then placed[best.name] = best_load + (job.size or 0) end
    return best
  end
end

-- =============================================================================
-- Limits
-- =============================================================================

--- Half of the cluster's usable hosts (connected, not in maintenance mode), at least 1:
-- the classic cap on concurrent Storage vMotions per cluster.
-- @param cluster a Cluster (its `hosts` array of Host)
-- @return an integer ≥ 1
function M.half_of_hosts(cluster)
  local usable = 0
  for _, host in ipairs(cluster.hosts or {}) do
    local state = host.connection_state
    if (state == nil or state == "connected") and not host.maintenance then usable = usable + 1 end
  end
  return math.max(1, usable // 2)
end

--- Builds a `limits(cluster)` hook from a table whose values are numbers or functions of
-- the cluster: `strategy.limits { max_concurrent = strategy.half_of_hosts, per_host = 2 }`.
-- Fields: max_concurrent (jobs in the cluster), per_host (Storage vMotions per host),
-- per_datastore (Storage vMotions per datastore), host_cost, datastore_cost, network_cost
-- (vSphere's cost limits: 8, 128, 4 or 8), min_free (the free space every destination keeps
-- after a copy: a fraction such as 0.1 or "10%", or a size such as "500 GiB"; default 10%).
-- @param spec the table
-- @return a limits hook
function M.limits(spec)
  if type(spec) ~= "table" then error("strategy.limits: expected a table of limits, got " .. type(spec), 2) end
  for k, v in pairs(spec) do
    if not is_limit_field[k] then
      error("strategy.limits: unknown limit '" .. tostring(k) .. "'" .. suggestion(k, M.LIMIT_FIELDS)
        .. "; valid limits: " .. table.concat(M.LIMIT_FIELDS, ", "), 2)
    end
    local paced = k == "max_concurrent" and (v == "auto" or M.is_adaptive(v))
    if type(v) ~= "number" and not is_callable(v) and not paced and not (k == "min_free" and type(v) == "string") then
      error("strategy.limits: '" .. k .. "' must be a number or a function(cluster)"
        .. (k == "max_concurrent" and ', "auto" or strategy.adaptive{...}' or "") .. ", got " .. type(v), 2)
    end
  end
  return function(cluster)
    local out = {}
    for k, v in pairs(spec) do
      if type(v) == "number" or type(v) == "string" or M.is_adaptive(v) then out[k] = v else out[k] = v(cluster) end
    end
    return out
  end
end

--- The fields `strategy.adaptive{…}` takes.
M.ADAPTIVE_FIELDS = { "min", "max", "arrays", "window", "settle", "threshold", "reprobe" }

local is_adaptive_field = {}
for _, name in ipairs(M.ADAPTIVE_FIELDS) do is_adaptive_field[name] = true end

--- Pacing by measured throughput, for `limits`' `max_concurrent`:
-- `strategy.limits { max_concurrent = strategy.adaptive { min = 2, max = 16, arrays = { ["legacy-*"] = "old-array" } } }`.
-- The engine starts at `min` copies per group of datastores (a declared array, else one
-- datastore), adds one while the group's aggregate copy throughput rises by more than
-- `threshold` (default 0.05), backs off by one and holds at the knee, and tries one more
-- again every `reprobe` seconds (default 900); never above `max` (default 64) nor vSphere's
-- limits. `window` (default 120) is the seconds of one measurement, `settle` (default 30)
-- the seconds after a change before measuring. `max_concurrent = "auto"` is this with the
-- defaults and no declared array.
-- @param spec the table (may be empty)
-- @return the value to give `max_concurrent`
function M.adaptive(spec)
  spec = spec or {}
  if type(spec) ~= "table" then error("strategy.adaptive: expected a table such as { min = 2, max = 16 }, got " .. type(spec), 2) end
  local out = { adaptive = true }
  for k, v in pairs(spec) do
    if not is_adaptive_field[k] then
      error("strategy.adaptive: unknown field '" .. tostring(k) .. "'" .. suggestion(k, M.ADAPTIVE_FIELDS)
        .. "; valid fields: " .. table.concat(M.ADAPTIVE_FIELDS, ", "), 2)
    end
    if k == "arrays" then
      if type(v) ~= "table" then error("strategy.adaptive: arrays must be a table { [\"pattern\"] = \"array name\" }, got " .. type(v), 2) end
      local arrays = {}
      for pattern, name in pairs(v) do
        if type(pattern) ~= "string" or type(name) ~= "string" or name == "" then
          error("strategy.adaptive: arrays maps datastore-name patterns to array names, got " .. tostring(pattern) .. " = " .. tostring(name), 2)
        end
        arrays[pattern] = name
      end
      out.arrays = arrays
    elseif (k == "min" or k == "max") and (math.type(v) ~= "integer" or v < 1) then
      error("strategy.adaptive: " .. k .. " must be a whole number >= 1, got " .. tostring(v), 2)
    elseif k == "threshold" and (type(v) ~= "number" or v < 0 or v >= 1) then
      error("strategy.adaptive: threshold must be a fraction from 0 to below 1 (0.05: 5%), got " .. tostring(v), 2)
    elseif (k == "window" or k == "settle" or k == "reprobe") and (type(v) ~= "number" or v <= 0) then
      error("strategy.adaptive: " .. k .. " must be a number of seconds > 0, got " .. tostring(v), 2)
    else
      out[k] = v
    end
  end
  if out.min and out.max and out.max < out.min then error("strategy.adaptive: max (" .. out.max .. ") is below min (" .. out.min .. ")", 2) end
  return out
end

--- Whether `v` is what `strategy.adaptive` returns.
function M.is_adaptive(v)
  return type(v) == "table" and rawget(v, "adaptive") == true
end

--- Builds a `vcenter_limits(inv)` hook: `strategy.vcenter_limits { max_concurrent = 64 }`.
-- max_concurrent is the most jobs running at once in the whole vCenter (the engine's
-- default: 256; a whole number from 1 to 2000), a number or a function of the inventory
-- (`function(inv) return #inv.hosts end`). `moonmotion run --max-concurrent N` wins over it.
-- @param spec the table
-- @return a vcenter_limits hook
function M.vcenter_limits(spec)
  if type(spec) ~= "table" then error("strategy.vcenter_limits: expected a table such as { max_concurrent = 64 }, got " .. type(spec), 2) end
  for k, v in pairs(spec) do
    if k ~= "max_concurrent" then
      error("strategy.vcenter_limits: unknown limit '" .. tostring(k) .. "'" .. suggestion(k, M.VCENTER_LIMIT_FIELDS)
        .. "; valid limits: " .. table.concat(M.VCENTER_LIMIT_FIELDS, ", ") .. " (per-cluster limits go in strategy.limits)", 2)
    end
    if type(v) == "number" then
      if v ~= math.floor(v) or v < 1 then
        error("strategy.vcenter_limits: max_concurrent must be a whole number ≥ 1, got " .. tostring(v), 2)
      end
    elseif not is_callable(v) then
      error("strategy.vcenter_limits: max_concurrent must be a number or a function(inv), got " .. type(v), 2)
    end
  end
  return function(inv)
    local v = spec.max_concurrent
    if v == nil then return nil end
    if type(v) ~= "number" then v = v(inv) end
    return { max_concurrent = v }
  end
end

--- A limits or vcenter_limits hook that changes nothing (the engine's limits: vSphere's
-- documented costs, 256 jobs per vCenter).
-- @return nil
function M.no_limits(cluster)
  return nil
end

-- =============================================================================
-- Answers for on_blocked and on_failure
-- =============================================================================

--- on_blocked: vMotion the VM to a host of its cluster with room, then move its storage.
function M.vmotion(job, info) return "vmotion" end

--- on_blocked: wait until the VM's host has room (the engine's default).
function M.wait(job, info) return "wait" end

--- on_failure: let the retry rules (`retries`) retry the job while they do, then give up on
-- it; the run goes on (the engine's default).
function M.skip(job, err)
  if err ~= nil and err.will_retry then return nil end
  return "skip"
end

--- on_failure: let the retry rules retry the job while they do, then stop dispatching;
-- running tasks finish, then the run ends.
function M.abort(job, err)
  if err ~= nil and err.will_retry then return nil end
  return "abort"
end

--- on_failure: try again after the backoff, whatever the fault. A job that always fails is
-- retried until the attempt limit (`retries.limit`, 25 by default) fails it; prefer
-- `strategy.retry_up_to(n)`.
function M.retry(job, err) return "retry" end

--- on_failure: retry until the job has had `attempts` attempts in all, whatever the fault
-- (the retry rules included), then answer `otherwise` ("skip" by default, or "abort"). The
-- attempt limit (`retries.limit`) still caps it.
-- @param attempts total attempts allowed (≥ 1)
-- @param otherwise "skip" or "abort"
-- @return an on_failure hook
function M.retry_up_to(attempts, otherwise)
  if type(attempts) ~= "number" or attempts < 1 then
    error("strategy.retry_up_to: attempts must be a number ≥ 1", 2)
  end
  otherwise = otherwise or "skip"
  if otherwise ~= "skip" and otherwise ~= "abort" then
    error("strategy.retry_up_to: the second argument must be \"skip\" or \"abort\", got " .. tostring(otherwise), 2)
  end
  return function(job, err)
    local attempt = (err ~= nil and err.attempt) or job.attempts or 0
    if attempt < attempts then return "retry" end
    return otherwise
  end
end

--- on_done that does nothing (the engine's default).
function M.nothing(job) end

-- =============================================================================
-- Names: globs
-- =============================================================================

local magic = "[%^%$%(%)%%%.%+%-]"

--- The Lua pattern (anchored) for a glob: `*` any run of characters, `?` one character,
-- `[abc]` / `[a-z]` / `[!abc]` a character class; everything else is literal.
-- @param glob the glob
-- @return a Lua pattern
function M.glob_pattern(glob)
  local out, i, n = { "^" }, 1, #glob
  while i <= n do
    local c = glob:sub(i, i)
    if c == "*" then
      out[#out + 1] = ".*"
    elseif c == "?" then
      out[#out + 1] = "."
    elseif c == "[" then
      local close = glob:find("]", i + 2, true)
      if close then
        local body = glob:sub(i + 1, close - 1)
        local negate = body:sub(1, 1) == "!" or body:sub(1, 1) == "^"
        if negate then body = body:sub(2) end
        body = body:gsub("[%%%]%^]", "%%%0")
        out[#out + 1] = "[" .. (negate and "^" or "") .. body .. "]"
        i = close
      else
        out[#out + 1] = "%["
      end
    elseif c:match(magic) or c == "]" then
      out[#out + 1] = "%" .. c
    else
      out[#out + 1] = c
    end
    i = i + 1
  end
  out[#out + 1] = "$"
  return table.concat(out)
end

--- A matcher for names: `strategy.glob("legacy-*")("legacy-03") == true`. The pattern may
-- be a list of globs (matches any), and nil or "*" matches everything.
-- @param pattern a glob string, or a list of them
-- @return function(name) → boolean
function M.glob(pattern)
  if pattern == nil or pattern == "*" then return function() return true end end
  if type(pattern) == "table" then
    local matchers = {}
    for i, p in ipairs(pattern) do
      if type(p) ~= "string" then error("strategy.glob: pattern #" .. i .. " is a " .. type(p) .. ", not a string", 2) end
      matchers[#matchers + 1] = M.glob_pattern(p)
    end
    return function(name)
      for i = 1, #matchers do
        if string.find(name, matchers[i]) then return true end
      end
      return false
    end
  end
  if type(pattern) ~= "string" then error("strategy.glob: expected a string or a list of strings, got " .. type(pattern), 2) end
  local lua_pattern = M.glob_pattern(pattern)
  return function(name) return string.find(name, lua_pattern) ~= nil end
end

--- Whether `name` matches the glob (or list of globs) `pattern`.
function M.matches(name, pattern)
  return M.glob(pattern)(name)
end

-- =============================================================================
-- Job builders for `select(inv)`
-- =============================================================================

local function datastore_names(inv, pattern, except)
  local match = M.glob(pattern)
  local names = {}
  for _, ds in ipairs(inv.datastores) do
    if match(ds.name) and ds.name ~= except then names[#names + 1] = ds.name end
  end
  return names
end

--- The datastores of `inv` whose names match `pattern` (a glob or a list of globs), as an
-- array of names, optionally leaving one name out.
-- @param inv the inventory `select` received
-- @param pattern glob or list of globs
-- @param except a name to leave out, or nil
-- @return array of names
function M.datastore_names(inv, pattern, except)
  return datastore_names(inv, pattern, except)
end

-- The datastore cluster of `inv` called `name`, or nil.
local function datastore_cluster(inv, name)
  if type(name) ~= "string" then return nil end
  for _, pod in ipairs(inv.datastore_clusters or {}) do
    if pod.name == name then return pod end
  end
  return nil
end

--- Storage moves: every VM with a file on a datastore matching `opts.from` moves those files
-- (and only those: its other files stay where they are) to the datastores matching `opts.to`;
-- the engine picks among them at dispatch with `target`. A VM with nothing on `from` is not
-- selected. By default a VM's moving files land together on one datastore (vSphere's intra-VM
-- affinity); `keep_together = false` lets each go to its own.
-- Names and globs in `to` are narrowed to the datastores each VM's host mounts (one list
-- per host, shared by its VMs), so the engine weighs a handful of candidates per job, not
-- every datastore of the vCenter; a VM whose host mounts none keeps the whole list, and
-- the engine then fails it with the reason. `to` may name a datastore cluster: its member
-- datastores are the candidates (an error, before anything moves, when a VM's host mounts
-- none of them); with `sdrs = true` its Storage DRS chooses instead.
-- Options:
--   from          glob or list of globs of the source datastores (required)
--   to            glob, list of globs or names, a datastore cluster's name, or a list of
--                 Datastore objects: the targets (required unless `map` covers every source)
--   map           { ["legacy-01"] = "new-01", ["legacy-*"] = "new-*" }: where each source's
--                 files go (an exact name beats a glob, a longer glob a shorter one)
--   keep_together false: each moving file may go to its own datastore (default true)
--   format        "thin", "thick" or "eager": convert the disks that move
--   sdrs          true: ask the datastore cluster named by `to` (Storage DRS) where to go
--   filter        function(vm) → boolean: keep only these VMs (for example skip templates)
--   label         text shown for each job, or a function(vm) returning it (nil: no label)
-- @param inv the inventory `select` received
-- @param opts the options
-- @return array of jobs
function M.storage_moves(inv, opts)
  if type(opts) ~= "table" or opts.from == nil or (opts.to == nil and opts.map == nil) then
    error("strategy.storage_moves: expected { from = <glob>, to = <glob> } (or map = {...} instead of to)", 2)
  end
  local known = { from = true, to = true, map = true, keep_together = true, format = true, sdrs = true, filter = true, label = true }
  local option_names = { "from", "to", "map", "keep_together", "format", "sdrs", "filter", "label" }
  for k in pairs(opts) do
    if not known[k] then
      error("strategy.storage_moves: unknown option '" .. tostring(k) .. "'" .. suggestion(k, option_names)
        .. "; options: " .. table.concat(option_names, ", "), 2)
    end
  end
  if opts.map ~= nil and type(opts.map) ~= "table" then
    error("strategy.storage_moves: map must be a table such as { [\"legacy-01\"] = \"new-01\" }, got " .. type(opts.map), 2)
  end
  local to = opts.to
  local pod = datastore_cluster(inv, to)
  if opts.sdrs and pod == nil then
    error("strategy.storage_moves: sdrs = true asks a datastore cluster's Storage DRS, so `to` must name a datastore cluster"
      .. " (got " .. tostring(to) .. ")", 2)
  end
  local to_match
  if pod ~= nil then
    local members = {}
    for _, ds in ipairs(pod.datastores) do members[#members + 1] = ds.name end
    to_match = M.glob(members)
    to = members
  elseif type(to) == "string" then
    to_match = M.glob(to)
  elseif type(to) == "table" then
    local all_strings = true
    for _, v in ipairs(to) do if type(v) ~= "string" then all_strings = false end end
    if all_strings then
      to_match = M.glob(to)
      to = datastore_names(inv, to)
    end
  end
  local per_host = {}
  local function targets(vm)
    if to == nil then return nil end
    if pod ~= nil and opts.sdrs then return pod.name end
    if to_match == nil then return to end
    local host = vm.host
    if host == nil then return to end
    local list = per_host[host]
    if list == nil then
      list = {}
      for _, ds in ipairs(host.datastores) do
        if to_match(ds.name) then list[#list + 1] = ds.name end
      end
      if #list == 0 then
        if pod ~= nil then
          error("strategy.storage_moves: datastore cluster '" .. pod.name .. "' has no datastore that host "
            .. host.name .. " mounts (VM " .. vm.name .. "); present its datastores to the host, or leave its VMs out", 3)
        end
        list = to
      end
      per_host[host] = list
    end
    return list
  end
  local filter, label = opts.filter, opts.label
  local jobs = {}
  local vms
  if type(opts.from) == "string" then
    vms = inv:vms { datastore = opts.from }
  else
    local match = M.glob(opts.from)
    vms = {}
    for _, vm in ipairs(inv.vms) do
      for _, ds in ipairs(vm.datastores) do
        if match(ds.name) then vms[#vms + 1] = vm break end
      end
    end
  end
  for i = 1, #vms do
    local vm = vms[i]
    if filter == nil or filter(vm) then
      jobs[#jobs + 1] = {
        vm = vm, datastore = targets(vm), from = opts.from, map = opts.map, keep_together = opts.keep_together,
        format = opts.format, sdrs = opts.sdrs or nil, label = label_of(label, vm),
      }
    end
  end
  return jobs
end

--- Consolidation jobs for every VM whose disks need consolidation (`vm.consolidation_needed`).
-- @param inv the inventory `select` received
-- @param opts optional { filter = function(vm) → boolean, label = text or function(vm) }
-- @return array of jobs
function M.vms_needing_consolidation(inv, opts)
  opts = opts or {}
  local jobs = {}
  for _, vm in ipairs(inv.vms) do
    if vm.consolidation_needed and (opts.filter == nil or opts.filter(vm)) then
      jobs[#jobs + 1] = { vm = vm, action = "consolidate", label = label_of(opts.label, vm) }
    end
  end
  return jobs
end

--- The current time in epoch seconds: the simulator's clock when simulated.
function M.now()
  local ok, mm = pcall(require, "moonmotion")
  if ok and type(mm) == "table" and mm.now then return mm.now() end
  return os.time()
end

--- Snapshot removal jobs for snapshots created more than `days` days ago. A VM whose
-- snapshots are all that old gets one "remove all" job; otherwise one job per old
-- snapshot (each consolidating, children kept).
-- Options: now (epoch seconds, default `strategy.now()`), filter = function(vm) → boolean,
-- label = text or function(vm), consolidate (default true).
-- @param inv the inventory `select` received
-- @param days age in days (fractions allowed)
-- @param opts optional table
-- @return array of jobs
function M.snapshots_older_than(inv, days, opts)
  if type(days) ~= "number" or days < 0 then
    error("strategy.snapshots_older_than: days must be a number ≥ 0, got " .. tostring(days), 2)
  end
  opts = opts or {}
  local cutoff = (opts.now or M.now()) - days * 86400
  local consolidate = opts.consolidate ~= false
  local jobs = {}
  for _, vm in ipairs(inv.vms) do
    local snapshots = vm.snapshots
    if #snapshots > 0 and (opts.filter == nil or opts.filter(vm)) then
      local old = {}
      for _, s in ipairs(snapshots) do
        if s.created ~= nil and s.created < cutoff then old[#old + 1] = s end
      end
      if #old == #snapshots then
        jobs[#jobs + 1] = { vm = vm, action = "remove_snapshot", snapshot = "all", consolidate = consolidate, label = label_of(opts.label, vm) }
      else
        for _, s in ipairs(old) do
          jobs[#jobs + 1] = { vm = vm, action = "remove_snapshot", snapshot = s, consolidate = consolidate, label = label_of(opts.label, vm) }
        end
      end
    end
  end
  return jobs
end

-- =============================================================================
-- Building the strategy table
-- =============================================================================

--- The functions of this module that give the engine's own answers. The migration engine
-- recognises these exact values (not copies or wrappers) and answers in Swift, so a
-- strategy made of them costs no Lua call per job: largest_first and smallest_first as
-- `order`, most_free_space as `target`, no_limits as `limits` or `vcenter_limits`, wait and vmotion as
-- `on_blocked`, skip, abort and retry as `on_failure` (skip and abort: the retry rules
-- decide while they retry), nothing as `on_done`.
M.native = {
  [M.largest_first] = "largest_first", [M.smallest_first] = "smallest_first",
  [M.most_free_space] = "most_free_space", [M.no_limits] = "no_limits",
  [M.wait] = "wait", [M.vmotion] = "vmotion",
  [M.skip] = "skip", [M.abort] = "abort", [M.retry] = "retry",
  [M.nothing] = "nothing",
}

--- The defaults `strategy.new` fills in: the engine's own policy.
M.defaults = {
  order = M.largest_first,
  target = M.most_free_space,
  limits = M.no_limits,
  vcenter_limits = M.no_limits,
  on_blocked = M.wait,
  on_failure = M.skip,
  on_done = M.nothing,
}

--- Checks a table of hooks and returns a new strategy table with the missing hooks set to
-- `strategy.defaults` (largest first, most free space, no limit changes, wait when
-- blocked, skip on failure). `select` is required. Raises an error at the caller's line
-- for an unknown key (with the valid hooks) or a hook that is not a function.
-- @param hooks table of hooks
-- @return the strategy table
function M.new(hooks)
  if type(hooks) ~= "table" then
    error("strategy.new: expected a table of hooks (" .. table.concat(M.HOOKS, ", ") .. "), got " .. type(hooks), 2)
  end
  local out = {}
  local known = { table.unpack(M.HOOKS) }
  for _, name in ipairs(M.SETTINGS) do known[#known + 1] = name end
  for k, v in pairs(hooks) do
    if is_setting[k] then
      local problem = mm.check_strategy_setting(k, v)
      if problem then error("strategy.new: " .. problem, 2) end
    elseif not is_hook[k] then
      error("strategy.new: unknown hook '" .. tostring(k) .. "'" .. defined_at(v) .. suggestion(k, known)
        .. "; valid hooks: " .. table.concat(M.HOOKS, ", ") .. "; settings: " .. table.concat(M.SETTINGS, ", "), 2)
    elseif k == "checks" then
      if type(v) == "table" and not is_callable(v) then
        for i, c in ipairs(v) do
          if not is_callable(c) then error("strategy.new: checks[" .. i .. "] must be a function(vm, job), got " .. type(c), 2) end
        end
      elseif not is_callable(v) then
        error("strategy.new: checks must be a function(vm, job) or a list of them, got " .. type(v), 2)
      end
    elseif not is_callable(v) then
      error("strategy.new: hook '" .. k .. "' must be a function, got " .. type(v), 2)
    end
    out[k] = v
  end
  if out.select == nil then
    error("strategy.new: a strategy needs a select(inv) hook that returns the jobs", 2)
  end
  for k, v in pairs(M.defaults) do
    if out[k] == nil then out[k] = v end
  end
  return out
end

return M
