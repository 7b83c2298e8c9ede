#if canImport(Glibc)
import Glibc
#endif
import LuaHost
import Testing

/// Lets a test act once a script reached a point, instead of after a fixed delay (which a
/// loaded machine may not honour: an interrupt sent before the script runs stops it on its
/// first line). The script calls `mm.reached()`; the test waits for it, then for the script to
/// be waiting (`untilWaiting`) or spinning (`untilSpinning`).
final class ScriptProgress: Sendable {
    private let calls = DeinitCounter()   // used here as a plain atomic count
    private let runtime: LuaRuntime

    /// Adds `mm.reached()` to `runtime`'s moonmotion module.
    init(_ runtime: LuaRuntime) throws {
        self.runtime = runtime
        try runtime.extendMoonmotionModule { [calls] m in
            m.function("reached") { _ in
                calls.increment()
                return .values(0)
            }
        }
    }

    /// How many times the script called `mm.reached()`.
    var reached: Int { calls.value }

    /// Waits until the script called `mm.reached()` `times` times: the call itself resumes
    /// the wait. At most 60 s (a bound on a stuck script, recorded as an issue).
    func untilReached(_ times: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) async {
        if !(await calls.reaching(times, within: 60)) {
            Issue.record("the script did not reach mm.reached() \(times) time(s) within 60 s", sourceLocation: sourceLocation)
        }
    }

    /// Waits until the script called `mm.reached()` `times` times and then gave the executor
    /// back: a job queued behind the running Lua code only runs once it yields. A script (and
    /// each coroutine it spawns) that calls `mm.reached()` right before it waits — `mm.sleep`,
    /// native work — is then waiting.
    func untilWaiting(_ times: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) async {
        await untilReached(times, sourceLocation: sourceLocation)
        _ = try? await runtime.perform { _ in () }
    }

    /// Waits until the script reached `mm.reached()` and the Lua thread has since run `cpu`
    /// more seconds: a script that spins right after `mm.reached()` is then in its loop (the
    /// few instructions between take microseconds). At most 60 s, as `untilReached`. This one
    /// polls (every 5 ms): "has run 50 ms of CPU" is a measurement, and no event says it.
    func untilSpinning(cpu: Double = 0.05, sourceLocation: SourceLocation = #_sourceLocation) async {
        await untilReached(sourceLocation: sourceLocation)
        let base = luaThreadCPUSeconds()
        let start = ContinuousClock.now
        while luaThreadCPUSeconds() - base < cpu {
            if ContinuousClock.now - start > .seconds(60) {
                Issue.record("the Lua thread did not spin for \(cpu) s of CPU within 60 s", sourceLocation: sourceLocation)
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// CPU time the runtime's executor thread has used, in seconds.
    private func luaThreadCPUSeconds() -> Double {
        var clock = clockid_t()
        guard pthread_getcpuclockid(runtime.executor.threadID, &clock) == 0 else { return 0 }
        var now = timespec()
        guard clock_gettime(clock, &now) == 0 else { return 0 }
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
