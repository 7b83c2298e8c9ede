import Foundation
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
            "execute=false popen=false loadlib=false exit=false getenv=false remove=false debug=false requiredebug=false write=false append=false output=false binary=false dump=false read=false math=true text=true",
            "",
        ])
    }

    /// A directory with a script's neighbours, a password file, a link out and a file outside.
    static func files() throws -> (dir: String, outside: String) {
        let base = NSTemporaryDirectory() + "mm-sandbox-\(UUID().uuidString)"
        let dir = base + "/script", outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "a,b\n".write(toFile: dir + "/data.csv", atomically: true, encoding: .utf8)
        try "Sup3r-S3cret\n".write(toFile: dir + "/vc.pass", atomically: true, encoding: .utf8)
        try "return 'helper'\n".write(toFile: dir + "/helper.lua", atomically: true, encoding: .utf8)
        try "return 'outside'\n".write(toFile: outside + "/other.lua", atomically: true, encoding: .utf8)
        try "x\n".write(toFile: outside + "/notes.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: outside + "/notes.txt")
        return (dir, outside)
    }

    @Test func readsOnlyTheScriptsFilesThroughEveryReadingPath() async throws {
        let (dir, outside) = try Self.files()
        defer { try? FileManager.default.removeItem(atPath: dir + "/..") }
        let runtime = try LuaRuntime(options: .init(
            sandbox: SandboxOptions(restrictsLibraries: true, unreadablePaths: [dir + "/vc.pass"]),
            moduleDirectories: [dir], configuresModulePath: false))
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local dir, outside = ...
            local out = {}
            local function try(name, f)
              local ok, a, b = pcall(f)
              out[#out + 1] = name .. "=" .. (ok and tostring(a ~= nil and a or b) or ("error: " .. tostring(a)))
            end
            try("csv", function() local f = assert(io.open(dir .. "/data.csv")) local l = f:read("l") f:close() return l end)
            try("dotdot", function() return select(2, io.open(dir .. "/sub/../../outside/notes.txt")) end)
            try("link", function() return select(2, io.open(dir .. "/link")) end)
            try("password", function() return select(2, io.open(dir .. "/vc.pass")) end)
            try("environ", function() return select(2, io.open("/proc/self/environ")) end)
            try("lines", function() return io.lines(outside .. "/notes.txt") end)
            try("input", function() return io.input(outside .. "/notes.txt") end)
            try("loadfile", function() return select(2, loadfile(outside .. "/other.lua")) end)
            try("dofile", function() return dofile(outside .. "/other.lua") end)
            try("dofile-own", function() return dofile(dir .. "/helper.lua") end)
            try("searchpath", function() return select(2, package.searchpath("other", outside .. "/?.lua")) end)
            try("require", function() package.path = outside .. "/?.lua" return require("other") end)
            try("require-own", function() package.path = dir .. "/?.lua" return require("helper") end)
            try("missing", function() return select(2, io.open(dir .. "/nothing.txt")) end)
            return table.concat(out, " ## ")
            """, chunkName: "=t", arguments: [.string(dir), .string(outside)])
        let text = try await runtime.perform { _ in try refs[0].value().stringValue ?? "" }
        let lines = text.components(separatedBy: " ## ")
        #expect(lines.count == 14, "\(text)")
        func line(_ name: String) -> String { lines.first { $0.hasPrefix(name + "=") } ?? "" }
        #expect(line("csv") == "csv=a,b")
        for name in ["dotdot", "link", "password", "lines", "input", "loadfile", "dofile"] {
            #expect(line(name).contains("not readable in the sandbox, which reads only files under the script's directory"), "\(line(name))")
        }
        #expect(line("environ").hasSuffix("/proc/self/environ: not readable in the sandbox, which never reads /proc, /sys or /dev"))
        #expect(!text.contains("Sup3r-S3cret") && !text.contains("return 'outside'"))
        #expect(line("dofile-own") == "dofile-own=helper")
        #expect(line("searchpath").contains("/other.lua' (not readable in the sandbox)"), "\(line("searchpath"))")
        #expect(line("require").contains("module 'other' not found") && line("require").contains("(not readable in the sandbox)"), "\(line("require"))")
        #expect(line("require-own") == "require-own=helper")
        #expect(line("missing").hasSuffix("/nothing.txt: No such file or directory"), "\(line("missing"))")
    }

    @Test func allowReadAddsAPath() async throws {
        let (dir, outside) = try Self.files()
        defer { try? FileManager.default.removeItem(atPath: dir + "/..") }
        let runtime = try LuaRuntime(options: .init(
            sandbox: SandboxOptions(restrictsLibraries: true, readablePaths: [outside + "/notes.txt"]),
            moduleDirectories: [dir], configuresModulePath: false))
        defer { runtime.shutdown() }
        let refs = try await runtime.run(source: """
            local outside = ...
            local f = assert(io.open(outside .. "/notes.txt"))
            local l = f:read("l")
            f:close()
            return l, select(2, io.open(outside .. "/other.lua"))
            """, arguments: [.string(outside)])
        let values = try await runtime.perform { _ in try refs.map { try $0.value() } }
        #expect(values.first == .string("x"))
        #expect(values.count > 1 && values[1].stringValue?.contains("not readable in the sandbox") == true, "\(values)")
    }

    @Test func finalizersAreRefused() async throws {
        // Lua runs __gc with hooks off: `while true do end` in one would escape every limit.
        let runtime = try makeRuntime(SandboxOptions(restrictsLibraries: true, instructionLimit: 1_000_000))
        defer { runtime.shutdown() }
        let error = await #expect(throws: LuaError.self) {
            try await runtime.run(source: "setmetatable({}, {__gc = function() while true do end end})", chunkName: "@gc.lua")
        }
        #expect(error?.message.hasPrefix("gc.lua:1: setmetatable: the sandbox does not run finalizers (__gc)") == true, "\(error?.message ?? "")")
        let refs = try await runtime.run(source: "return getmetatable(setmetatable({}, {__index = {a = 1}})).__index.a")
        #expect(try await runtime.perform { _ in try refs[0].value() } == .integer(1))
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

    // Real time on purpose: the limit is a real deadline (0.2 s). Bounded by two minutes, not
    // the 600 s sleep, whatever the machine's load.
    @Test(.timeLimit(.minutes(2))) func timeLimitStopsBusyAndIdleScripts() async throws {
        let busy = try makeRuntime(SandboxOptions(timeLimit: 0.2))
        defer { busy.shutdown() }
        let busyError = await #expect(throws: LuaError.self) {
            try await busy.run(source: "while true do end", chunkName: "@busy.lua")
        }
        #expect(busyError?.kind == .timeLimit)
        // Usually raised by the hook inside the loop (busy.lua:1: ...); on a loaded machine the
        // executor's deadline timer may fire before the loop starts.
        #expect(busyError?.message.hasSuffix("time limit exceeded (0.2 seconds, set by --timeout)") == true)

        let idle = try makeRuntime(SandboxOptions(timeLimit: 0.2))
        defer { idle.shutdown() }
        let idleError = await #expect(throws: LuaError.self) {
            try await idle.run(source: "require('moonmotion').sleep(600)")
        }
        #expect(idleError?.kind == .timeLimit)
    }

    @Test func timeLimitWhileWaitingSaysWhere() async throws {
        // The deadline is fired by hand once the script waits (a real one could fire before
        // the script gets there on a loaded machine); the limit itself is far away.
        let runtime = try makeRuntime(SandboxOptions(timeLimit: 600))
        defer { runtime.shutdown() }
        let progress = try ScriptProgress(runtime)
        let run = Task {
            try await runtime.run(source: "local mm = require 'moonmotion'\nmm.spawn(function() mm.sleep(600) end)\nmm.reached()\nmm.sleep(600)\n", chunkName: "@idle.lua")
        }
        // mm.reached() right before the sleep: once the executor is free again, the script waits.
        await progress.untilWaiting()
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
