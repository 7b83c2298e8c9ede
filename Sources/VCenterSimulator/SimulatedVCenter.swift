import Foundation
import Locking
import VCenterModel

/// An in-process vCenter: a generated or loaded inventory, tasks whose durations follow
/// a rate model, ESXi's limits on simultaneous migrations (excess work waits in state
/// `queued`, as on a real vCenter), injected failures and delays, and a virtual or
/// scaled clock. It implements the whole `VCenter` protocol, so the engine and Lua
/// strategies run against it unchanged; `stats` tells what happened.
///
/// With the virtual clock nothing happens until `advance(to:)`; task updates are applied
/// to the `LiveTask`s on the caller's thread, in time order, before `advance` returns.
/// With a scaled clock a background thread applies them when they are due.
/// Thread-safe.
public final class SimulatedVCenter: VirtualTimeVCenter {
    /// `simulated vCenter (generated: 3 clusters, 24 hosts, 3000 VMs)`.
    public let displayName: String
    /// The configuration it was created with.
    public let configuration: SimulatorConfiguration

    private let core: Locked<SimulationCore>
    let aboutInfo: AboutInfo
    private let realStart: ContinuousClock.Instant
    private let speed: Double?
    private let driver: ScaledClockDriver?

    /// A simulator over `inventory` (for example decoded from `moonmotion inventory --json`
    /// with `Inventory(jsonData:)`). `source` names it in `displayName`. Throws
    /// `SimulatorConfigurationError` for an unusable configuration (a negative rate, an
    /// injected failure naming a VM that does not exist, …).
    public init(inventory: Inventory, configuration: SimulatorConfiguration = SimulatorConfiguration(), source: String = "inventory") throws {
        let state = try SimulationCore(inventory: inventory, config: configuration)
        self.core = Locked(state)
        self.configuration = configuration
        let about = inventory.about
        self.aboutInfo = AboutInfo(
            name: "VMware vCenter Server (simulated)", fullName: "Moonmotion simulated vCenter \(about?.version ?? "8.0.2")",
            version: about?.version ?? "8.0.2", build: "simulated", apiVersion: about?.apiVersion ?? "8.0.2.0",
            apiType: "VirtualCenter", instanceUuid: Self.simulatedIdentity(about?.instanceUuid))
        let hosts = inventory.hosts.count, clusters = inventory.clusters.count, vms = inventory.vms.count
        var name = "simulated vCenter (\(source): \(clusters) cluster\(clusters == 1 ? "" : "s"), \(hosts) host\(hosts == 1 ? "" : "s"), \(vms) VM\(vms == 1 ? "" : "s")"
        if case .scaled(let speed) = configuration.clock {
            let text = speed == speed.rounded() ? String(Int(speed)) : String(speed)
            name += "; time \(text)× faster than real"
            self.speed = speed
            self.driver = ScaledClockDriver()
        } else {
            self.speed = nil
            self.driver = nil
        }
        self.displayName = name + ")"
        self.realStart = ContinuousClock.now
        driver?.start(self)
    }

    /// The simulator's `about.instanceUuid`: never the identity of the vCenter its inventory
    /// was read from (`moonmotion inventory --json`), so a journal of a simulated run is never
    /// taken for one of that vCenter's (`--resume` checks the identity). `simulated:` and the
    /// inventory's, or `simulated` alone.
    static func simulatedIdentity(_ inventoryUUID: String?) -> String {
        guard let uuid = inventoryUUID, !uuid.isEmpty else { return "simulated" }
        return uuid.hasPrefix("simulated") ? uuid : "simulated:" + uuid
    }

    /// A simulator over an inventory generated from `spec` (snapshot ages relative to
    /// `configuration.startTime`).
    public convenience init(generating spec: GenerateSpec, configuration: SimulatorConfiguration = SimulatorConfiguration()) throws {
        let inventory = try InventoryGenerator.generate(spec, referenceDate: configuration.startTime)
        try self.init(inventory: inventory, configuration: configuration, source: "generated")
    }

    /// A simulator over an inventory generated from a `--generate` spec such as
    /// `clusters=3,hosts=8,vms=3000,from=legacy,to=new`. Throws `GenerateSpecError`
    /// for a bad spec.
    public convenience init(generating specText: String, configuration: SimulatorConfiguration = SimulatorConfiguration()) throws {
        try self.init(generating: try GenerateSpec(parsing: specText), configuration: configuration)
    }

    deinit {
        driver?.stop()
    }

    // MARK: Time

    /// Whether time only moves through `advance(to:)` (false for a scaled clock).
    public var isVirtualTime: Bool { speed == nil }

    /// The scaled clock's speed (simulated seconds per real second), nil for a virtual clock.
    public var clockSpeed: Double? { speed }

    /// Simulated seconds since the start, from the real clock (scaled mode).
    private func scaledSeconds() -> Double? {
        guard let speed else { return nil }
        let elapsed = ContinuousClock.now - realStart
        let (seconds, attoseconds) = elapsed.components
        return (Double(seconds) + Double(attoseconds) * 1e-18) * speed
    }

    /// The simulator's clock (its task times are on it).
    public func currentTime() async throws -> Date { now }

    public var now: Date {
        let t = core.withLock { $0.now }
        return configuration.startTime.addingTimeInterval(max(t, scaledSeconds() ?? t))
    }

    public var nextEventTime: Date? {
        core.withLock { s in s.nextEventTime().map { s.date($0) } }
    }

    /// Applies every event due by `time`, in time order; `now` becomes `time` (never
    /// earlier than it was). Each event's task updates reach the `LiveTask`s (and their
    /// observers) before the next event is applied, so an observer that starts a task
    /// starts it at that event's time. One driver should advance the clock; an `advance`
    /// called from inside an observer leaves delivery to the outer one. With a scaled
    /// clock, real time cannot be skipped: only the events due by now are applied.
    public func advance(to time: Date) {
        var limit = time.timeIntervalSince(configuration.startTime)
        if let scaled = scaledSeconds() { limit = min(limit, scaled) }
        runEvents(upTo: limit)
    }

    /// Advances (virtual clock) until no event is left, and returns the time then.
    /// With a scaled clock it only applies what is due now.
    @discardableResult
    public func advanceUntilIdle() -> Date {
        if let scaled = scaledSeconds() {
            runEvents(upTo: scaled)
            return now
        }
        while let next = nextEventTime { advance(to: next) }
        return now
    }

    /// Scaled mode: applies the events due by the real clock (the driver thread calls it).
    func applyDueEvents() {
        if let scaled = scaledSeconds() { runEvents(upTo: scaled) }
    }

    /// Scaled mode: real seconds until the next event is due, or nil when idle.
    func realSecondsUntilNextEvent() -> Double? {
        guard let speed, let scaled = scaledSeconds() else { return nil }
        guard let next = core.withLock({ $0.nextEventTime() }) else { return nil }
        return (next - scaled) / speed
    }

    private func runEvents(upTo limit: Double) {
        while true {
            let more = core.withLock { s -> Bool in
                if s.processNextEvent(upTo: limit) { return true }
                s.now = max(s.now, limit)
                return false
            }
            deliver()
            if !more { break }
        }
    }

    // MARK: Doing things

    /// Runs `body` on the state at the current simulated time, then delivers task updates.
    func perform<T: Sendable>(_ body: (inout SimulationCore) throws -> T) throws -> T {
        let scaled = scaledSeconds()
        if let scaled { runEvents(upTo: scaled) }
        let result = try core.withLock { s throws -> T in
            guard !s.closed else { throw VCenterFault.sessionClosed }
            if let scaled { s.now = max(s.now, scaled) }
            return try body(&s)
        }
        deliver()
        driver?.wake()
        return result
    }

    /// Applies queued task updates to their `LiveTask`s, outside the lock and in order.
    /// One caller delivers at a time; a call made while another delivers (an observer
    /// starting a task) leaves its updates to that one.
    private func deliver() {
        let claimed = core.withLock { s -> Bool in
            if s.draining { return false }
            s.draining = true
            return true
        }
        guard claimed else { return }
        while true {
            let batch = core.withLock { s -> [(LiveTask, TaskInfo)] in
                if s.outbox.isEmpty {
                    s.draining = false
                    return []
                }
                defer { s.outbox = [] }
                return s.outbox
            }
            if batch.isEmpty { return }
            for (task, info) in batch { task.apply(info) }
        }
    }

    /// Ends the session: later calls throw `NotAuthenticated`; a scaled clock stops.
    /// Tasks already queued or running keep their last state.
    func closeNow() {
        core.withLock { $0.closed = true }
        driver?.stop()
    }

    // MARK: Extras for tests, `plan` and demos

    /// What happened so far: peaks per resource, queueing, moves per VM, every task's times.
    public var stats: SimulatorStats {
        core.withLock { $0.stats() }
    }

    /// The inventory as it is now (moved VMs on their new hosts and datastores).
    public var inventorySnapshot: Inventory {
        core.withLock { $0.inventoryWithPodTotals() }
    }

    /// Makes the next task of the VM called `vm` (name or id) fail once with `fault`.
    public func failNextTask(ofVM vm: String, with fault: VCenterFault) throws {
        try perform { s in
            guard let i = s.lookupVM(vm) else { throw VCenterFault.notFound(MoRef("VirtualMachine", vm)) }
            s.failNext[i] = fault
        }
    }
}
