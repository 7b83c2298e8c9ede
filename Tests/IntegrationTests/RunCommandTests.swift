import Foundation
import Testing
import TestSupport

/// What a finished `moonmotion` process left behind.
struct ProcessOutcome {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// When `runMoonmotion` sends SIGINT: once the script shows it reached the point the test
/// interrupts, never after a fixed delay (on a loaded machine the process may not even have
/// installed its Ctrl-C handler after a second, and the default action kills it).
enum InterruptPoint {
    /// Once stdout holds `marker` and the process has since used `cpu` more seconds of CPU:
    /// a script that prints the marker just before a busy loop is then spinning in it (its
    /// few instructions between the two take microseconds, far below `cpu`).
    case spinningAfter(String, cpu: Double = 0.1)
    /// Once stdout holds `marker` and every thread of the process is asleep: a script that
    /// prints the marker just before `mm.sleep` is then waiting in it.
    case waitingAfter(String)

    var marker: String {
        switch self {
        case .spinningAfter(let m, _), .waitingAfter(let m): return m
        }
    }
}

/// The environment a `moonmotion` under test runs with: the test process's, without
/// `MOONMOTION_PATH`, with `MOONMOTION_INSECURE_HTTP=1` — the test vCenter (`TestVCenter`)
/// serves plain HTTP unless started with `tls`, and moonmotion refuses http:// otherwise —
/// and then `overrides` (`"MOONMOTION_INSECURE_HTTP": ""` to see the refusal).
func moonmotionEnvironment(_ overrides: [String: String]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "MOONMOTION_PATH")
    env["MOONMOTION_INSECURE_HTTP"] = "1"
    for (k, v) in overrides { env[k] = v }
    return env
}

/// Runs the built `moonmotion` with `arguments`, feeding `input` on stdin, in `directory`.
/// `interrupt` sends SIGINT when the script reaches that point. Gives up after `timeout`
/// seconds (recorded as an issue): a bound on a hung process, not a wait for anything.
/// `shell`: run it through `sh -c shell sh moonmotion arguments…` instead (the script runs it
/// as `"$@"`), to measure it from outside.
func runMoonmotion(_ arguments: [String], input: String = "", directory: URL? = nil,
                   environment: [String: String] = [:], interrupt: InterruptPoint? = nil,
                   timeout: Double = 60, shell: String? = nil) async throws -> ProcessOutcome {
    let process = Process()
    if let shell {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", shell, "sh", try moonmotionBinary().path] + arguments
    } else {
        process.executableURL = try moonmotionBinary()
        process.arguments = arguments
    }
    if let directory { process.currentDirectoryURL = directory }
    process.environment = moonmotionEnvironment(environment)
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mm-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let inURL = scratch.appendingPathComponent("in"), outURL = scratch.appendingPathComponent("out"),
        errURL = scratch.appendingPathComponent("err")
    try input.write(to: inURL, atomically: true, encoding: .utf8)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    process.standardInput = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    let start = Date()
    var interrupted = false
    var cpuAtMarker: Double?   // the process's CPU time when the marker was first seen
    while !process.hasEnded {
        let elapsed = Date().timeIntervalSince(start)
        if let interrupt, !interrupted {
            let pid = process.processIdentifier
            if cpuAtMarker == nil, (try? String(contentsOf: outURL, encoding: .utf8))?.contains(interrupt.marker) == true {
                cpuAtMarker = ProcessProbe.cpuSeconds(pid)
            }
            if let base = cpuAtMarker {
                let reached: Bool
                switch interrupt {
                case .spinningAfter(_, let cpu): reached = (ProcessProbe.cpuSeconds(pid) ?? 0) - base >= cpu
                case .waitingAfter: reached = ProcessProbe.allThreadsAsleep(pid)
                }
                if reached {
                    kill(pid, SIGINT)
                    interrupted = true
                }
            }
        }
        if elapsed > timeout {
            Issue.record("moonmotion \(arguments) did not finish within \(timeout) s")
            break
        }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    let status = await reapChild(process, what: "moonmotion \(arguments)")
    return ProcessOutcome(
        status: status,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// The exit status of `process`, ending it first if it still runs (SIGTERM, then SIGKILL),
/// without ever blocking the cooperative pool: `waitUntilExit` would, and it never returns
/// when Foundation misses a child's end under heavy load (two such waits once stalled the
/// whole suite). -1 (recorded as an issue) when no end is seen even after SIGKILL.
func reapChild(_ process: Process, what: String) async -> Int32 {
    func ended(within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !process.hasEnded {
            if Date() > deadline { return false }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return true
    }
    if !process.hasEnded {
        process.terminate()
        if !(await ended(within: 10)) {
            kill(process.processIdentifier, SIGKILL)
            if !(await ended(within: 10)) {
                Issue.record("\(what): no end seen even after SIGKILL")
                return -1
            }
        }
    }
    // Not `endStatus` alone: between the child's end and Foundation's `terminationStatus`
    // there is a moment when Foundation has reaped it (`waitid` then says ECHILD) and
    // `isRunning` is still true, and the status read nil (the README demo's test once got
    // -1 that way). `ended(within:)` waits out that moment.
    return await process.ended(within: 10) ?? -1
}

/// A fresh directory with the given files, removed by the caller.
func scriptDirectory(_ files: [String: String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-scripts-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, text) in files {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return dir
}

@Suite struct RunCommandTests {
    @Test func runsAScriptWithParamsAndArgs() async throws {
        let dir = try scriptDirectory([
            "hello.lua": """
                local mm = require "moonmotion"
                local helper = require "helper"          -- next to the script
                local pretty = require "moonmotion.pretty" -- the checkout's stdlib
                local h = mm.spawn(function(n) mm.sleep(0.01) return n * 2 end, 21)
                print(params.datastore, params.limit, arg[0], arg[1], arg[2], select("#", ...), helper.greet())
                print(pretty.format({ joined = h:wait() }))
                """,
            "helper.lua": "return { greet = function() return 'hi' end }",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "hello.lua", "datastore=new-01", "limit=4", "--", "x", "--y"], directory: dir)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "new-01\t4\thello.lua\tx\t--y\t2\thi\n{ joined = 42 }\n")
        #expect(outcome.stderr.isEmpty)
    }

    @Test func failureExitsOneWithLocationAndTraceback() async throws {
        let dir = try scriptDirectory([
            "fail.lua": """
                local mm = require "moonmotion"
                local function check(n)
                  if n > 2 then error("too many: " .. n) end
                end
                for i = 1, 5 do check(i) end
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "fail.lua"], directory: dir)
        #expect(outcome.status == 1)
        let lines = outcome.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "fail.lua:3: too many: 3")
        #expect(lines.dropFirst().first == "stack traceback:")
        #expect(outcome.stderr.contains("fail.lua:5: in main chunk"))
    }

    @Test func errorInSpawnedCoroutineFailsTheRun() async throws {
        let dir = try scriptDirectory([
            "spawn.lua": """
                local mm = require "moonmotion"
                mm.spawn(function() mm.sleep(0.01) error("worker broke") end)
                mm.sleep(30)
                print("not reached")
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "spawn.lua"], directory: dir, timeout: 20)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix("spawn.lua:2: worker broke\nstack traceback:"))
        #expect(!outcome.stdout.contains("not reached"))
    }

    @Test func ctrlCInterruptsABusyLoop() async throws {
        let dir = try scriptDirectory(["busy.lua": "print('started') io.stdout:flush()\nlocal n = 0\nwhile true do n = n + 1 end\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "busy.lua"], directory: dir, interrupt: .spinningAfter("started\n"), timeout: 60)
        #expect(outcome.status == 130)
        #expect(outcome.stderr.hasPrefix("busy.lua:"))
        #expect(outcome.stderr.contains(": interrupted\nstack traceback:"))
    }

    @Test func ctrlCInterruptsAWaitingScript() async throws {
        let dir = try scriptDirectory([
            "idle.lua": "local mm = require 'moonmotion'\nmm.spawn(function() mm.sleep(600) end)\nprint('started') io.stdout:flush() mm.sleep(600)\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "idle.lua"], directory: dir, interrupt: .waitingAfter("started\n"), timeout: 60)
        #expect(outcome.status == 130)
        #expect(outcome.stderr.contains("interrupted"))
    }

    /// A hook that stops a managed coroutine by yielding makes Lua rewind its saved position;
    /// the report must still name the loop's own line (here line 4, never line 3).
    @Test func ctrlCNamesTheLineOfTheLoop() async throws {
        let dir = try scriptDirectory([
            "busy.lua": "print('started') io.stdout:flush()\nlocal n = 0\nlocal m = 1\nwhile true do end\n",
            "worker.lua": """
                print('started') io.stdout:flush() local mm = require "moonmotion"
                mm.spawn(function()
                  local x = 0
                  while true do end
                end)
                mm.sleep(600)
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        // Interrupted once the loop spins: a Ctrl-C right after the print could land on line 2 or 3.
        let outcome = try await runMoonmotion(["run", "busy.lua"], directory: dir, interrupt: .spinningAfter("started\n"), timeout: 60)
        #expect(outcome.status == 130)
        #expect(outcome.stderr.hasPrefix("busy.lua:4: interrupted\nstack traceback:"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("\n\tbusy.lua:4: in main chunk"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("busy.lua:3:"), "\(outcome.stderr)")
        let spawned = try await runMoonmotion(["run", "worker.lua"], directory: dir, interrupt: .spinningAfter("started\n"), timeout: 60)
        #expect(spawned.status == 130)
        #expect(spawned.stderr.hasPrefix("worker.lua:4: interrupted\nstack traceback:"), "\(spawned.stderr)")
        #expect(!spawned.stderr.contains("worker.lua:3:"), "\(spawned.stderr)")
    }

    @Test func timeoutNamesTheLineBusyOrWaiting() async throws {
        let dir = try scriptDirectory([
            "spin.lua": "local n = 0\nlocal m = 1\nlocal k = 2\nwhile true do end\n",
            "idle.lua": "local mm = require 'moonmotion'\nlocal n = 0\nlocal function wait() mm.sleep(600) end\nwait()\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        // Limits long enough for the script to reach its loop or wait even on a loaded machine.
        let busy = try await runMoonmotion(["run", "--timeout", "3", "spin.lua"], directory: dir, timeout: 30)
        #expect(busy.status == 1)
        #expect(busy.stderr.hasPrefix("spin.lua:4: time limit exceeded (3 seconds, set by --timeout)\nstack traceback:"), "\(busy.stderr)")
        #expect(!busy.stderr.contains("spin.lua:3:"), "\(busy.stderr)")
        // While the script waits, the stop says where it waited, with a traceback.
        let idle = try await runMoonmotion(["run", "--timeout", "3", "idle.lua"], directory: dir, timeout: 30)
        #expect(idle.status == 1)
        #expect(idle.stderr.hasPrefix("idle.lua:3: time limit exceeded (3 seconds, set by --timeout)\nstack traceback:"), "\(idle.stderr)")
        #expect(idle.stderr.contains("idle.lua:4: in main chunk"), "\(idle.stderr)")
    }

    @Test func packagePathListsEachTemplateOnce() async throws {
        let dir = try scriptDirectory(["path.lua": "print(package.path)"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "path.lua"], directory: dir)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let templates = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").map(String.init)
        #expect(templates.contains("./?.lua") && templates.contains { $0.hasSuffix("/stdlib/?.lua") }, "\(templates)")
        #expect(Set(templates).count == templates.count, "duplicates in \(templates)")
    }

    @Test func sandboxAndLimits() async throws {
        let dir = try scriptDirectory([
            "escape.lua": "os.execute('touch /tmp/mm-sandbox-escape')",
            "spin.lua": "while true do end",
            "ok.lua": "print(os.execute == nil, io.popen == nil, package.loadlib == nil, os.exit == nil, debug == nil, params.x)",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let escape = try await runMoonmotion(["run", "--sandbox", "escape.lua"], directory: dir)
        #expect(escape.status == 1)
        #expect(escape.stderr.hasPrefix("escape.lua:1: attempt to call a nil value (field 'execute')"))
        let ok = try await runMoonmotion(["run", "--sandbox", "ok.lua", "x=1"], directory: dir)
        #expect(ok.stdout == "true\ttrue\ttrue\ttrue\ttrue\t1\n")
        let counted = try await runMoonmotion(["run", "--max-instructions", "100000", "spin.lua"], directory: dir)
        #expect(counted.status == 1)
        #expect(counted.stderr.hasPrefix("spin.lua:1: instruction limit exceeded (100000 instructions, set by --max-instructions)"))
        let timed = try await runMoonmotion(["run", "--timeout", "0.5", "spin.lua"], directory: dir, timeout: 20)
        #expect(timed.status == 1)
        #expect(timed.stderr.hasPrefix("spin.lua:1: time limit exceeded (0.5 seconds, set by --timeout)"))
    }

    @Test func maxMemoryEndsTheScriptWithStatusOne() async throws {
        let dir = try scriptDirectory([
            "big.lua": "local s = string.rep('x', 1 << 30)\nprint(#s)",
            "grow.lua": "local t = {}\nfor i = 1, 1e9 do t[i] = {i} end",
            "small.lua": "print(#string.rep('x', 1 << 20))",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = try await runMoonmotion(["run", "--max-memory", "64MiB", "big.lua"], directory: dir, environment: noVCenter)
        #expect(big.status == 1)
        #expect(big.stderr.hasPrefix("big.lua:1: memory limit of 64 MiB reached ("), "\(big.stderr)")
        #expect(big.stderr.contains("1 GiB more asked; set by --max-memory)"), "\(big.stderr)")
        let grow = try await runMoonmotion(["run", "--max-memory", "64MiB", "grow.lua"], directory: dir, environment: noVCenter)
        #expect(grow.status == 1)
        #expect(grow.stderr.hasPrefix("grow.lua:2: memory limit of 64 MiB reached ("), "\(grow.stderr)")
        // The sandbox's default (1 GiB) stops the gigabyte string too; below it all is well.
        let sandboxed = try await runMoonmotion(["run", "--sandbox", "big.lua"], directory: dir, environment: noVCenter)
        #expect(sandboxed.status == 1)
        #expect(sandboxed.stderr.hasPrefix("big.lua:1: memory limit of 1 GiB reached ("), "\(sandboxed.stderr)")
        let small = try await runMoonmotion(["run", "--max-memory", "64MiB", "small.lua"], directory: dir, environment: noVCenter)
        #expect(small.status == 0 && small.stdout == "1048576\n", "\(small.stderr)")
        let bad = try await runMoonmotion(["run", "--max-memory", "lots", "small.lua"], directory: dir, environment: noVCenter)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("'lots' is not a size"), "\(bad.stderr)")
    }

    @Test func sandboxReadsOnlyTheScriptsOwnFiles() async throws {
        let outside = try scriptDirectory(["notes.txt": "outside the script's directory\n"])
        defer { try? FileManager.default.removeItem(at: outside) }
        let secret = "Sup3r-S3cret-\(UUID().uuidString.prefix(8))"
        let dir = try scriptDirectory([
            "vc.pass": secret + "\n",
            "data.csv": "vm,datastore\n",
            "read.lua": """
                local function show(name, path)
                  local f, err = io.open(path)
                  if f then print(name, f:read("l")) f:close() else print(name, err) end
                end
                show("csv", "data.csv")
                show("environ", "/proc/self/environ")
                show("password", "vc.pass")
                show("outside", params.outside .. "/notes.txt")
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(
            ["run", "--sandbox", "--password-file", "vc.pass", "read.lua", "outside=\(outside.path)"],
            directory: dir, environment: noVCenter)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(outcome.stdout)")
        #expect(lines.first == "csv\tvm,datastore")
        #expect(lines.contains("environ\t/proc/self/environ: not readable in the sandbox, which never reads /proc, /sys or /dev"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("password\tvc.pass: not readable in the sandbox") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("outside\t\(outside.path)/notes.txt: not readable in the sandbox") }, "\(lines)")
        #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret))
        // --allow-read opens one more place; without --sandbox it means nothing and is refused.
        let allowed = try await runMoonmotion(
            ["run", "--sandbox", "--allow-read", outside.path, "read.lua", "outside=\(outside.path)"], directory: dir, environment: noVCenter)
        #expect(allowed.stdout.contains("outside\toutside the script's directory"), "\(allowed.stdout)\(allowed.stderr)")
        let unsandboxed = try await runMoonmotion(["run", "--allow-read", outside.path, "read.lua"], directory: dir, environment: noVCenter)
        #expect(unsandboxed.status == 64 && unsandboxed.stderr.contains("--allow-read widens what --sandbox lets a script read"), "\(unsandboxed.stderr)")
    }

    @Test func argHidesTheCommandLineFromASandboxedScript() async throws {
        let dir = try scriptDirectory(["arg.lua": "local t = {} for i = -5, 1 do t[#t + 1] = tostring(arg[i]) end print(table.concat(t, ' '))"])
        defer { try? FileManager.default.removeItem(at: dir) }
        // An unreachable vCenter: the script never connects, the URL is only on the command line.
        let url = "https://admin:Sup3r-S3cret@127.0.0.1:9/sdk"
        let sandboxed = try await runMoonmotion(["run", "--sandbox", "--url", url, "arg.lua", "--", "one"], directory: dir)
        #expect(sandboxed.status == 0, "\(sandboxed.stderr)")
        #expect(sandboxed.stdout == "nil nil nil nil nil arg.lua one\n", "\(sandboxed.stdout)")
        // Outside the sandbox the command line is there as `lua` gives it, without the password.
        let plain = try await runMoonmotion(["run", "--url", url, "arg.lua", "--", "one"], directory: dir)
        #expect(plain.stdout.contains("run --url https://admin@127.0.0.1:9/sdk arg.lua one"), "\(plain.stdout)")
        #expect(!plain.stdout.contains("Sup3r-S3cret") && !sandboxed.stdout.contains("Sup3r-S3cret"))
    }

    @Test func usageErrorsExplainThemselves() async throws {
        let dir = try scriptDirectory(["s.lua": "print(1)"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let bare = try await runMoonmotion(["run", "s.lua", "oops"], directory: dir)
        #expect(bare.status == 64)
        #expect(bare.stderr.contains("'oops' is not a name=value parameter"))
        let late = try await runMoonmotion(["run", "s.lua", "--sandbox"], directory: dir)
        #expect(late.status == 64)
        #expect(late.stderr.contains("options go before it"))
        let missing = try await runMoonmotion(["run", "nope.lua"], directory: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot open nope.lua"))
    }

    @Test func moonmotionPathIsSearchedFirst() async throws {
        let lib = try scriptDirectory(["mylib/tools.lua": "return { answer = 42 }"])
        let dir = try scriptDirectory(["use.lua": "print(require('mylib.tools').answer)"])
        defer {
            try? FileManager.default.removeItem(at: lib)
            try? FileManager.default.removeItem(at: dir)
        }
        let outcome = try await runMoonmotion(["run", "use.lua"], directory: dir, environment: ["MOONMOTION_PATH": lib.path + "/?.lua"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == "42\n")
    }

    @Test func helpExplainsEveryCommand() async throws {
        let root = try await runMoonmotion(["--help"])
        #expect(root.status == 0)
        for word in ["run", "repl", "MOONMOTION_PATH"] { #expect(root.stdout.contains(word)) }
        let run = try await runMoonmotion(["run", "--help"])
        for word in ["name=value", "--sandbox", "--timeout", "--max-instructions", "Exit status", "130"] {
            #expect(run.stdout.contains(word), "run --help lacks \(word)")
        }
        let repl = try await runMoonmotion(["repl", "--help"])
        for word in ["history", "Tab", "not a terminal"] { #expect(repl.stdout.contains(word), "repl --help lacks \(word)") }
        // Every command's help is clean text: no Swift interpolation or line continuation left
        // in it (a backslash ends a line only in a shell example that continues).
        for command in [[], ["run"], ["plan"], ["repl"], ["inventory"], ["tasks"]] {
            let help = try await runMoonmotion(command + ["--help"])
            #expect(help.status == 0, "\(command) --help: exit \(help.status)")
            #expect(!help.stdout.contains("\\("), "\(command) --help shows an interpolation")
            let stray = help.stdout.split(separator: "\n").filter { $0.hasSuffix("\\") && !$0.contains("moonmotion ") }
            #expect(stray.isEmpty, "\(command) --help: lines ending in a backslash: \(stray)")
        }
    }
}
