import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import VCenterModel
import VCenterSimulator

/// Runs Lua strategies against a `SimulatedVCenter` on virtual time, through
/// `MigrationRunner` on the Lua executor, and collects what happened.
struct StrategyHarness {
    /// The checkout (for `examples/` and `stdlib/`).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `examples/<name>`.
    static func example(_ name: String) -> String { root + "/examples/" + name }

    let runtime: LuaRuntime
    let simulator: SimulatedVCenter

    /// A runtime with the checkout's stdlib and a simulator generated from `spec`.
    init(spec: String = "clusters=2,hosts=4,vms=48", faults: FaultInjection = FaultInjection(),
         configure: (inout SimulatorConfiguration) -> Void = { _ in }) throws {
        var config = SimulatorConfiguration()
        config.faults = faults
        configure(&config)
        try self.init(simulator: SimulatedVCenter(generating: spec, configuration: config))
    }

    /// A simulator over an inventory generated from `spec` with every VM moved to the first
    /// host (so hosts fill up and pro-active vMotions happen).
    static func allOnFirstHost(_ spec: String, faults: FaultInjection = FaultInjection()) throws -> SimulatedVCenter {
        let generated = try InventoryGenerator.generate(GenerateSpec(parsing: spec), referenceDate: Date())
        let first = generated.hosts[0].ref
        let vms = generated.vms.map { vm -> VMInfo in
            var vm = vm
            vm.host = first
            return vm
        }
        let inventory = Inventory(about: generated.about, datacenters: generated.datacenters, clusters: generated.clusters,
                                  hosts: generated.hosts, datastores: generated.datastores, vms: vms)
        var configuration = SimulatorConfiguration()
        configuration.faults = faults
        return try SimulatedVCenter(inventory: inventory, configuration: configuration)
    }

    /// A runtime with the checkout's stdlib over an existing simulator.
    init(simulator: SimulatedVCenter, sandbox: SandboxOptions = .none) throws {
        runtime = try LuaRuntime(options: .init(sandbox: sandbox, moduleDirectories: [Self.root + "/stdlib"]))
        // The stdlib's moonmotion.strategy reads the engine's names; without the bindings
        // (no connection here) they are installed on their own.
        try LuaStrategy.installNames(into: runtime)
        self.simulator = simulator
    }

    /// The strategy the script at `path` returns (it must return one).
    func strategy(path: String, params: [String: String] = [:]) async throws -> LuaStrategy {
        guard let strategy = try await LuaStrategy.fromScript(path: path, parameters: params, runtime: runtime) else {
            throw LuaStrategyError("\(path) returned no strategy table")
        }
        return strategy
    }

    /// The strategy `source` returns, written to a temporary file named `name` so messages
    /// carry a script location.
    func strategy(source: String, name: String = "strategy.lua", params: [String: String] = [:]) async throws -> LuaStrategy {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-strategy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent(name)
        try source.write(to: file, atomically: true, encoding: .utf8)
        return try await strategy(path: file.path, params: params)
    }

    /// The `select` field the strategy-setting tests share: every VM on a `legacy-*`
    /// datastore moves to the `new-*` ones.
    static let storageMoveSelect = #"select = function(inv) return require("moonmotion.strategy").storage_moves(inv, { from = "legacy-*", to = "new-*" }) end"#

    /// Why the strategy `source` does not load, as the operator reads it; "(loaded)" when it does.
    func loadError(source: String) async -> String {
        do {
            _ = try await strategy(source: source)
            return "(loaded)"
        } catch {
            return String(describing: error)
        }
    }

    /// Why a strategy of `storageMoveSelect` and `fields` does not load; "(loaded)" when it
    /// does. `library`: through the stdlib's `strategy.new {…}`, whose checks report the
    /// script's line (line 2: `fields` start on the line after `select`).
    func loadError(fields: String, library: Bool = false) async -> String {
        let source = library
            // Not `return strategy.new {…}`: a tail call leaves no caller line to report.
            ? "local strategy = require \"moonmotion.strategy\"\nlocal s = strategy.new { \(Self.storageMoveSelect),\n \(fields) }\nreturn s"
            : "return { \(Self.storageMoveSelect),\n \(fields) }"
        return await loadError(source: source)
    }

    /// The string global `name` after a run ("" when unset or not a string).
    func globalText(_ name: String) async throws -> String {
        let value = try await runtime.perform { state in try state.global(name) }
        if case .string(let s) = value { return s }
        return ""
    }

    /// What a run left behind.
    struct Outcome {
        var summary: RunSummary
        var stats: SimulatorStats
        var inventory: Inventory
        var events: [EngineEvent]

        /// Storage-move jobs by VM name.
        var storageJobs: [String: Job] {
            Dictionary(summary.jobs.filter { $0.kind.movesStorage && !$0.isProactive }.map { ($0.vmName, $0) }, uniquingKeysWith: { a, _ in a })
        }

        /// The names of the datastores `vm` is on now.
        func datastores(of vm: String) -> [String] {
            guard let info = inventory.vm(named: vm) else { return [] }
            return info.datastores.map { inventory.name(of: $0) }
        }
    }

    /// Runs `strategy` to its end (`recordEvents`: keep the runner's events in `Outcome.events`).
    func run(_ strategy: LuaStrategy, configuration: RunConfiguration = RunConfiguration(), recordEvents: Bool = true) async throws -> Outcome {
        let log = StrategyEventLog()
        var onEvent: (@Sendable (EngineEvent) -> Void)?
        if recordEvents { onEvent = { log.record($0) } }
        let runner = strategy.makeRunner(vcenter: simulator, configuration: configuration, onEvent: onEvent)
        let summary = try await runner.run()
        return Outcome(summary: summary, stats: simulator.stats, inventory: try await simulator.inventory(), events: log.all)
    }

    /// The dry-run plan of `strategy` (`--dry-run`): nothing starts.
    func dryRun(_ strategy: LuaStrategy, configuration: RunConfiguration = RunConfiguration()) async throws -> DryRunPlan {
        try await strategy.makeRunner(vcenter: simulator, configuration: configuration, onEvent: nil).plan()
    }

    func shutdown() {
        runtime.shutdown()
    }
}

/// Events from the runner's handler (called on the Lua executor).
final class StrategyEventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [EngineEvent] = []

    func record(_ event: EngineEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [EngineEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}
