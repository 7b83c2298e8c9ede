import CLuaShim
import Testing
@testable import LuaHost

/// The counting allocator and `--max-memory` (`SandboxOptions.memoryLimit`): a script past the
/// limit fails with a clear error, the process never dies, Swift's own allocations are never
/// refused, and the state stays usable.
@Suite struct MemoryLimitTests {
    static let limit = 64 << 20

    @Test func aHugeStringFailsWithTheLimitAndItsLocation() async throws {
        let runtime = try makeRuntime(SandboxOptions(memoryLimit: Self.limit))
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "local x = 1\nlocal s = string.rep('x', 1 << 30)\nreturn #s", chunkName: "@big.lua")
        }
        #expect(error?.kind == .memory)
        #expect(error?.message.hasPrefix("big.lua:2: memory limit of 64 MiB reached (") == true, "\(error?.message ?? "")")
        #expect(error?.message.hasSuffix("in use, 1 GiB more asked; set by --max-memory)") == true, "\(error?.message ?? "")")
        #expect(error?.traceback?.contains("in function 'string.rep'") == true, "\(error?.traceback ?? "")")
        // The refused gigabyte was never taken.
        let (inUse, peak) = try await runtime.perform { state in (state.memoryInUse, state.memoryPeak) }
        #expect(inUse < Self.limit && peak <= Self.limit, "in use \(inUse), peak \(peak)")
        // The runtime runs the next script.
        let refs = try await runtime.run(source: "return 1 + 1")
        #expect(try await runtime.perform { _ in try refs[0].value() } == .integer(2))
    }

    @Test func aGrowingTableStopsAtTheLimitAndTheStateStaysUsable() async throws {
        let runtime = try makeRuntime(SandboxOptions(memoryLimit: Self.limit))
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "t = {}\nfor i = 1, 1e9 do t[i] = {i} end", chunkName: "@grow.lua")
        }
        #expect(error?.kind == .memory)
        #expect(error?.message.hasPrefix("grow.lua:2: memory limit of 64 MiB reached") == true, "\(error?.message ?? "")")
        // Lua stopped at the limit; the error report (host work, never refused) adds a little.
        let peak = try await runtime.perform { state in state.memoryPeak }
        #expect(peak <= Self.limit + 64 << 10 && peak > Self.limit / 2, "peak \(peak)")
        // Interactive use goes on: the table is still there, and freeing it frees the room.
        let line = try await runtime.perform { state in try state.load("local n = #t; t = nil; collectgarbage(); return n", chunkName: "=stdin") }
        let results = try await runtime.evaluate(line)
        let n = try await runtime.perform { _ in try results[0].value().intValue ?? 0 }
        #expect(n > 100_000)
        let after = try await runtime.perform { state in state.memoryInUse }
        #expect(after < 1 << 20, "in use after freeing: \(after)")
    }

    @Test func pcallCatchesItAndARethrowStillSaysWhatHappened() async throws {
        let runtime = try makeRuntime(SandboxOptions(memoryLimit: Self.limit))
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: "local ok, err = pcall(string.rep, 'x', 1 << 30) return ok, err")
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == [.boolean(false), .string("not enough memory")])
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "local ok, err = pcall(string.rep, 'x', 1 << 30)\nerror(err, 0)", chunkName: "@again.lua")
        }
        #expect(error?.kind == .memory)
        #expect(error?.message.contains("memory limit of 64 MiB reached") == true, "\(error?.message ?? "")")
    }

    @Test func swiftAllocationsAreNeverRefused() async throws {
        // A Swift function body runs with the window closed: it may push more than the limit
        // (a memory error there would longjmp across its frames). The script's next growth fails.
        let runtime = try makeRuntime(SandboxOptions(memoryLimit: 8 << 20))
        defer { runtime.shutdown() }
        try runtime.extendMoonmotionModule { m in
            m.function("big") { call in
                let bytes = [UInt8](repeating: 65, count: 16 << 20)
                bytes.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { mm_pushstring_n(call.L, $0.baseAddress, $0.count) }
                }
                return .values(1)
            }
        }
        let refs = try await runtime.run(source: "big = require('moonmotion').big() return #big")
        #expect(try await runtime.perform { _ in try refs[0].value() } == .integer(16 << 20))
        let inUse = try await runtime.perform { state in state.memoryInUse }
        #expect(inUse > 16 << 20)
        let error = await #expect(throws: LuaError.self) { try await runtime.run(source: "local t = {} for i = 1, 1e6 do t[i] = i end") }
        #expect(error?.kind == .memory)
    }

    @Test func hostCallsAndStrategyHooksAreLimitedToo() throws {
        // protectedCall (how strategy hooks are called) opens the window as well.
        let state = LuaState()
        state.memoryLimit = Self.limit
        let error = #expect(throws: LuaError.self) { try state.run("return string.rep('x', 1 << 30)", chunkName: "=hook") }
        #expect(error?.kind == .memory)
        #expect(error?.message.hasPrefix("memory limit of 64 MiB reached (") == true, "\(error?.message ?? "")")
        #expect(try state.run("return 40 + 2") == [.integer(42)])
        state.close()
    }

    @Test func noLimitByDefaultAndTheCountsAreExposed() throws {
        let state = LuaState()
        #expect(state.memoryLimit == nil)
        let before = state.memoryInUse
        #expect(before > 0)
        state.resetMemoryPeak()
        #expect(try state.run("local s = string.rep('x', 100 << 20) return #s") == [.integer(100 << 20)])
        #expect(state.memoryPeak >= before + 100 << 20)
        state.close()
    }

    @Test func sizesReadLikeTheyArePrinted() {
        #expect(LuaState.describeBytes(512) == "512 bytes")
        #expect(LuaState.describeBytes(64 << 20) == "64 MiB")
        #expect(LuaState.describeBytes(1 << 30) == "1 GiB")
        #expect(LuaState.describeBytes(1536 << 20) == "1.5 GiB")
        #expect(LuaState.describeBytes(26_112) == "25.5 KiB")
    }
}
