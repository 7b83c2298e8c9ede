import LuaHost
import Testing

/// The executor's timers on a manual clock (`LuaRuntime.Options.manualClock`): `mm.sleep`
/// and the `--timeout` deadline fire exactly when `advanceClock(by:)` reaches them, in
/// deadline order, and never on their own — however slow the machine, no test sleeps.
/// (Bounded: a timer that never fires would leave a run waiting forever.)
@Suite(.timeLimit(.minutes(3))) struct LuaManualClockTests {
    static func makeRuntime(_ sandbox: SandboxOptions = .none) throws -> LuaRuntime {
        try LuaRuntime(options: .init(sandbox: sandbox, configuresModulePath: false, manualClock: true))
    }

    @Test func sleepsFireInDeadlineOrderWhenTheClockReachesThem() async throws {
        let runtime = try Self.makeRuntime()
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        let run = Task {
            try await runtime.run(source: """
                local mm = require 'moonmotion'
                order = ""
                for _, s in ipairs({24, 10, 20}) do mm.spawn(function() mm.sleep(s) order = order .. s .. ";" end) end
                mm.reached()
                mm.sleep(25)
                return order
                """)
        }
        // mm.reached() comes right before the main chunk's sleep: every timer is armed then.
        await progress.untilWaiting()
        func order() async throws -> LuaValue { try await runtime.perform { state in try state.global("order") } }
        #expect(try await order() == "", "nothing fires until the clock moves")
        await runtime.executor.advanceClock(by: 9.5)
        #expect(try await order() == "")
        await runtime.executor.advanceClock(by: 0.5)
        #expect(try await order() == "10;", "a timer fires when the clock reaches its deadline")
        await runtime.executor.advanceClock(by: 15)
        // Past 20, 24 and 25 at once: they fire in deadline order, the main chunk's last.
        let refs = try await run.value
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == ["10;20;24;"])
    }

    @Test func theTimeLimitFiresAtItsDeadlineWhileTheScriptWaits() async throws {
        let runtime = try Self.makeRuntime(SandboxOptions(timeLimit: 600))
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        let run = Task {
            try await runtime.run(source: """
                local mm = require 'moonmotion'
                mm.spawn(function() while true do mm.sleep(100) ticks = (ticks or 0) + 1 end end)
                mm.reached()
                mm.sleep(3600)
                """, chunkName: "@idle.lua")
        }
        await progress.untilWaiting()
        await runtime.executor.advanceClock(by: 599.5)
        // Alive through five 100 s ticks: the limit did not fire early.
        #expect(try await runtime.perform { state in try state.global("ticks") } == 5)
        await runtime.executor.advanceClock(by: 0.5)
        let error = await #expect(throws: LuaError.self) { _ = try await run.value }
        #expect(error?.kind == .timeLimit)
        #expect(error?.message == "idle.lua:4: time limit exceeded (600 seconds, set by --timeout)")
    }
}
