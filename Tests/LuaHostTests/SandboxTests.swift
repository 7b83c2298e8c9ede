import Testing
@testable import LuaHost

@Suite struct SandboxTests {
    @Test func refusesWhatEscapes() async throws {
        let runtime = try makeRuntime(.restricted)
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local results = {}
            local function check(name, f) local ok, err = pcall(f) results[#results + 1] = name .. "=" .. tostring(ok) end
            check("execute", function() return os.execute("true") end)
            check("popen", function() return io.popen("true") end)
            check("loadlib", function() return package.loadlib("libc.so.6", "puts") end)
            check("exit", function() return os.exit(3) end)
            check("getenv", function() return os.getenv("HOME") end)
            check("remove", function() return os.remove("/tmp/nothing") end)
            check("debug", function() return debug.traceback() end)
            check("requiredebug", function() return require("debug") end)
            check("write", function() return io.open("/tmp/moonmotion-sandbox-test", "w") end)
            check("append", function() return io.open("/tmp/moonmotion-sandbox-test", "a+") end)
            check("output", function() return io.output("/tmp/moonmotion-sandbox-test") end)
            check("binary", function() return assert(load(string.dump(function() end))) end)
            check("dump", function() return string.dump(print) end)
            check("read", function() local f = assert(io.open("/proc/self/status", "r")) local l = f:read("l") f:close() return l end)
            check("math", function() return math.floor(2.5) end)
            check("text", function() return assert(load("return 1"))() end)
            return table.concat(results, " "), package.cpath
            """)
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values == [
            "execute=false popen=false loadlib=false exit=false getenv=false remove=false debug=false requiredebug=false write=false append=false output=false binary=false dump=false read=true math=true text=true",
            "",
        ])
    }

    @Test func ioOpenForWritingExplainsItself() async throws {
        let runtime = try makeRuntime(.restricted)
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "local f = io.open('/tmp/x', 'w')", chunkName: "@w.lua")
        }
        #expect(error?.message == "w.lua:1: io.open: the sandbox opens files for reading only (mode 'r' or 'rb'), not 'w'")
    }

    @Test func instructionLimitStopsABusyLoop() async throws {
        let runtime = try makeRuntime(SandboxOptions(restrictsLibraries: true, instructionLimit: 1_000_000))
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "local n = 0 while true do n = n + 1 end", chunkName: "@loop.lua")
        }
        #expect(error?.kind == .instructionLimit)
        #expect(error?.message.hasPrefix("loop.lua:1: instruction limit exceeded") == true)
        let used = try await runtime.perform { state in state.instructionsUsed }
        #expect(used > 1_000_000 && used < 1_100_000)
    }

    @Test func instructionLimitCountsEveryCoroutine() async throws {
        let runtime = try makeRuntime(SandboxOptions(instructionLimit: 200_000))
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: """
                local mm = require "moonmotion"
                for i = 1, 10 do mm.spawn(function() for j = 1, 100000 do if j % 1000 == 0 then mm.yield() end end end) end
                """)
        }
        #expect(error?.kind == .instructionLimit)
    }

    @Test func timeLimitStopsBusyAndIdleScripts() async throws {
        let clock = ContinuousClock()
        let busy = try makeRuntime(SandboxOptions(timeLimit: 0.2))
        defer { busy.shutdown() }
        var start = clock.now
        let busyError = await #expect(throws: LuaError.self) {
            try await busy.run(source: "while true do end", chunkName: "@busy.lua")
        }
        #expect(busyError?.kind == .timeLimit)
        // Usually raised by the hook inside the loop (busy.lua:1: ...); on a loaded machine the
        // executor's deadline timer may fire before the loop starts.
        #expect(busyError?.message.hasSuffix("time limit exceeded (0.2 seconds, set by --timeout)") == true)
        #expect(clock.now - start < .seconds(30))  // a 0.2 s limit; generous for a loaded machine

        let idle = try makeRuntime(SandboxOptions(timeLimit: 0.2))
        defer { idle.shutdown() }
        start = clock.now
        let idleError = await #expect(throws: LuaError.self) {
            try await idle.run(source: "require('moonmotion').sleep(600)")
        }
        #expect(idleError?.kind == .timeLimit)
        #expect(clock.now - start < .seconds(30))  // a 0.2 s limit; generous for a loaded machine
    }

    @Test func timeLimitWhileWaitingSaysWhere() async throws {
        // The deadline is fired by hand once the script waits (a real one could fire before
        // the script gets there on a loaded machine); the limit itself is far away.
        let runtime = try makeRuntime(SandboxOptions(timeLimit: 600))
        defer { runtime.shutdown() }
        let run = Task {
            try await runtime.run(source: "local mm = require 'moonmotion'\nmm.spawn(function() mm.sleep(600) end)\nwaiting = true\nmm.sleep(600)\n", chunkName: "@idle.lua")
        }
        let clock = ContinuousClock()
        let start = clock.now
        while try await runtime.perform({ state in try state.global("waiting") }) != .boolean(true), clock.now - start < .seconds(60) {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await runtime.perform { _ in runtime.timeLimitReached() }
        let error = await #expect(throws: LuaError.self) { _ = try await run.value }
        #expect(error?.kind == .timeLimit)
        #expect(error?.message == "idle.lua:4: time limit exceeded (600 seconds, set by --timeout)")
        #expect(error?.traceback?.contains("idle.lua:4: in main chunk") == true, "\(error?.traceback ?? "")")
    }

    @Test func oneSecondIsSingular() async throws {
        let runtime = try makeRuntime(SandboxOptions(timeLimit: 1))
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) { try await runtime.run(source: "while true do end") }
        #expect(error?.message.hasSuffix("time limit exceeded (1 second, set by --timeout)") == true, "\(error?.message ?? "")")
    }

    @Test func packagePathHasEachTemplateOnce() {
        let path = LuaModulePath.searchPath(extraDirectories: [".", "/x", "."], environment: "/env/?.lua;./?.lua",
                                            defaultPath: "/usr/share/lua/5.4/?.lua;./?.lua;./?/init.lua")
        let templates = path.split(separator: ";").map(String.init)
        #expect(Set(templates).count == templates.count, "\(templates)")
        #expect(templates.first == "/env/?.lua" && templates[1] == "./?.lua")
        #expect(templates.contains("/x/?.lua") && templates.contains("/usr/share/lua/5.4/?.lua") && templates.contains("./?/init.lua"))
    }
}
