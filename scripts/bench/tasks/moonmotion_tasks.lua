-- The Moonmotion side of the live-task benchmark (scripts/bench/tasks/run.sh): n concurrent
-- relocations, one coroutine each, every one waiting on its live Task. Parameters:
--   n=1000 out=detections.jsonl control=http://127.0.0.1:PORT/_mm deadline=200
-- Writes one JSON line per task: {"id", "detected" (epoch seconds when t:wait returned), "ok"}.
local mm = require "moonmotion"

local n = assert(tonumber(params.n), "n=<count> is required")
local deadline = tonumber(params.deadline) or 200
local conn = mm.connect()
local vms = conn:vms()
local targets = conn:datastores{name = "new-*"}
assert(#vms >= n, ("the server has %d VMs, the benchmark needs %d"):format(#vms, n))
assert(#targets > 0, "no new-* datastore")

-- Count only what follows at the server: starting and watching the tasks.
assert(os.execute(("curl -sf -X POST '%s/reset-stats' >/dev/null"):format(params.control)), "reset-stats failed")

local out = assert(io.open(params.out, "w"))
local handles = {}
for i = 1, n do
  handles[i] = mm.spawn(function()
    local t = conn:moveVM(vms[i], {datastore = targets[i % #targets + 1]}, {async = true})
    local ok, err = t:wait{timeout = deadline}
    out:write(('{"id":"%s","detected":%.6f,"ok":%s}\n'):format(t.id, mm.now(), ok and "true" or "false"))
    if not ok and err.type ~= "Timeout" then io.stderr:write(tostring(t), "\n") end
  end)
end
for _, h in ipairs(handles) do h:wait() end
out:close()
conn:close()
