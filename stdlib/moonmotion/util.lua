--- moonmotion.util: the small helpers a report or a strategy needs — sizes, durations and
-- times as the engine prints them, text tables, sorting and filtering lists of tables.
--
--   local util = require "moonmotion.util"
--   local vms = conn:vms { power = "poweredOff" }
--   util.sort_by(vms, "-committed", "name")                 -- largest first, then by name
--   print(util.columns(util.top(vms, 10, "committed"), {
--     headers = { "VM", "size", "host" },
--     keys = { "name", function(vm) return util.bytes(vm.committed) end, "host.name" },
--   }))
--
-- Plain Lua; every function works on any table with the named fields (VM objects, job
-- tables, task objects, hand-made tables in the REPL). A key is a field name, a dotted path
-- ("vm.power", "host.name": a nil on the way gives nil), or a function(item) returning the
-- value. Sizes are IEC units exactly as the engine's ByteUnits.format writes them
-- (`120.0 GiB`, `0.99 TiB`), durations as the progress display (`12m05s`).
--
-- @module moonmotion.util

local M = {}

-- =============================================================================
-- Sizes, durations, times
-- =============================================================================

-- Rounds half away from zero, like Swift's `rounded()` (math.floor(x + 0.5) is off by one for
-- 0.49999999999999994 and rounds -2.5 to -2).
local function round(x)
  if x < 0 then return -round(-x) end
  local f = math.floor(x)
  if x - f >= 0.5 then f = f + 1 end
  return math.tointeger(f) or f
end

local units = {
  { 2.0 ^ 50, "PiB" }, { 2.0 ^ 40, "TiB" }, { 2.0 ^ 30, "GiB" }, { 2.0 ^ 20, "MiB" }, { 2.0 ^ 10, "KiB" },
}

local function one_decimal(x)
  local tenths = round(x * 10)
  local sign = tenths < 0 and "-" or ""
  tenths = math.abs(tenths)
  return sign .. (tenths // 10) .. "." .. (tenths % 10)
end

--- A byte count for people, in binary (IEC) units labelled as such: `512 B`, `1.5 KiB`,
-- `120.0 GiB`, `0.99 TiB` (one decimal in the largest unit that is ≥ 1; 1,000 or more of a
-- unit read as two decimals of the next). The same text as the engine's displays.
-- @param n bytes (a number; fractions allowed, for rates)
-- @return text
function M.bytes(n)
  if type(n) ~= "number" then error("util.bytes: expected a number of bytes, got " .. type(n), 2) end
  if n ~= n or n == math.huge or n == -math.huge then return tostring(n) .. " B" end
  local magnitude = math.abs(n)
  for k, unit in ipairs(units) do
    if magnitude >= unit[1] then
      if magnitude / unit[1] >= 999.95 and k > 1 then
        local hundredths = round(n / units[k - 1][1] * 100)
        local sign = hundredths < 0 and "-" or ""
        hundredths = math.abs(hundredths)
        return string.format("%s%d.%02d %s", sign, hundredths // 100, hundredths % 100, units[k - 1][2])
      end
      return one_decimal(n / unit[1]) .. " " .. unit[2]
    end
  end
  return string.format("%d B", round(n))
end

--- A duration as the progress display shows it: `45s`, `12m05s`, `3h07m`, `2d04h`
-- (negative durations are 0s; nil or not finite: `?`).
-- @param seconds a number
-- @return text
function M.duration(seconds)
  if seconds == nil then return "?" end
  if type(seconds) ~= "number" then error("util.duration: expected seconds, got " .. type(seconds), 2) end
  if seconds ~= seconds or seconds == math.huge or seconds == -math.huge then return "?" end
  local s = round(math.max(0, seconds))
  if s < 60 then return string.format("%ds", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
  if s < 86400 then return string.format("%dh%02dm", s // 3600, (s % 3600) // 60) end
  return string.format("%dd%02dh", s // 86400, (s % 86400) // 3600)
end

-- An epoch (integer or float: task times and mm.now() are fractional) as os.date's integer.
local function epoch_seconds(epoch, who)
  if type(epoch) ~= "number" or epoch ~= epoch or epoch == math.huge or epoch == -math.huge then
    error("util." .. who .. ": expected epoch seconds (a number), got " .. (type(epoch) == "number" and tostring(epoch) or type(epoch)), 3)
  end
  return math.floor(epoch)
end

--- `14:03:27`: the time of day of epoch seconds (floats accepted: `t.started`, `mm.now()`), in
-- local time, or UTC when `utc` is true. nil gives `-` (a task not started yet).
-- @param epoch seconds since 1970, or nil
-- @param utc true for UTC
-- @return text
function M.time(epoch, utc)
  if epoch == nil then return "-" end
  return os.date(utc and "!%H:%M:%S" or "%H:%M:%S", epoch_seconds(epoch, "time"))
end

--- `2026-12-05 14:03:27`: the date and time of epoch seconds (floats accepted), local or UTC.
-- nil gives `-`.
-- @param epoch seconds since 1970, or nil
-- @param utc true for UTC
-- @return text
function M.date(epoch, utc)
  if epoch == nil then return "-" end
  return os.date(utc and "!%Y-%m-%d %H:%M:%S" or "%Y-%m-%d %H:%M:%S", epoch_seconds(epoch, "date"))
end

-- =============================================================================
-- Keys and ordering
-- =============================================================================

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and type(mt.__call) == "function"
end

--- A function(item) reading `key` from an item: a field name, a dotted path (`"vm.power"`:
-- nil when a step is nil) or a function, returned as is.
-- @param key string or function
-- @param who the caller's name, for the error message
-- @return function(item) → value
function M.getter(key, who)
  if is_callable(key) then return key end
  if type(key) ~= "string" then
    error((who or "util.getter") .. ": a key is a field name, a dotted path (\"vm.power\") or a function(item), not a " .. type(key), 3)
  end
  if not key:find(".", 1, true) then
    return function(item) return item[key] end
  end
  local path = {}
  for part in key:gmatch("[^.]+") do path[#path + 1] = part end
  return function(item)
    local v = item
    for i = 1, #path do
      if v == nil then return nil end
      v = v[path[i]]
    end
    return v
  end
end

-- Types in the order values of different types sort: numbers, strings, booleans, the rest;
-- nil always last (whatever the direction).
local type_rank = { number = 1, string = 2, boolean = 3 }

--- Whether `a` sorts before `b`: numbers by value, strings by byte order, false before true;
-- values of different types by type (numbers, strings, booleans, others); nil after
-- everything. A strict ordering for any two values, so mixed or missing fields never raise
-- "attempt to compare".
-- @return boolean
function M.less(a, b)
  if a == nil or b == nil then return a ~= nil and b == nil end
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_rank[ta] or 4) < (type_rank[tb] or 4) or ((type_rank[ta] or 4) == (type_rank[tb] or 4) and ta < tb) end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return (not a) and b end
  return false
end

-- The comparator of sort_by's keys: "-name" descending; nil last either way.
local function comparator(keys, who)
  local getters, descending = {}, {}
  for i, key in ipairs(keys) do
    if type(key) == "string" and key:sub(1, 1) == "-" then
      descending[i] = true
      key = key:sub(2)
    end
    getters[i] = M.getter(key, who)
  end
  return function(a, b)
    for i = 1, #getters do
      local va, vb = getters[i](a), getters[i](b)
      if va == nil or vb == nil then
        if (va == nil) ~= (vb == nil) then return vb == nil end
      elseif descending[i] then
        if M.less(vb, va) then return true end
        if M.less(va, vb) then return false end
      else
        if M.less(va, vb) then return true end
        if M.less(vb, va) then return false end
      end
    end
    return false
  end
end

--- Sorts `list` in place by one or more keys and returns it. A key is a field name, a dotted
-- path or a function(item); a name starting with `-` sorts descending (`"-committed"`).
-- Stable: items with equal keys keep their order. Booleans sort false first, nil last.
--   util.sort_by(jobs, "vm.cluster.name", "-size")
-- @param list array of items
-- @param ... keys (at least one)
-- @return list
function M.sort_by(list, ...)
  if type(list) ~= "table" then error("util.sort_by: expected a list, got " .. type(list), 2) end
  local keys = { ... }
  if #keys == 0 then error("util.sort_by: give at least one key (a field name, \"-field\" for descending, or a function)", 2) end
  local before = comparator(keys, "util.sort_by")
  -- Stable: ties go by the original position.
  local n = #list
  local decorated = {}
  for i = 1, n do decorated[i] = { list[i], i } end
  table.sort(decorated, function(x, y)
    if before(x[1], y[1]) then return true end
    if before(y[1], x[1]) then return false end
    return x[2] < y[2]
  end)
  for i = 1, n do list[i] = decorated[i][1] end
  return list
end

--- The `n` items with the largest `key` (a field name, dotted path or function), largest first,
-- as a new list (`list` is not changed). `key` nil: the items themselves.
--   util.top(conn:vms(), 10, "committed")
-- @param list array
-- @param n how many
-- @param key the key (default: the item)
-- @return a new list of at most n items
function M.top(list, n, key)
  if type(list) ~= "table" then error("util.top: expected a list, got " .. type(list), 2) end
  if math.type(n) ~= "integer" and not (type(n) == "number" and n == math.floor(n)) then
    error("util.top: n must be a whole number, got " .. tostring(n), 2)
  end
  local get = key == nil and function(x) return x end or M.getter(key, "util.top")
  local copy = table.move(list, 1, #list, 1, {})
  local decorated = {}
  for i, item in ipairs(copy) do decorated[i] = { item, get(item), i } end
  table.sort(decorated, function(x, y)
    if x[2] == nil or y[2] == nil then
      if (x[2] == nil) ~= (y[2] == nil) then return y[2] == nil end
    elseif M.less(y[2], x[2]) then return true
    elseif M.less(x[2], y[2]) then return false
    end
    return x[3] < y[3]
  end)
  local out = {}
  for i = 1, math.min(n, #decorated) do out[i] = decorated[i][1] end
  return out
end

--- The items of `list` whose fields match every condition of `conditions`, as a new list:
-- `{ power = "poweredOff" }` (equal), `{ ["host.name"] = "esx-01" }` (dotted path),
-- `{ committed = function(v) return v > 2^40 end }` (a predicate on the field's value).
-- @param list array
-- @param conditions table of field → value or function(value) → boolean
-- @return a new list
function M.where(list, conditions)
  if type(list) ~= "table" then error("util.where: expected a list, got " .. type(list), 2) end
  if type(conditions) ~= "table" then error("util.where: expected a table of conditions { field = value or function(value) }, got " .. type(conditions), 2) end
  local tests = {}
  for field, wanted in pairs(conditions) do
    if type(field) ~= "string" then error("util.where: condition keys are field names, got a " .. type(field), 2) end
    local get = M.getter(field, "util.where")
    if is_callable(wanted) then
      tests[#tests + 1] = function(item) return wanted(get(item)) end
    else
      tests[#tests + 1] = function(item) return get(item) == wanted end
    end
  end
  local out = {}
  for _, item in ipairs(list) do
    local ok = true
    for i = 1, #tests do
      if not tests[i](item) then ok = false break end
    end
    if ok then out[#out + 1] = item end
  end
  return out
end

-- =============================================================================
-- Text tables
-- =============================================================================

-- Display width of a cell: UTF-8 characters (names with é or →), bytes when not UTF-8.
local function width(s)
  return utf8.len(s) or #s
end

--- A text table: `rows` are arrays of cells (`{ "app-01", "120.0 GiB" }`), or items read with
-- `opts.keys` (field names, dotted paths or functions, one per column). Numbers align right,
-- the rest left; nil shows empty. Returns the lines joined with newlines (no trailing one).
--   print(util.columns(vms, { headers = { "VM", "host" }, keys = { "name", "host.name" } }))
-- @param rows array
-- @param opts optional { headers = { ... }, keys = { ... }, separator = "  " }
-- @return text
function M.columns(rows, opts)
  if type(rows) ~= "table" then error("util.columns: expected a list of rows, got " .. type(rows), 2) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "headers" and k ~= "keys" and k ~= "separator" then
      error("util.columns: unknown option '" .. tostring(k) .. "'; options: headers, keys, separator", 2)
    end
  end
  local getters
  if opts.keys then
    getters = {}
    for i, key in ipairs(opts.keys) do getters[i] = M.getter(key, "util.columns") end
  end
  local cells, right, ncol = {}, {}, 0
  for r, row in ipairs(rows) do
    local line = {}
    local count = getters and #getters or #row
    for c = 1, count do
      local v
      if getters then v = getters[c](row) else v = row[c] end
      if type(v) == "number" then right[c] = true end
      line[c] = v == nil and "" or tostring(v)
    end
    ncol = math.max(ncol, count)
    cells[r] = line
  end
  local headers = opts.headers
  if headers then ncol = math.max(ncol, #headers) end
  local widths = {}
  for c = 1, ncol do
    widths[c] = headers and headers[c] and width(tostring(headers[c])) or 0
    for _, line in ipairs(cells) do widths[c] = math.max(widths[c], width(line[c] or "")) end
  end
  local sep = opts.separator or "  "
  local function render(line)
    local parts = {}
    for c = 1, ncol do
      local s = line[c] or ""
      local pad = string.rep(" ", widths[c] - width(s))
      parts[c] = right[c] and (pad .. s) or (c == ncol and s or s .. pad)
    end
    return (table.concat(parts, sep):gsub("%s+$", ""))
  end
  local out = {}
  if headers then
    local h = {}
    for c = 1, ncol do h[c] = headers[c] == nil and "" or tostring(headers[c]) end
    out[#out + 1] = render(h)
    local rule = {}
    for c = 1, ncol do rule[c] = string.rep("-", widths[c]) end
    out[#out + 1] = table.concat(rule, sep)
  end
  for _, line in ipairs(cells) do out[#out + 1] = render(line) end
  return table.concat(out, "\n")
end

return M
