import CLuaShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The `moonmotion` module's core: `mm.sleep(seconds)`, `mm.yield()`, `mm.spawn(fn, ...)`,
// `mm.now()` (epoch seconds), `mm.version`. LuaBindings may replace `now`/`sleep` for a
// simulated clock with a later contribution.

/// The handle `mm.spawn` returns (`moonmotion.Coroutine`): `h:join()` / `h:wait()` wait for
/// the coroutine and return its results (or raise its error); `h:status()` tells where it is.
final class LuaCoroutineHandle: LuaUserdata {
    static let luaTypeName = "Coroutine"
    let coroutine: LuaCoroutine

    init(_ coroutine: LuaCoroutine) { self.coroutine = coroutine }

    static func describeLuaType(_ type: inout LuaTypeBuilder<LuaCoroutineHandle>) {
        let join: LuaTypeBuilder<LuaCoroutineHandle>.Method = { call, handle in
            guard let scheduler = call.state.scheduler else { throw LuaFailure("no scheduler") }
            return try scheduler.join(handle.coroutine, call: call)
        }
        type.method("join", join)
        type.method("wait", join)
        type.method("status") { call, handle in
            call.push(handle.statusName)
            return .values(1)
        }
        type.field("id") { call, handle in
            call.push(handle.coroutine.id)
            return .values(1)
        }
        type.tostring { handle in "moonmotion.Coroutine #\(handle.coroutine.id) (\(handle.statusName))" }
    }

    var statusName: String {
        switch coroutine.status {
        case .created, .ready: "ready"
        case .running: "running"
        case .parked: "waiting"
        case .finished:
            if case .failed = coroutine.outcome { "failed" } else { "finished" }
        }
    }
}

extension LuaRuntime {
    /// Adds functions, values or userdata to the `moonmotion` module (`require
    /// "moonmotion"`). Blocks until applied on the executor. LuaBindings adds `connect`,
    /// `wait_all`, ... this way.
    public func extendMoonmotionModule(_ contribution: @escaping (LuaModuleBuilder) throws -> Void) throws {
        try performConfined { state in try state.addModule("moonmotion", contribution) }
    }

    /// Adds `mm.<name>`: a Swift async function taking and returning plain values. Each call
    /// parks the calling coroutine while `body` runs as a Swift Task; the Task is cancelled
    /// if the run fails or is interrupted first.
    public func registerAsync(_ name: String, _ body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue]) throws {
        try extendMoonmotionModule { module in module.asyncFunction(name, body) }
    }

    func installMoonmotionModule(in state: LuaState) throws {
        let executor = self.executor
        try state.addModule("moonmotion") { m in
            m.set("version", .string(MoonmotionVersion.current))

            m.function("sleep") { call in
                let seconds = call.isNoneOrNil(1) ? 0 : try call.number(1)
                guard seconds.isFinite else { throw LuaArgumentError(1, "seconds must be a finite number") }
                if seconds <= 0 { return try call.yieldToScheduler() }
                return try call.suspend { completion in
                    let timer = executor.schedule(afterScriptSeconds: seconds) { completion.resume() }
                    return { timer.cancel() }
                }
            }

            m.function("yield") { call in
                try call.yieldToScheduler()
            }

            m.function("spawn") { call in
                guard lua_type(call.L, 1) == LUA_TFUNCTION else { throw LuaArgumentError(1, expected: "function") }
                guard let scheduler = call.state.scheduler else { throw LuaFailure("mm.spawn needs the Moonmotion runtime") }
                let n = call.argumentCount
                let co = scheduler.spawn(from: call.L, functionIndex: 1, argumentIndices: n >= 2 ? 2...n : nil,
                                         isSpawned: true, keepsResults: true)
                call.push(LuaCoroutineHandle(co))
                return .values(1)
            }

            m.function("now") { call in
                var ts = timespec()
                clock_gettime(CLOCK_REALTIME, &ts)
                call.push(Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9)
                return .values(1)
            }
        }
    }
}

extension LuaModuleBuilder {
    /// Sets `name` to a Swift async function of plain values (see `LuaRuntime.registerAsync`).
    public func asyncFunction(_ name: String, _ body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue]) {
        function(name) { call in
            let arguments = try call.allArguments()
            return try call.suspend { completion in
                let task = Task {
                    do {
                        completion.resume(returning: try await body(arguments))
                    } catch {
                        completion.resume(throwing: error)
                    }
                }
                return { task.cancel() }
            }
        }
    }
}

/// Moonmotion's version string (`mm.version`).
public enum MoonmotionVersion {
    /// The current version.
    public static let current = "0.1.0"
}
