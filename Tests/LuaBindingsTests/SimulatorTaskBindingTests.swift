import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel
import VCenterSimulator

/// Live tasks against the in-process simulator with a scaled clock (simulated time runs
/// faster than real time; its thread applies every update to the `LiveTask`s).
@Suite(.timeLimit(.minutes(3))) struct SimulatorTaskBindingTests {
    static func scaled(_ speed: Double, spec: String = "clusters=2,hosts=4,vms=40,datastores=2,size=5,minsize=1,maxsize=10,snapshots=0.5",
                       configure: (inout SimulatorConfiguration) -> Void = { _ in }) throws -> SimulatedVCenter {
        var config = SimulatorConfiguration(clock: .scaled(speed: speed))
        configure(&config)
        return try SimulatedVCenter(generating: spec, configuration: config)
    }

    @Test func thousandCoroutinesThousandTasksAllObserved() async throws {
        let sim = try Self.scaled(2000, spec: "clusters=4,hosts=8,vms=1000,datastores=4,size=5,minsize=1,maxsize=10,capacity=100") { config in
            config.limits.enforced = false
        }
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local ok, failed, handles, tasks = 0, 0, {}, {}
            for i, vm in ipairs(conn:vms()) do
              handles[i] = mm.spawn(function()
                local ds = conn:datastores{name = "new-*", host = vm.host}
                local t = conn:moveVM(vm, {datastore = ds[i % #ds + 1]}, {async = true})
                tasks[i] = t
                -- Timeouts count simulated seconds (the scripts' one clock): a day is 43 s here.
                local done, err = t:wait{timeout = 86400}
                if done then ok = ok + 1 else failed = failed + 1; print(err.type, err.message) end
              end)
            end
            for _, h in ipairs(handles) do h:wait() end
            local all = mm.wait_all(tasks, {timeout = 1})
            local before = #conn:vms{datastore = "new-*"}
            -- Concurrent refreshes share retrievals; each sees the moves.
            local a = mm.spawn(function() return #conn:refresh():vms{datastore = "new-*"} end)
            local b = mm.spawn(function() return #conn:refresh():vms{datastore = "new-*"} end)
            return ok, failed, all, before, a:wait(), b:wait(), #conn:vms{datastore = "legacy-*"}
            """)
        await h.shutdown()
        #expect(values[0] == 1000)
        #expect(values[1] == 0)
        #expect(values[2] == true)
        // The cached inventory is the snapshot from before the moves.
        #expect(values[3] == 0)
        #expect(Array(values[4...]) == [1000, 1000, 0])
        #expect(sim.stats.tasks.filter { $0.state == .success }.count == 1000)
    }

    @Test func faultsTimeoutsCancelAndWaitAny() async throws {
        // 10 minutes of setup per move (6 s of real time): the cancel lands before the move
        // ends even on a loaded machine.
        let sim = try Self.scaled(100) { $0.storageVMotionOverhead = 600 }
        let vms = sim.inventorySnapshot.vms
        try sim.failNextTask(ofVM: vms[0].name, with: VCenterFault(type: "FileLocked", message: "the disk is locked"))
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vms = conn:vms()
            local function move(vm) return conn:moveVM(vm, {datastore = conn:datastores{name = "new-*", host = vm.host}[1]}, {async = true}) end
            local bad = move(vms[1])
            -- Timeouts count simulated seconds (100× real time here).
            local ok, err = bad:wait{timeout = 6000}
            local slow = move(vms[2])
            local tok, terr = slow:wait{timeout = 0.01}
            local cancelled = slow:cancel()
            local cok, cerr = slow:wait{timeout = 3000}
            local a, b = move(vms[3]), move(vms[4])
            local first = mm.wait_any({a, b}, {timeout = 6000})
            local none = mm.wait_any({}, {timeout = 1})
            local all, failed = mm.wait_all({a, b, bad}, {timeout = 6000})
            return ok, err.type, err.message, tok, terr.type, cancelled, cok, cerr.type,
                   first == a or first == b, none == nil, all, #failed, failed[1] == bad
            """)
        await h.shutdown()
        #expect(values[0] == false)
        #expect(values[1] == "FileLocked")
        #expect(values[2] == "the disk is locked")
        #expect(values[3] == false)
        #expect(values[4] == "Timeout")
        #expect(values[5] == true)
        #expect(values[6] == false)
        #expect(values[7] == "RequestCanceled")
        #expect(Array(values[8...]) == [true, true, false, 1, true])
    }

    @Test func snapshotsConsolidationAndNowFollowsTheSimulator() async throws {
        let sim = try Self.scaled(500)
        let withSnapshots = try #require(sim.inventorySnapshot.vms.first { $0.snapshots.count >= 1 })
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local before = mm.now()
            local conn = mm.connect()
            local vm = conn:vm("\(withSnapshots.name)")
            local n = #vm.snapshots
            local t = conn:removeSnapshot(vm, "all", {consolidate = true})
            vm:refresh()
            local c = conn:consolidateDisks(vm, {async = true})
            local ok = c:wait{timeout = 30000}
            mm.sleep(0.1)
            local simulatedSeconds = mm.now() - before
            return n > 0, t.state, #vm.snapshots, ok, c.name, simulatedSeconds > 5, c.description_id
            """)
        await h.shutdown()
        #expect(values == [true, "success", 0, true, "ConsolidateVMDisks_Task", true, "VirtualMachine.consolidateDisks"])
    }
}
