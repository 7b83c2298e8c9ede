--- moonmotion.pretty: readable renderings of Lua values (the REPL prints with it).
--
--   local pretty = require "moonmotion.pretty"
--   print(pretty.format({ 1, 2, name = "vm-01", disks = { 10, 20 } }))
--   --> { 1, 2, disks = { 10, 20 }, name = "vm-01" }
--   pretty.print(t)                      -- same as print(pretty.format(t))
--   pretty(t)                            -- the module is callable: pretty.print
--
-- Tables: keys sorted (array part first, then numbers, strings, others), nested tables
-- indented when they do not fit on one line, cycles shown as <cycle>, long arrays and
-- long tables abbreviated ("... 950 more"), too deep nesting as {...}. A table or userdata
-- with __tostring is shown by it; other userdata by tostring (which uses __name, e.g.
-- moonmotion.VM: 0x...). Tables are read raw: no __index/__pairs metamethod runs.
--
-- Options (second argument of format/print, all optional):
--   indent    = "  "   one level of indentation
--   width     = 100    lines longer than this are split
--   max_depth = 8      deeper tables are shown as {...}
--   max_items = 50     entries shown per table before "... N more"

local pretty = {}

local defaults = { indent = "  ", width = 100, max_depth = 8, max_items = 50 }

local keywords = {}
for word in ([[and break do else elseif end false for function goto if in local nil not
  or repeat return then true until while]]):gmatch("%a+") do keywords[word] = true end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\0"] = "\\0" }

--- A Lua string literal for `s` (double-quoted, control bytes escaped).
function pretty.quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\%03d", c:byte())
  end) .. '"'
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
end

local type_rank = { number = 1, string = 2, boolean = 3 }

-- "vm-2" before "vm-10": digit runs compare as numbers.
local function natural_less(a, b)
  local ia, ib = 1, 1
  while ia <= #a and ib <= #b do
    local da, db = a:match("^%d+", ia), b:match("^%d+", ib)
    if da and db then
      local na, nb = tonumber(da), tonumber(db)
      if na ~= nb then return na < nb end
      if #da ~= #db then return #da < #db end
      ia, ib = ia + #da, ib + #db
    else
      local ca, cb = a:sub(ia, ia), b:sub(ib, ib)
      if ca ~= cb then return ca < cb end
      ia, ib = ia + 1, ib + 1
    end
  end
  return #a - ia < #b - ib
end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return (type_rank[ta] or 4) < (type_rank[tb] or 4) or
      ((type_rank[ta] or 4) == (type_rank[tb] or 4) and ta < tb)
  end
  if ta == "number" then return a < b end
  if ta == "string" then return natural_less(a, b) end
  if ta == "boolean" then return (not a) and b end
  return tostring(a) < tostring(b)
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ": __tostring failed>"
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return pretty.quote(v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return safe_tostring(v)
end

local function render_key(k)
  if is_identifier(k) then return k end
  if type(k) == "string" then return "[" .. pretty.quote(k) .. "]" end
  return "[" .. scalar(k) .. "]"
end

local render

local function render_table(t, opts, depth, path)
  if path[t] then return "<cycle>" end
  if depth >= opts.max_depth then return "{...}" end
  path[t] = true

  local parts, multiline, positional = {}, false, {}
  local function add(text, is_positional)
    parts[#parts + 1] = text
    positional[#parts] = is_positional
    if text:find("\n", 1, true) then multiline = true end
  end

  -- The sequence 1..n first (raw), abbreviated after max_items.
  local n = rawlen(t)
  local shown = math.min(n, opts.max_items)
  for i = 1, shown do add(render(rawget(t, i), opts, depth + 1, path), true) end
  local hidden = n - shown

  -- Then every other key, sorted.
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  local room = math.max(opts.max_items - shown, 0)
  for i, k in ipairs(keys) do
    if i > room then
      hidden = hidden + (#keys - room)
      break
    end
    add(render_key(k) .. " = " .. render(rawget(t, k), opts, depth + 1, path))
  end
  if hidden > 0 then add("... " .. hidden .. " more") end
  path[t] = nil

  if #parts == 0 then return "{}" end
  local pad = opts.indent:rep(depth)
  local one_line = "{ " .. table.concat(parts, ", ") .. " }"
  if not multiline and #one_line + #pad <= opts.width then return one_line end
  -- One entry per line, except that short positional entries share lines up to `width`.
  local inner = pad .. opts.indent
  local lines, current = {}, nil
  for i, p in ipairs(parts) do
    local short = positional[i] and not p:find("\n", 1, true) and p:sub(1, 1) ~= "{"
    if short and current and #current + 2 + #p + 1 <= opts.width then
      current = current .. ", " .. p
    else
      if current then lines[#lines + 1] = current end
      current = inner .. p
      if not short then
        lines[#lines + 1] = current
        current = nil
      end
    end
  end
  if current then lines[#lines + 1] = current end
  return "{\n" .. table.concat(lines, ",\n") .. "\n" .. pad .. "}"
end

render = function(v, opts, depth, path)
  if type(v) == "table" and not has_tostring(v) then
    return render_table(v, opts, depth, path)
  end
  return scalar(v)
end

local function options(opts)
  if opts == nil then return defaults end
  local merged = {}
  for k, v in pairs(defaults) do merged[k] = v end
  for k, v in pairs(opts) do merged[k] = v end
  return merged
end

--- The text for `value`: strings quoted, tables as constructors (see the header).
function pretty.format(value, opts)
  return render(value, options(opts), 0, {})
end

--- What the REPL shows for a result: a string as is (like lua's print), anything else
--- formatted.
function pretty.show(value, opts)
  if type(value) == "string" then return value end
  return pretty.format(value, opts)
end

--- Prints each argument formatted, separated by tabs.
function pretty.print(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = pretty.format((select(i, ...))) end
  print(table.concat(out, "\t"))
end

return setmetatable(pretty, { __call = function(_, ...) return pretty.print(...) end })
