import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel
import VCenterSimulator

/// Issue 13, finding 4, against the in-process simulator at 100×: wait timeouts and
/// `mm.sleep` count simulated seconds, the clock `mm.now()` reads (they once counted real
/// ones, so a 30-minute timeout took 30 real minutes and a watcher sleeping a minute looked
/// hung).
@Suite(.timeLimit(.minutes(3))) struct SimulatedWaitTests {
    /// 100× with an hour of setup per move: every move outlasts the waits below.
    static func simulator() throws -> SimulatedVCenter {
        try SimulatorTaskBindingTests.scaled(100) { $0.storageVMotionOverhead = 3600 }
    }

    @Test("t:wait and mm.wait_all time out after their simulated seconds, in a fraction of the real ones")
    func waitTimeoutsAreSimulatedSeconds() async throws {
        let sim = try Self.simulator()
        let h = try BindingsHarness(backend: sim)
        let started = ContinuousClock.now
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vms = conn:vms()
            local function move(vm) return conn:moveVM(vm, {datastore = conn:datastores{name = "new-*", host = vm.host}[1]}, {async = true}) end
            local a, b = move(vms[1]), move(vms[2])
            local t0 = mm.now()
            local ok, err = a:wait{timeout = 300}
            local t1 = mm.now()
            local all = mm.wait_all({a, b}, {timeout = 600})
            local t2 = mm.now()
            return ok, err.type, t1 - t0, all, t2 - t1
            """)
        let real = ContinuousClock.now - started
        await h.shutdown()
        #expect(values[0] == false)
        #expect(values[1] == "Timeout")
        // 300 and 600 simulated seconds are 3 and 6 real ones at 100×; on real seconds the
        // waits would take 15 minutes and the suite's 3-minute limit would stop the test.
        let first = values[2].doubleValue ?? -1, second = values[4].doubleValue ?? -1
        #expect(first >= 300 && first < 400, "t:wait{timeout = 300} took \(first) simulated s")
        #expect(values[3] == false)
        #expect(second >= 600 && second < 700, "mm.wait_all{timeout = 600} took \(second) simulated s")
        #expect(real < .seconds(120), "\(real)")
    }

    @Test("a watcher sleeping a simulated minute ticks once a simulated minute")
    func watcherTicksEverySimulatedMinute() async throws {
        let sim = try Self.simulator()
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local ticks = {}
            local watcher = mm.spawn(function()
              local t0 = mm.now()
              for i = 1, 4 do
                ticks[#ticks + 1] = mm.now() - t0
                mm.sleep(60)
              end
            end)
            watcher:wait()
            return #ticks, ticks[2], ticks[3], ticks[4]
            """)
        await h.shutdown()
        #expect(values[0] == 4)
        for (i, tick) in values.dropFirst().enumerated() {
            let minutes = Double(i + 1)
            let at = tick.doubleValue ?? -1
            #expect(at >= 60 * minutes && at < 60 * minutes + 30, "tick \(i + 2) at \(at) simulated s")
        }
    }
}
