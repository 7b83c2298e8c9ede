import Foundation
import LuaBindings
import LuaHost
import VCenterModel
import VCenterSimulator

/// The vCenter a strategy runs against (`moonmotion run`): the configured server (flags or
/// `GOVC_*`), or — with none configured, or `--simulate` — the built-in simulator on scaled time: a generated
/// (or loaded) inventory whose clock runs fast enough that the demo ends in about a minute.
struct Backend: Sendable {
    /// The backend.
    let vcenter: any VCenter
    /// The simulator when the run is simulated.
    let simulator: SimulatedVCenter?
    /// Where it is, for titles: `https://vc01/sdk` or `simulated vCenter`.
    let name: String
    /// The first line of a simulated run's output (nil for a real vCenter).
    let banner: String?

    /// Whether the run is against the built-in simulator.
    var isSimulated: Bool { simulator != nil }

    /// The simulator's inventory when none is asked for: a few clusters and hundreds of VMs.
    static let demoSpecText = "clusters=3,hosts=8,vms=600"
    /// About how long (real seconds) the default demo takes.
    static let demoSeconds = 60.0

    /// The backend for a run: the configured vCenter, or the simulator built from
    /// `options` (`--generate`, `--inventory`, `--speed`). Throws a one-line error.
    static func make(connection: ConnectionOptions, options: StrategyRunOptions) async throws -> Backend {
        if connection.isServerConfigured {
            if options.generate != nil || options.inventory != nil || options.speed != nil || !options.arrays.isEmpty {
                throw BackendError("--generate, --inventory, --speed and --array choose the built-in simulator, but a vCenter is configured (--url or GOVC_URL); drop them, or pass --simulate (or unset GOVC_URL) to simulate")
            }
            let connected = try await connection.connect()
            return Backend(vcenter: connected.vcenter, simulator: nil, name: connected.url, banner: nil)
        }
        let (simulator, source, speed) = try simulator(inventoryFile: options.inventory, generate: options.generate, speed: options.speed, arrays: options.arrays)
        let why = connection.simulate ? "--simulate" : "no vCenter configured (--url or GOVC_URL)"
        let banner = "moonmotion: \(why) — running against a simulated vCenter "
            + "(\(source): \(describe(simulator.inventorySnapshot)), \(speedText(speed))× time)"
        return Backend(vcenter: simulator, simulator: simulator, name: "simulated vCenter (\(speedText(speed))× time)", banner: banner)
    }

    /// The built-in simulator on scaled time, the same for every command (`run`, `repl`,
    /// `inventory --simulate`, a script's `mm.connect()`): the inventory of `inventoryFile`,
    /// else generated from `generate` (default `demoSpecText`), at `speed` (default: the demo's,
    /// `demoSpeed`), with the shared-bandwidth storage `arrays` (`--array`). Returns it with a
    /// word for its source and its speed.
    static func simulator(inventoryFile: String? = nil, generate: String? = nil, speed: Double? = nil, arrays: [String] = []) throws
        -> (simulator: SimulatedVCenter, source: String, speed: Double) {
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let (inventory, source) = try loadInventory(file: inventoryFile, generate: generate ?? demoSpecText, referenceDate: start)
        var configuration = SimulatorConfiguration()
        configuration.startTime = start
        configuration.progressUpdates = 10
        configuration.arrays = arrays.compactMap { try? StorageArray(parsing: $0) }   // checked in validate()
        let speed = speed ?? demoSpeed(for: inventory, configuration: configuration)
        configuration.clock = .scaled(speed: speed)
        return (try SimulatedVCenter(inventory: inventory, configuration: configuration, source: source), source, speed)
    }

    /// The inventory of a simulation: the JSON file `file` (`moonmotion inventory --json`)
    /// when given, else one generated from `generate`. Returns it with a word for its source.
    static func loadInventory(file: String?, generate: String, referenceDate: Date) throws -> (Inventory, String) {
        if let file {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw BackendError("cannot read the inventory file \(file): \(error.localizedDescription)")
            }
            do {
                return (try Inventory(jsonData: data), "inventory \((file as NSString).lastPathComponent)")
            } catch {
                throw BackendError("\(file) is not a moonmotion inventory (write one with `moonmotion inventory --json > \(file)`): \(error)")
            }
        }
        let spec: GenerateSpec
        do {
            spec = try GenerateSpec(parsing: generate)
        } catch {
            throw BackendError("--generate \(generate): \(error)")
        }
        return (try InventoryGenerator.generate(spec, referenceDate: referenceDate), "generated")
    }

    /// `3 clusters, 24 hosts, 600 VMs`.
    static func describe(_ inventory: Inventory) -> String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        return "\(plural(inventory.clusters.count, "cluster")), \(plural(inventory.hosts.count, "host")), \(plural(inventory.vms.count, "VM"))"
    }

    /// A speed at which moving every VM, half of each cluster's usable hosts copying at
    /// once, takes about `demoSeconds`: the busiest cluster's Σ(setup + size ÷ rate) ÷ slots,
    /// rounded to two significant digits, at least 1.
    static func demoSpeed(for inventory: Inventory, configuration: SimulatorConfiguration) -> Double {
        let rate = configuration.storageVMotionRateMBps * 1_048_576
        var seconds: [MoRef?: Double] = [:]
        for vm in inventory.vms {
            seconds[vm.cluster, default: 0] += configuration.storageVMotionOverhead + (rate > 0 ? Double(vm.committedBytes) / rate : 0)
        }
        var longest = 0.0
        for (cluster, total) in seconds {
            let hosts = cluster.map { inventory.hosts(in: $0) } ?? inventory.hosts.filter { $0.cluster == nil }
            let usable = hosts.filter(\.isUsable).count
            longest = max(longest, total / Double(max(1, usable / 2)))
        }
        let raw = longest / demoSeconds
        guard raw > 1 else { return 1 }
        let magnitude = pow(10, floor(log10(raw)) - 1)
        return (raw / magnitude).rounded() * magnitude
    }

    /// `120`, `1.5`.
    static func speedText(_ speed: Double) -> String {
        speed == speed.rounded() && speed < 1e15 ? String(Int(speed)) : String(speed)
    }

    /// Makes the scripts' clock the simulator's: `mm.now()` reads it, so strategies that age
    /// things (`strategy.snapshots_older_than`) see the simulated time, and `mm.sleep` and
    /// wait timeouts count simulated seconds.
    static func followSimulatedClock(_ simulator: SimulatedVCenter, in runtime: LuaRuntime) throws {
        try LuaBindings.useSimulatedClock(simulator, in: runtime)
    }

    /// Logs out of a real vCenter (stops a simulator's clock).
    func close() async {
        await vcenter.close()
    }
}

/// A backend that cannot be set up, as one line for stderr.
struct BackendError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
