import Foundation
import Synchronization
import Testing
@testable import LuaHost

@Suite struct LuaRuntimeTests {
    @Test func mainChunkReturnsValuesAfterSpawnedCoroutinesFinish() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local order = {}
            local h = mm.spawn(function(a, b)
              mm.sleep(0.02)
              order[#order + 1] = "spawned"
              return a + b, "done"
            end, 1, 2)
            order[#order + 1] = "main"
            local sum, word = h:join()
            order[#order + 1] = "joined"
            return sum, word, table.concat(order, ","), h:status()
            """, chunkName: "@main.lua")
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == [3, "done", "main,spawned,joined", "finished"])
    }

    @Test func tenThousandCoroutinesOnNativeSleeps() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local handles, results = {}, {}
            for i = 1, 10000 do
              handles[i] = mm.spawn(function()
                local slept = mm.sleep(0.001 * (i % 50))
                results[i] = i * 2
                return i
              end)
            end
            local sum, ok = 0, 0
            for i = 1, 10000 do
              local v = handles[i]:join()
              if v == i and results[i] == i * 2 then ok = ok + 1 end
              sum = sum + results[i]
            end
            return ok, sum
            """)
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == [10000, .integer(10000 * 10001)])
    }

    @Test func tenThousandCoroutinesOnASwiftAsyncFunction() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        try runtime.registerAsync("double") { args in
            let n = args.first?.intValue ?? 0
            try await Task.sleep(for: .milliseconds(n % 5))
            return [.integer(n * 2), .string("n=\(n)")]
        }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local ok = 0
            for i = 1, 10000 do
              mm.spawn(function()
                local d, label = mm.double(i)
                if d == 2 * i and label == "n=" .. i then ok = ok + 1 end
              end)
            end
            while ok < 10000 and mm.now() do mm.sleep(0.005) end
            return ok
            """)
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == [10000])
    }

    @Test func asyncErrorsAreRaisedInTheWaitingCoroutine() async throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "the vCenter said no" } }
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        try runtime.registerAsync("refuse") { _ in throw Refused() }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local ok, err = pcall(mm.refuse)
            local ok2, err2 = pcall(function()
              mm.refuse()
            end)
            return ok, err, err2
            """, chunkName: "@refuse.lua")
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == [false, "the vCenter said no", "refuse.lua:4: the vCenter said no"])
    }

    @Test func registryReferencesReturnToZeroAfterAScript() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        try runtime.registerAsync("echo") { args in args }
        let before = try await runtime.perform { state in state.liveReferenceCount }
        var refs: [LuaRef]? = try await runtime.run(source: """
            local mm = require "moonmotion"
            local hs = {}
            for i = 1, 200 do
              hs[i] = mm.spawn(function() mm.sleep(0.001) return mm.echo(i, "x") end)
            end
            for i = 1, 200 do assert(hs[i]:join() == i) end
            return "done"
            """)
        #expect(refs?.count == 1)
        refs = nil
        let after = try await runtime.perform { state in
            _ = try state.run("collectgarbage() collectgarbage()")
            return state.liveReferenceCount
        }
        #expect(before == 0)
        #expect(after == 0)
        #expect(try await runtime.perform { _ in runtime.liveCoroutineCount } == 0)
    }

    // Bounded (not the 600 s sleeps: the error ends the run at once); two minutes for a loaded machine.
    @Test(.timeLimit(.minutes(2))) func scriptErrorCancelsPendingWorkAndRunsCleanup() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let cleanups = DeinitCounter()
        let taskCancellations = DeinitCounter()
        try runtime.extendMoonmotionModule { m in
            m.function("wait_forever") { call in
                try call.suspend { _ in { cleanups.increment() } }
            }
        }
        try runtime.registerAsync("long") { _ in
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                taskCancellations.increment()
                throw error
            }
            return []
        }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: """
                local mm = require "moonmotion"
                for i = 1, 3 do mm.spawn(function() mm.wait_forever() end) end
                mm.spawn(function() mm.long() end)
                mm.spawn(function() mm.sleep(600) end)
                mm.sleep(0.01)
                error("strategy failed")
                """, chunkName: "@fail.lua")
        }
        #expect(error?.message == "fail.lua:6: strategy failed")
        #expect(cleanups.value == 3)
        // The Swift task of mm.long() learns of its cancellation on its own thread: its
        // catch is the event this waits for (60 s bounds a cancellation that never comes).
        #expect(await taskCancellations.reaching(1, within: 60))
        #expect(taskCancellations.value == 1)
        #expect(try await runtime.perform { _ in runtime.liveCoroutineCount } == 0)
    }

    @Test func errorInSpawnedCoroutineFailsTheRunWithItsTraceback() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: """
                local mm = require "moonmotion"
                local function worker(n)
                  mm.sleep(0.001)
                  if n == 3 then error("worker " .. n .. " broke") end
                end
                for n = 1, 5 do mm.spawn(worker, n) end
                mm.sleep(10)
                """, chunkName: "@workers.lua")
        }
        #expect(error?.message == "workers.lua:4: worker 3 broke")
        #expect(error?.line == 4)
        #expect(error?.traceback?.contains("workers.lua:4: in") == true)
    }

    @Test func yieldAcrossACBoundaryIsAClearError() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local _, a = pcall(table.sort, { 3, 1, 2 }, function(x, y) mm.sleep(0) return x < y end)
            local _, b = pcall(function()
              return string.gsub("abc", "%w", function(ch) mm.sleep(0.01) end)
            end)
            -- (metamethods called from Lua may wait: Lua 5.4 lets them yield)
            local _, c = pcall(coroutine.wrap(function() mm.sleep(0.01) end))
            return a, b, c
            """, chunkName: "@c.lua")
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values.count == 3, "\(values)")
        #expect(values[0].stringValue?.hasPrefix("c.lua:2: mm.sleep cannot wait here: it was called across a C boundary") == true)
        #expect(values[1].stringValue?.hasPrefix("c.lua:4: mm.sleep cannot wait here: it was called across a C boundary") == true, "\(values[1])")
        #expect(values[2].stringValue?.hasPrefix("c.lua:7: mm.sleep cannot wait here: it was called from a coroutine Moonmotion does not manage") == true, "\(values[2])")
    }

    // Bounded: not the 600 s sleep; two minutes for a loaded machine.
    @Test(.timeLimit(.minutes(2))) func resumingAParkedCoroutineFromLuaIsRefused() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local co
            local h = mm.spawn(function() co = coroutine.running() mm.sleep(600) end)
            mm.yield()
            local ok, err = coroutine.resume(co)
            local jok, jerr = pcall(h.join, h)
            return ok, err, jok, h:status()
            """, chunkName: "@r.lua")
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values.count == 4)
        #expect(values[0] == false)
        #expect(values[1].stringValue?.contains("mm.sleep was waiting for native work and was resumed by coroutine.resume") == true)
        #expect(values[2] == false)
        #expect(values[3] == "failed")
    }

    @Test func plainCoroutineYieldInTheMainChunkActsLikeMmYield() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local mm = require "moonmotion"
            local seen = {}
            mm.spawn(function() seen[#seen + 1] = "spawned" end)
            local r = coroutine.yield("ignored")
            seen[#seen + 1] = "main"
            -- coroutines created by the script still work as usual
            local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
            return table.concat(seen, ","), r, gen() + gen() + gen()
            """)
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == ["spawned,main", nil, 6])
    }

    @Test(.interruptsPureLuaLoop) func interruptStopsABusyLoop() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        Task.detached {
            await progress.untilSpinning()
            runtime.interrupt()
        }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "require('moonmotion').reached() local n = 0 while true do n = n + 1 end", chunkName: "@busy.lua")
        }
        #expect(error?.kind == .interrupted)
        #expect(error?.message == "busy.lua:1: interrupted")
    }

    @Test("interrupts from other threads at random instants of call-heavy code (frames pushed and freed, coroutines made and collected) never crash and stop the run")
    func interruptsFromOtherThreadsAreSafe() async throws {
        // Each round's instant is a seeded delay (0–8 ms, the seed in every message; set
        // MM_TEST_SEED to replay) after the script signalled it runs, so every round is
        // interrupted mid-run: the loop runs for seconds of CPU (4,000 of its rounds take
        // 0.14 s), an end that only bounds a lost interrupt, which then fails the round.
        let seed = ProcessInfo.processInfo.environment["MM_TEST_SEED"].flatMap(UInt64.init) ?? 0x1A7E_5EED
        var state = seed
        for round in 0..<20 {
            let runtime = try makeRuntime()
            let progress = try ScriptProgress(runtime)
            // SplitMix64: the round's delay from the seed.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            let delay = (z ^ (z >> 31)) % 8_000_001
            Task.detached {
                await progress.untilReached()
                try await Task.sleep(nanoseconds: delay)
                runtime.interrupt()
            }
            let error = await #expect(throws: LuaError.self, "round \(round), seed \(seed)") {
                _ = try await runtime.run(source: """
                    local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
                    require("moonmotion").reached()
                    for round = 1, 200000 do
                      local t = {}
                      for i = 1, 50 do t[i] = deep(i) end
                      local co = coroutine.wrap(function() for i = 1, 10 do coroutine.yield(deep(i)) end end)
                      for i = 1, 10 do co() end
                      collectgarbage("step")
                    end
                    """, chunkName: "@calls.lua")
            }
            #expect(error?.kind == .interrupted, "round \(round), seed \(seed), delay \(delay) ns: \(String(describing: error))")
            runtime.shutdown()
            runtime.interrupt()   // after shutdown: ignored, no crash
        }
    }

    @Test(.interruptsPureLuaLoop) func interruptNamesTheLoopsLineNotTheOneBefore() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        // Once the loop spins: an interrupt right after mm.reached() could land on line 2 or 3.
        Task.detached {
            await progress.untilSpinning()
            runtime.interrupt()
        }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "require('moonmotion').reached()\nlocal b = 2\nlocal n = 0\nwhile true do end\n", chunkName: "@busy.lua")
        }
        #expect(error?.kind == .interrupted)
        #expect(error?.message == "busy.lua:4: interrupted")
        #expect(error?.line == 4)
        #expect(error?.traceback?.contains("\n\tbusy.lua:4: in main chunk") == true, "\(error?.traceback ?? "")")
    }

    @Test func interruptStopsABusyLoopThatCatchesErrors() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        Task.detached {
            await progress.untilSpinning()
            runtime.interrupt()
        }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "require('moonmotion').reached() while true do pcall(function() local x = 0 for i = 1, 1e6 do x = x + i end end) end")
        }
        #expect(error?.kind == .interrupted)
    }

    @Test func interruptWhileIdleCancelsWaits() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let cleanups = DeinitCounter()
        try runtime.extendMoonmotionModule { m in
            m.function("wait_forever") { call in try call.suspend { _ in { cleanups.increment() } } }
        }
        let progress = try ScriptProgress(runtime)
        // Once both wait: the spawned coroutine in wait_forever, the main chunk in mm.sleep.
        Task.detached {
            await progress.untilWaiting(2)
            runtime.interrupt()
        }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "local mm = require 'moonmotion' mm.spawn(function() mm.reached() mm.wait_forever() end) mm.reached() mm.sleep(600)")
        }
        #expect(error?.kind == .interrupted)
        #expect(error?.message == "interrupted")
        #expect(cleanups.value == 1)
    }

    @Test func interactiveEvaluationKeepsBackgroundCoroutines() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let background = ErrorBox()
        let reported = DeinitCounter()
        runtime.setBackgroundErrorHandler { error in
            background.error = error
            reported.increment()
        }
        func evaluate(_ line: String) async throws -> [LuaValue] {
            let function = try await runtime.perform { state in try state.load(line, chunkName: "=stdin") }
            let refs = try await runtime.evaluate(function)
            return try await runtime.perform { _ in try refs.map { try $0.value() } }
        }
        let progress = try ScriptProgress(runtime)
        // A line that spawns work returns at once; the work goes on between lines.
        _ = try await evaluate("""
            mm = require 'moonmotion' counter = 0 go = false
            mm.spawn(function() while not go do mm.sleep(0.002) end for i = 1, 5 do mm.sleep(0.001) counter = counter + 1 end mm.reached() end)
            """)
        #expect(try await evaluate("mm.spawn(function() while not go do mm.sleep(0.002) end error('background boom') end) return counter") == [0])
        #expect(try await evaluate("go = true return counter") == [0])
        // The background work ends with mm.reached() and the failing coroutine with its
        // report: wait for both events (60 s bounds a stuck coroutine).
        await progress.untilReached()
        #expect(await reported.reaching(1, within: 60))
        #expect(try await evaluate("return counter") == [5])
        #expect(reported.value == 1)
        #expect(background.error?.message == "stdin:1: background boom")
        let failing = try await runtime.perform { state in try state.load("error('line failed')", chunkName: "=stdin") }
        let error = await #expect(throws: LuaError.self) { try await runtime.evaluate(failing) }
        #expect(error?.message == "stdin:1: line failed")
    }
}

@Suite struct LuaRuntimeEdgeTests {
    @Test func hugeSleepsAreCancelledNotOverflowed() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        Task.detached {
            await progress.untilWaiting()
            runtime.interrupt()
        }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "local mm = require('moonmotion') mm.reached() mm.sleep(1e300)")
        }
        #expect(error?.kind == .interrupted)
        // An interrupt stays requested until cleared (the REPL clears it before each entry).
        let stale = await #expect(throws: LuaError.self) { try await runtime.run(source: "return 1") }
        #expect(stale?.kind == .interrupted)
        try await runtime.perform { _ in runtime.clearInterrupt() }
        let bad = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "require('moonmotion').sleep(math.huge)", chunkName: "@inf.lua")
        }
        #expect(bad?.message == "inf.lua:1: bad argument #1 to 'sleep' (seconds must be a finite number)")
    }

    @Test func performRunsOnTheExecutorFromAnyThread() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let onExecutor = try await runtime.perform { _ in runtime.executor.isCurrent }
        #expect(onExecutor)
        let value = try runtime.performSync { state in try state.run("return 6 * 7") }
        #expect(value == [42])
        #expect(runtime.executor.isCurrent == false)
    }
}

/// An actor that runs on the Lua executor and calls Lua synchronously (how the migration
/// runner uses a Lua strategy).
private actor LuaSideActor {
    let runtime: LuaRuntime
    init(runtime: LuaRuntime) { self.runtime = runtime }
    nonisolated var unownedExecutor: UnownedSerialExecutor { runtime.executor.asUnownedSerialExecutor() }

    func evaluate(_ source: String) throws -> [LuaValue] {
        try runtime.assumeOnExecutor { state in try state.run(source) }
    }
}

@Suite struct LuaExecutorActorTests {
    @Test func anActorCanShareTheLuaExecutor() async throws {
        let runtime = try makeRuntime()
        defer { runtime.shutdown() }
        let actor = LuaSideActor(runtime: runtime)
        #expect(try await actor.evaluate("answer = 40 + 2 return answer") == [42])
        #expect(try await runtime.perform { state in try state.global("answer") } == 42)
    }
}
