import LuaHost
import VCenterModel

/// The Lua API for vCenter (docs/LUA.md): `mm.connect{...}` and the `Connection`, `VM`,
/// `Host`, `Datastore`, `Cluster`, `Inventory` and `Task` userdata, plus `mm.wait_all` and
/// `mm.wait_any`. The executable installs it into each runtime with its connector (flags,
/// environment, simulator fallback); LuaBindings never talks to a backend module directly.
public final class LuaBindings: Sendable {
    private let registry = ConnectionRegistry()
    private let connector: VCenterConnector

    private init(connector: @escaping VCenterConnector) {
        self.connector = connector
    }

    /// Adds `connect`, `wait_all` and `wait_any` to the runtime's `moonmotion` module, and
    /// the engine's names the stdlib's strategy checks use (`LuaStrategy.installNames`).
    /// Keep the returned value to log out every connection a script left open
    /// (`closeAll()`) when the run ends.
    @discardableResult
    public static func install(into runtime: LuaRuntime, connector: @escaping VCenterConnector) throws -> LuaBindings {
        let bindings = LuaBindings(connector: connector)
        let executor = runtime.executor
        try runtime.extendMoonmotionModule { module in
            module.function("connect") { call in try bindings.connect(call, executor: executor) }
            module.function("wait_all") { call in try TaskWaits.waitAll(call) }
            module.function("wait_any") { call in try TaskWaits.waitAny(call) }
        }
        try LuaStrategy.installNames(into: runtime)
        try installFaultMetatable(in: runtime)
        return bindings
    }

    /// The registry key of the metatable of the fault tables scripts get (`t:wait`,
    /// `mm.wait_any`/`wait_all`, `t.error`, a failed synchronous call's `err`).
    static let faultMetatableKey = "moonmotion.Fault"

    /// Registers the fault tables' metatable (`faultMetatable(on:)`).
    static func installFaultMetatable(in runtime: LuaRuntime) throws {
        try runtime.performSync { state in _ = try faultMetatable(on: LuaThreadStack(state: state)) }
    }

    /// The one metatable of every fault table a script sees — `t:wait`'s, `mm.wait_any`/
    /// `wait_all`'s, `t.error`, a failed synchronous call's and the strategy hooks' `err` —
    /// made on first use and kept in the registry under `faultMetatableKey`: `__tostring` reads
    /// the table's own fields raw (`Timeout: web-01 … did not end within 30 s`; a script may
    /// have changed them, and nothing may raise), and `__metatable` so a script can neither
    /// read nor replace it.
    static func faultMetatable(on slot: LuaThreadStack) throws -> LuaRef {
        try slot.registryValue(faultMetatableKey) {
            try slot.newTable(fields: 3)
            slot.push(function: "fault.__tostring") { call in
                call.push(LuaStrategy.describeFailure(table: 1, on: call))
                return .values(1)
            }
            slot.setRawField("__tostring")
            slot.push("moonmotion.Error")
            slot.setRawField("__name")
            slot.push("moonmotion.Error")
            slot.setRawField("__metatable")
        }
    }

    /// Logs out every connection still open (the script ended without `conn:close()`).
    public func closeAll() async {
        for vcenter in registry.takeAll() { await vcenter.close() }
    }

    /// Wraps an already connected backend as a `moonmotion.Connection` and sets it as the
    /// global `name` (the REPL's `conn`). Runs on the executor; blocks until done.
    public func setGlobalConnection(_ connected: ConnectedVCenter, named name: String, in runtime: LuaRuntime) throws {
        let registry = self.registry
        let executor = runtime.executor
        let box = ExecutorBound(connected)
        try runtime.performSync { state in
            state.setGlobal(name, object: LuaConnection(box.value, executor: executor, registry: registry))
        }
        if let clock = connected.vcenter as? any VirtualTimeVCenter { try LuaBindings.useSimulatedClock(clock, in: runtime) }
    }

    /// `mm.connect{url=, username=, password=, insecure=, thumbprint=, connect_timeout=, read_timeout=}` → `Connection`.
    private func connect(_ call: LuaCall, executor: LuaExecutor) throws -> LuaReturn {
        var request = ConnectRequest()
        switch call.type(1) {
        case .none, .nil: break
        case .string: request.url = try call.string(1)
        case .table:
            let options = try call.table(1)
            let allowed = ["url", "username", "password", "insecure", "thumbprint", "connect_timeout", "read_timeout"]
            for key in options.fields.keys where !allowed.contains(key) {
                throw LuaArgumentError(1, "unknown option '\(key)' (connect takes \(allowed.joined(separator: ", ")))")
            }
            func text(_ key: String) throws -> String? {
                switch options[key] {
                case .nil: return nil
                case .string(let s): return s
                default: throw LuaArgumentError(1, "\(key) must be a string")
                }
            }
            request.url = try text("url")
            request.username = try text("username")
            request.password = try text("password")
            request.thumbprint = try text("thumbprint")
            switch options["insecure"] {
            case .nil: break
            case .boolean(let b): request.insecure = b
            default: throw LuaArgumentError(1, "insecure must be true or false")
            }
            func seconds(_ key: String) throws -> Double? {
                let value: Double
                switch options[key] {
                case .nil: return nil
                case .integer(let n): value = Double(n)
                case .number(let x): value = x
                default: throw LuaArgumentError(1, "\(key) must be a number of seconds")
                }
                guard value.isFinite, value > 0 else { throw LuaArgumentError(1, "\(key) must be a number of seconds above 0") }
                return value
            }
            request.connectTimeout = try seconds("connect_timeout")
            request.readTimeout = try seconds("read_timeout")
        default:
            throw LuaArgumentError(1, expected: "table of connection options", actual: call.typeName(1))
        }
        let connector = self.connector
        let registry = self.registry
        let finalRequest = request
        let runtime = ExecutorBound(call.runtime)
        return try call.suspend { completion in
            let task = Task {
                do {
                    let connected = try await connector(finalRequest)
                    if completion.isCancelled {
                        await connected.vcenter.close()
                        return
                    }
                    completion.resume(pushing: { call in
                        let connection = LuaConnection(connected, executor: executor, registry: registry)
                        if let clock = connected.vcenter as? any VirtualTimeVCenter, let runtime = runtime.value {
                            try LuaBindings.useSimulatedClock(clock, in: runtime)
                        }
                        call.push(connection)
                        return .values(1)
                    })
                } catch {
                    completion.resume(throwing: error)
                }
            }
            return { task.cancel() }
        }
    }

    /// Once a script is connected to a simulator, its clock is the scripts' one clock (LUA.md):
    /// `mm.now()` reads it, and `mm.sleep` and wait timeouts count its seconds (a simulator on
    /// scaled time runs `clockSpeed` × faster than real time).
    public static func useSimulatedClock(_ clock: any VirtualTimeVCenter, in runtime: LuaRuntime) throws {
        runtime.executor.scriptClockSpeed = clock.clockSpeed ?? 1
        try runtime.extendMoonmotionModule { module in
            module.function("now") { call in
                call.push(clock.now.timeIntervalSince1970)
                return .values(1)
            }
        }
    }
}
