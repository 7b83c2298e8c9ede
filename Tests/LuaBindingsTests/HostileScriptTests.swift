import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel

/// Scripts written to break the host: metatables that raise where Swift writes, protected
/// metatables, hooks that tamper with job tables. Each must end in a clear error (or succeed),
/// never in `PANIC: unprotected error in call to Lua API` (the process would die with this test).
@Suite("Hostile scripts")
struct HostileScriptTests {
    @Test("a moonmotion module whose __newindex raises, with mm.now removed: mm.connect() on the simulator still works")
    func moduleMetatable() async throws {
        let h = try BindingsHarness(backend: try smallSimulator())
        defer { Task { await h.shutdown() } }
        let results = try await h.run("""
            local mm = require "moonmotion"
            setmetatable(mm, { __newindex = function() error("no writes here") end,
                               __index = function() error("no reads here") end })
            rawset(mm, "now", nil)
            local conn = mm.connect()
            setmetatable(_G, { __newindex = function() error("no globals") end })
            return conn.simulated, type(rawget(mm, "now")), #conn:vms()
            """)
        #expect(results == [true, "function", 24])
    }

    @Test("protected metatables: getmetatable gives a name, setmetatable on a job table refuses, the engine's objects keep working")
    func protectedMetatables() async throws {
        let h = try BindingsHarness(backend: try smallSimulator())
        defer { Task { await h.shutdown() } }
        let results = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vm = conn:vms()[1]
            local mt = getmetatable(vm)
            local list = conn:inventory().vms
            local ok, err = pcall(function() getmetatable(list).__call = nil end)
            return mt, vm.name ~= nil, ok, type(getmetatable(list)), pcall(setmetatable, list, {})
            """)
        #expect(results == ["moonmotion.VM", true, false, "string", false, "cannot change a protected metatable"])
    }

    @Test("a strategy hook that tampers with its job tables fails that job with a clear error; the run goes on")
    func tamperingHooks() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              target = function(job, candidates)
                if job.id == 0 then setmetatable(job, { __newindex = function() error("boom") end }) end
                return candidates[1]
              end,
            }
            """)
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        let failed = outcome.summary.failed
        #expect(failed.count == 1)
        #expect(failed.first?.lastError?.contains("cannot change a protected metatable") == true, "\(failed.first?.lastError ?? "")")
        #expect(outcome.summary.done.count == 3)
    }
}
