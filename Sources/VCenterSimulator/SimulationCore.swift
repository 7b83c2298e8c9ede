import Foundation
import HeapModule
import VCenterModel

/// The simulator's whole state and its synchronous rules: inventory, resources,
/// tasks, the event heap. Not thread-safe: `SimulatedVCenter` keeps it in a `Locked`
/// and applies the `outbox` to the `LiveTask`s outside the lock.
///
/// Time is in simulated seconds since `startDate`.
struct SimulationCore {
    let config: SimulatorConfiguration
    let startDate: Date
    var inventory: Inventory
    var now: Double = 0
    var closed = false

    // Objects, by index (the inventory's own order, which `Inventory.update` keeps).
    var hostIndex: [MoRef: Int] = [:]
    var hostCluster: [Int] = []
    var dsIndex: [MoRef: Int] = [:]
    /// The hosts that mount each datastore; nil when the inventory does not say (mounted everywhere).
    var dsMountedBy: [Set<Int>?] = []
    var clusterIndex: [MoRef: Int] = [:]
    var vmIndex: [MoRef: Int] = [:]
    var vmBusy: [Int32] = []
    var vmTasks: [[Int32]] = []
    var snapshotOwner: [MoRef: Int] = [:]
    /// A resource pool of each cluster (the first one its VMs use), for moves across clusters.
    var clusterPool: [Int: MoRef] = [:]
    var hostMultiplier: [Double] = []
    var dsMultiplier: [Double] = []

    // Resources: hosts, datastores, vMotion networks, clusters, the vCenter.
    var res: [ResourceState] = []
    var hostBase = 0, dsBase = 0, netBase = 0, clusterBase = 0, vcenterSlot = 0
    /// Shared storage bandwidth: the arrays, which datastore is in which, each array's copies
    /// and use, and every copy that shares an array (`FairShare` allocates among them).
    var arrayLayout: StorageArrayLayout
    var arrayUse: [ArrayCounters] = []
    var sharing: [Int32] = []

    // Tasks and events.
    var tasks: [SimTask] = []
    var taskIndex: [MoRef: Int32] = [:]
    var nextTaskNumber = 101
    var events = Heap<SimEvent>()
    var eventSeq: UInt64 = 0

    // Injection state.
    var nthCounters: [Int]
    var failNext: [Int: VCenterFault] = [:]
    var rng: SeededGenerator
    var delayByVM: [Int: Double] = [:]

    // Statistics.
    var tasksQueuedByLimit = 0
    var tasksDelayed = 0
    var moves: [Int: Int] = [:]
    /// Every file copied by a successful relocation, in completion order.
    var fileCopies: [FileCopyEntry] = []

    // Storage DRS: recommendations not applied yet, by key.
    var recommendations: [String: PendingRecommendation] = [:]
    var recommendationBatches: [Int: [String]] = [:]
    var nextRecommendationKey = 1

    // Delivery of task updates to their LiveTasks, outside the lock, in order.
    var outbox: [(LiveTask, TaskInfo)] = []
    var draining = false

    static let mib = 1_048_576.0

    init(inventory: Inventory, config: SimulatorConfiguration) throws {
        self.config = config
        self.startDate = config.startTime
        self.inventory = inventory
        self.nthCounters = Array(repeating: 0, count: config.faults.everyNth.count)
        self.rng = SeededGenerator(seed: config.faults.seed)
        self.arrayLayout = try StorageArrayLayout(configuration: config, datastores: inventory.datastores)
        self.arrayUse = Array(repeating: ArrayCounters(), count: arrayLayout.arrays.count)
        try validate(config)

        for (i, c) in inventory.clusters.enumerated() { clusterIndex[c.ref] = i }
        for (i, h) in inventory.hosts.enumerated() {
            hostIndex[h.ref] = i
            hostCluster.append(h.cluster.flatMap { clusterIndex[$0] } ?? -1)
        }
        for (i, d) in inventory.datastores.enumerated() {
            dsIndex[d.ref] = i
            dsMountedBy.append(d.hosts.isEmpty ? nil : Set(d.hosts.compactMap { hostIndex[$0] }))
        }
        vmIndex.reserveCapacity(inventory.vms.count)
        vmBusy = Array(repeating: -1, count: inventory.vms.count)
        vmTasks = Array(repeating: [], count: inventory.vms.count)
        for (i, v) in inventory.vms.enumerated() {
            vmIndex[v.ref] = i
            for s in v.snapshots { snapshotOwner[s.ref] = i }
            if let pool = v.resourcePool, let c = v.cluster.flatMap({ clusterIndex[$0] }), clusterPool[c] == nil { clusterPool[c] = pool }
        }

        let hostCount = inventory.hosts.count, dsCount = inventory.datastores.count
        let limits = config.limits
        hostBase = 0
        dsBase = hostCount
        netBase = dsBase + dsCount
        clusterBase = netBase + hostCount
        vcenterSlot = clusterBase + inventory.clusters.count
        res.reserveCapacity(vcenterSlot + 1)
        for _ in 0..<hostCount { res.append(ResourceState(limit: limits.hostMaxCost)) }
        for _ in 0..<dsCount { res.append(ResourceState(limit: limits.datastoreMaxCost)) }
        for h in inventory.hosts { res.append(ResourceState(limit: limits.networkMaxCost(linkSpeedMbps: h.vmotionLinkSpeedMbps))) }
        for _ in inventory.clusters { res.append(ResourceState(limit: Int.max)) }
        res.append(ResourceState(limit: Int.max))

        hostMultiplier = Array(repeating: 1, count: hostCount)
        dsMultiplier = Array(repeating: 1, count: dsCount)
        let faults = config.faults
        for (key, m) in faults.slowHosts {
            guard let i = lookupHost(key) else { throw SimulatorConfigurationError("slowHosts names '\(key)', which is not a host of this inventory") }
            hostMultiplier[i] = m
        }
        for (key, m) in faults.slowDatastores {
            guard let i = lookupDatastore(key) else { throw SimulatorConfigurationError("slowDatastores names '\(key)', which is not a datastore of this inventory") }
            dsMultiplier[i] = m
        }
        for (key, fault) in faults.failNextTask {
            guard let i = lookupVM(key) else { throw SimulatorConfigurationError("failNextTask names '\(key)', which is not a VM of this inventory") }
            failNext[i] = fault
        }
        for (key, delay) in faults.startDelayByVM {
            guard let i = lookupVM(key) else { throw SimulatorConfigurationError("startDelayByVM names '\(key)', which is not a VM of this inventory") }
            delayByVM[i] = delay
        }
    }

    private func validate(_ c: SimulatorConfiguration) throws {
        func positive(_ v: Double, _ name: String) throws {
            guard v > 0, v.isFinite else { throw SimulatorConfigurationError("\(name) must be a positive number, not \(v)") }
        }
        func nonNegative(_ v: Double, _ name: String) throws {
            guard v >= 0, v.isFinite else { throw SimulatorConfigurationError("\(name) must be zero or more, not \(v)") }
        }
        if case .scaled(let speed) = c.clock { try positive(speed, "clock speed (simulated seconds per real second)") }
        try positive(c.storageVMotionRateMBps, "storageVMotionRateMBps")
        if let b = c.datastoreBandwidthMBps { try positive(b, "datastoreBandwidthMBps") }
        for a in c.arrays {
            try positive(a.bandwidthMBps, "the bandwidth of array \(a.name)")
            if let k = a.knee, k < 1 { throw SimulatorConfigurationError("the knee of array \(a.name) must be 1 or more, not \(k)") }
            guard (0...1).contains(a.loss), (0...1).contains(a.floor), a.knee == nil || a.floor > 0 else {
                throw SimulatorConfigurationError("array \(a.name): loss and floor are fractions from 0 to 1, and floor > 0 with a knee")
            }
        }
        if let r = c.vMotionRateMBps { try positive(r, "vMotionRateMBps") }
        try positive(c.snapshotRateMBps, "snapshotRateMBps")
        try nonNegative(c.storageVMotionOverhead, "storageVMotionOverhead")
        try nonNegative(c.vMotionOverhead, "vMotionOverhead")
        try nonNegative(c.snapshotOverhead, "snapshotOverhead")
        try nonNegative(c.snapshotDeltaFraction, "snapshotDeltaFraction")
        try nonNegative(c.powerOperationDuration, "powerOperationDuration")
        try nonNegative(c.recentTaskWindow, "recentTaskWindow")
        guard c.progressUpdates >= 1 else { throw SimulatorConfigurationError("progressUpdates must be 1 or more, not \(c.progressUpdates)") }
        let f = c.faults
        for rule in f.everyNth where rule.n < 1 {
            throw SimulatorConfigurationError("an everyNth failure rule has n = \(rule.n); use 1 or more")
        }
        guard (0...1).contains(f.failureProbability) else { throw SimulatorConfigurationError("failureProbability must be from 0 to 1, not \(f.failureProbability)") }
        guard (0...1).contains(f.failurePoint) else { throw SimulatorConfigurationError("failurePoint must be from 0 to 1, not \(f.failurePoint)") }
        try nonNegative(f.startDelay, "startDelay")
        for (name, m) in f.slowHosts { try positive(m, "the rate multiplier of host '\(name)'") }
        for (name, m) in f.slowDatastores { try positive(m, "the rate multiplier of datastore '\(name)'") }
        for (name, d) in f.startDelayByVM { try nonNegative(d, "the start delay of VM '\(name)'") }
    }

    // MARK: Lookups by name or id

    func lookupHost(_ key: String) -> Int? {
        if let i = hostIndex[MoRef("HostSystem", key)] { return i }
        return inventory.hosts.firstIndex { $0.name == key }
    }

    func lookupDatastore(_ key: String) -> Int? {
        if let i = dsIndex[MoRef("Datastore", key)] { return i }
        return inventory.datastores.firstIndex { $0.name == key }
    }

    func lookupVM(_ key: String) -> Int? {
        if let i = vmIndex[MoRef("VirtualMachine", key)] { return i }
        return inventory.vm(named: key).flatMap { vmIndex[$0.ref] }
    }

    // MARK: Time

    func date(_ t: Double) -> Date { startDate.addingTimeInterval(t) }
    func seconds(_ d: Date) -> Double { d.timeIntervalSince(startDate) }

    // MARK: Task info

    func info(_ i: Int) -> TaskInfo {
        let t = tasks[i]
        let vm = inventory.vms[t.vm]
        return TaskInfo(ref: t.ref, name: TaskMethodNames.method(for: t.name), descriptionId: t.name, entity: vm.ref, entityName: vm.name, state: t.state,
                        progress: t.progress, result: nil, error: t.error, queueTime: date(t.queueTime),
                        startTime: t.startTime.map(date), completeTime: t.completeTime.map(date), cancelable: t.cancelable)
    }

    mutating func emit(_ i: Int) {
        outbox.append((tasks[i].live, info(i)))
    }
}

/// A simulator configuration that cannot be used; `description` says which setting and why.
public struct SimulatorConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var description: String
    init(_ message: String) { description = "simulator configuration: \(message)" }
}
