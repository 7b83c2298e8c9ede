// libFuzzer target for the Lua API surface (scripts/fuzz): each input becomes a script that
// calls Moonmotion's bindings with arguments of every type — numbers at the edges, huge
// strings, tables with metatables that raise in every metamethod, functions that yield or
// raise, coroutines, the engine's own objects — from the main chunk, from coroutines made
// with coroutine.wrap, from mm.spawn, and after tampering with the moonmotion module. Each
// call is protected (pcall): Lua errors are expected; a crash, a hang past the limits or a
// sanitizer report is a bug.
//
// Built with `FUZZING` defined and `--sanitize=fuzzer`, libFuzzer supplies `main`; otherwise
// `lua-api-fuzz FILE…` replays inputs and prints the script each one makes (`--print`).
import Foundation
import LuaBindings
import LuaHost
import VCenterModel
import VCenterSimulator

/// Turns fuzzer bytes into a Lua script over the bindings.
enum LuaFuzzScript {
    /// Argument expressions; `V[n]` are results of earlier calls, `H` a hostile table.
    static let values = [
        "nil", "true", "false", "0", "-1", "1.5", "math.huge", "-math.huge", "0/0", "math.mininteger", "math.maxinteger",
        "\"\"", "\"x\"", "string.rep(\"a\", 300)", "\"legacy-*\"", "\"new-*\"", "\"*\"", "\"vm-1\"", "\"VirtualMachine:vm-1\"",
        "\"Task:task-1\"", "\"app-c1-0001\"", "{}", "{1, 2, 3}", "{ datastore = \"new-*\" }", "{ async = true }",
        "{ timeout = 0 }", "{ datastore = H }", "{ disks = { [2000] = \"new-01\" } }", "{ format = \"eager\", datastore = \"new-01\" }",
        "H", "function() error(\"boom\") end", "function() coroutine.yield() end", "coroutine.create(function() end)",
        "print", "conn", "inv", "V[1]", "V[2]", "V[3]", "V[4]", "V[5]", "V[6]", "V[7]", "V[8]",
        "setmetatable({}, { __index = function() return H end })", "{ H, H }", "string.rep(\"\\0\", 64)",
    ]

    /// Call templates: `$A`, `$B`, `$C`, `$D` are replaced by argument expressions.
    static let calls = [
        "mm.connect($A)", "mm.connect()", "conn:vms($A)", "conn:vm($A)", "conn:hosts($A)", "conn:datastores($A)", "conn:clusters($A)",
        "conn:moveVM($A, $B, $C)", "conn:moveVM(conn:vms()[1], $B, { async = true })", "conn:consolidateDisks($A, $B)",
        "conn:removeSnapshot($A, $B, $C, $D)", "conn:getTask($A)", "conn:tasks($A)", "conn:invoke($A, $B, $C, $D)", "conn:inventory()",
        "conn:refresh()", "conn:about()", "mm.sleep($A)", "mm.spawn($A)", "mm.wait_all($A, $B)", "mm.wait_any($A, $B)", "mm.now()",
        "$A.name", "$A:refresh()", "$A:wait($B)", "$A:cancel()", "tostring($A)", "$A.disks", "$A.files", "$A.media", "$A.home",
        "$A.state", "$A.progress", "$A:on_done($B)", "inv:vms($A)", "inv:vm($A)", "inv.datastore_clusters",
        "strategy.storage_moves(inv, $A)", "strategy.storage_moves(inv, { from = $A, to = $B, map = $C, format = $D })",
        "setmetatable(mm, H)", "rawset(mm, $A, $B)", "coroutine.wrap(function() return conn:vms($A) end)()",
        "coroutine.wrap(function() return mm.sleep($A) end)()", "select(2, coroutine.resume(coroutine.create(function() return conn:moveVM($A, $B) end)))",
        "pcall(mm.connect, $A)", "getmetatable($A)", "#$A", "$A == $B", "$A .. $B",
    ]

    static func make(_ bytes: [UInt8]) -> String {
        var input = bytes.makeIterator()
        func next(_ n: Int) -> Int { Int(input.next() ?? 0) % n }
        var lines = [
            "local mm = require \"moonmotion\"",
            "local strategy = require \"moonmotion.strategy\"",
            "local H = setmetatable({}, { __index = function() error(\"i\") end, __newindex = function() error(\"n\") end,",
            "  __len = function() error(\"l\") end, __tostring = function() error(\"t\") end, __eq = function() error(\"e\") end,",
            "  __call = function() error(\"c\") end, __concat = function() error(\"cc\") end, __gc = function() error(\"g\") end,",
            "  __pairs = function() error(\"p\") end, __close = function() error(\"x\") end })",
            "local V = {}",
            "local conn = mm.connect()",
            "local inv = conn:inventory()",
        ]
        var slot = 1
        for _ in 0..<min(bytes.count / 6, 48) {
            var call = calls[next(calls.count)]
            for placeholder in ["$A", "$B", "$C", "$D"] {
                call = call.replacingOccurrences(of: placeholder, with: "(" + values[next(values.count)] + ")")
            }
            let wrap = next(4)
            let body = "local ok, r = pcall(function() return \(call) end) if ok and r ~= nil then V[\(slot)] = r end"
            switch wrap {
            case 0: lines.append("mm.spawn(function() \(body) end)")
            case 1: lines.append("pcall(coroutine.wrap(function() \(body) end))")
            default: lines.append(body)
            }
            slot = slot % 8 + 1
        }
        lines.append("collectgarbage()")
        return lines.joined(separator: "\n")
    }
}

/// Runs one script on a fresh runtime over a small simulated vCenter, within limits; returns
/// how the script ended (its error, or "ok").
@discardableResult
func runOnce(_ source: String) -> String {
    let done = DispatchSemaphore(value: 0)
    let outcome = OutcomeBox()
    Task {
        defer { done.signal() }
        do {
            let runtime = try LuaRuntime(options: .init(
                sandbox: SandboxOptions(restrictsLibraries: true, instructionLimit: 2_000_000, timeLimit: 2),
                moduleDirectories: [stdlibDirectory]))
            defer { runtime.shutdown() }
            let simulator = try SimulatedVCenter(generating: "clusters=1,hosts=2,vms=4,disks=1-2,iso=0.5,pods=1,seed=3")
            let connected = ConnectedVCenter(simulator, url: "simulated", isSimulated: true)
            let bindings = try LuaBindings.install(into: runtime, connector: { _ in connected })
            do {
                _ = try await runtime.run(source: source, chunkName: "=fuzz")
                outcome.set("ok")
            } catch {
                outcome.set("\(error)")
            }
            await bindings.closeAll()
        } catch {
            outcome.set("setup failed: \(error)")
        }
    }
    done.wait()
    return outcome.value
}

/// The outcome of a run, handed from its task to the waiting thread.
final class OutcomeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func set(_ value: String) { lock.lock(); text = value; lock.unlock() }
    var value: String { lock.lock(); defer { lock.unlock() }; return text }
}

/// The checkout's stdlib (next to the build folder), for `require "moonmotion.strategy"`.
let stdlibDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("stdlib").path
}()

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    runOnce(LuaFuzzScript.make(Array(UnsafeBufferPointer(start: data, count: size))))
    return 0
}
#else
@main
struct LuaAPIFuzzReplay {
    static func main() throws {
        let print = CommandLine.arguments.contains("--print")
        for path in CommandLine.arguments.dropFirst() where path != "--print" {
            let script = LuaFuzzScript.make([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            if print { Swift.print(script) }
            Swift.print("\(path): \(runOnce(script).prefix(200))")
        }
    }
}
#endif
