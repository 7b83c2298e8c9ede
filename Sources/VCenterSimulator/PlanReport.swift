import Foundation
import VCenterModel

/// What `moonmotion plan` tells before a maintenance window, computed from a simulated
/// run: the predicted makespan, when each cluster finishes (and how close that is to
/// the best the slots allow), peak concurrency per host, datastore and vMotion network
/// against ESXi's limits, how long the engine's slots sat idle (in the tail after the
/// last dispatch, or while work was still waiting), and the totals.
///
/// Each task is counted in the cluster of its source host (else its destination host,
/// else its VM's cluster). Times are offsets from `runStart`, in seconds. Sizes are
/// bytes; the text report shows them as vSphere does (IEC units: 1 GiB = 2^30 bytes).
///
/// Build it with `init(stats:inventory:configuration:…)`, print `renderText(width:)`,
/// save `jsonData()`, or write everything (with the timeline charts) by `writeFiles(to:)`.
public struct PlanReport: Sendable {
    /// Where a cluster's slot count came from.
    public enum SlotSource: String, Sendable, Hashable, Codable {
        /// Given by the engine's configuration (`Limits.clusterMaxJobs` or a strategy override).
        case configured
        /// Derived from ESXi's host limit: Storage vMotions per usable host (2 by default).
        case derived
    }

    /// What bounds a cluster's best possible span from below.
    public enum BoundReason: String, Sendable, Hashable, Codable {
        /// Every copy's time divided over the slots.
        case slots
        /// The longest single copy.
        case largestVM
        /// The bytes through the busiest datastore at its shared bandwidth (`datastoreBandwidthMBps`).
        case datastoreBandwidth
        /// The bytes through the busiest storage array (reads plus writes) at its bandwidth B.
        case arrayBandwidth
        /// The copies through the busiest datastore over its Storage vMotion slots (ESXi's
        /// 8, or fewer when the strategy caps a datastore).
        case datastoreSlots
        /// Nothing was copied.
        case none
    }

    /// One cluster's share of the run.
    public struct ClusterPlan: Sendable, Hashable {
        /// The cluster, nil for tasks on standalone hosts.
        public var cluster: MoRef?
        /// Its display name (`standalone hosts` when `cluster` is nil).
        public var name: String
        /// Hosts in the cluster.
        public var hosts: Int
        /// VMs with at least one successful move in the cluster.
        public var vmsMoved: Int
        /// Bytes copied by its successful Storage vMotions.
        public var bytesMoved: Int64
        /// Tasks counted in the cluster, and those that failed.
        public var tasks: Int
        public var failedTasks: Int
        /// Concurrent jobs the engine allows in the cluster.
        public var slots: Int
        public var slotSource: SlotSource
        /// First and last dispatch (task creation) and last completion, seconds from the run start.
        public var firstStart: TimeInterval
        public var lastDispatch: TimeInterval
        public var finish: TimeInterval
        /// Wall-clock end when the report has a window start.
        public var eta: Date?
        /// `finish − firstStart`.
        public var span: TimeInterval { finish - firstStart }
        /// The shortest span the cluster's copies could take with its slots and the rate
        /// model: Σ(setup + bytes ÷ rate) ÷ slots, or the longest single copy, or (with
        /// shared bandwidth) the bytes through its busiest storage array or datastore ÷ its
        /// bandwidth (a copy reading and writing one array counts twice there).
        public var lowerBound: TimeInterval
        public var boundReason: BoundReason
        /// `span ÷ lowerBound` (1.0 is perfect packing), nil when nothing was copied.
        public var ratio: Double? { lowerBound > 0 ? span / lowerBound : nil }
        /// Most tasks running at once in the cluster.
        public var peakTasks: Int
        /// Slots × span: the slot time the cluster had.
        public var slotSeconds: Double { Double(slots) * span }
        /// Time tasks ran, summed over tasks (slot-seconds).
        public var busySlotSeconds: Double
        /// Slot-seconds with a free slot: ∫ max(0, slots − running) over the span.
        public var idleSlotSeconds: Double
        /// The part of `idleSlotSeconds` after the last dispatch (the tail: nothing left to start).
        public var idleInTail: Double
        /// The part of `idleSlotSeconds` before the last dispatch (work was still waiting).
        public var idleWhileWaiting: Double
        /// Slot-seconds above the slot count (tasks beyond the slots: vMotions, snapshot work).
        public var overSlotSeconds: Double
    }

    /// Peak use of one host, datastore, vMotion network, cluster or the vCenter.
    public struct ResourcePeak: Sendable, Hashable {
        /// `host`, `datastore`, `vMotionNetwork`, `cluster` or `vCenter`.
        public var kind: String
        /// The resource's id (`host-12`; for a vMotion network its host's id; `vCenter`).
        public var id: String
        /// Display name.
        public var name: String
        /// ESXi's maximum cost, nil when not limited.
        public var limit: Int?
        public var peakCost: Int
        public var peakTasks: Int
        /// Seconds with at least one task on it.
        public var busySeconds: Double
        /// Mean cost over the makespan ÷ limit, nil when unlimited or the makespan is 0.
        public var utilisation: Double?
        /// Tasks that waited in state `queued` for it.
        public var tasksQueued: Int
        /// Whether the peak went above the limit.
        public var exceedsLimit: Bool { limit.map { peakCost > $0 } ?? false }
        /// Peak cost ÷ limit (0 when unlimited).
        public var peakShare: Double { limit.map { $0 > 0 ? Double(peakCost) / Double($0) : 0 } ?? 0 }
    }

    /// Use of one storage array (`SimulatorConfiguration.arrays`) over the run.
    public struct ArrayPeak: Sendable, Hashable, Encodable {
        public var name: String
        /// The array as `--array` writes it.
        public var spec: String
        /// Its datastores' names.
        public var datastores: [String]
        public var bandwidthMBps: Double
        public var knee: Int?
        /// Most copies at once, and the time-weighted mean while it was busy.
        public var maxCopies: Int
        public var meanCopies: Double
        /// MB/s served while busy (reads plus writes), and for how long.
        public var meanMBps: Double
        public var busySeconds: Double
        public var bytesRead: Double
        public var bytesWritten: Double
    }

    /// Counts over the whole run.
    public struct Totals: Sendable, Hashable, Encodable {
        /// VMs with at least one successful move.
        public var vmsMoved: Int
        /// Bytes copied by successful Storage vMotions.
        public var bytesMoved: Int64
        public var tasks: Int
        public var succeeded: Int
        public var failed: Int
        /// Tasks still queued or running when the statistics were taken (0 after a complete run).
        public var unfinished: Int
        /// Tasks by kind (`storageVMotion`, `vMotion`, …).
        public var tasksByKind: [String: Int]
        /// Failed tasks by fault type (`FileLocked`, …).
        public var failuresByFault: [String: Int]
        /// Tasks that waited at vCenter because a limit was reached (0 when the engine keeps within them).
        public var tasksQueuedByLimit: Int
        /// Tasks held back by an injected start delay.
        public var tasksDelayed: Int
        /// Most successful moves of any one VM, vMotions included (2 when a pro-active vMotion
        /// preceded a VM's Storage vMotion).
        public var maxMovesPerVM: Int
        /// Most copies of any one file of a VM by successful relocations: 1 unless some VM's
        /// home or disk was copied twice.
        public var maxCopiesPerVM: Int
        /// Jobs the engine failed before any task of theirs ran (no target with the free space,
        /// never got room): no task failed for them, so `failed` alone would say "none". Set by
        /// the caller from the engine's summary (the simulator sees only tasks).
        public var jobsFailedWithoutTask: Int = 0
        /// Jobs the strategy held (its `target` hook answered nil) that never started.
        public var jobsHeld: Int = 0
    }

    /// Slot use over all clusters.
    public struct Overall: Sendable, Hashable, Encodable {
        /// Sum of the clusters' slots.
        public var slots: Int
        /// Most tasks running at once anywhere.
        public var peakTasks: Int
        /// The largest cluster lower bound (clusters working in parallel), and makespan ÷ it.
        public var lowerBound: TimeInterval
        public var ratio: Double?
        /// Sums over the clusters.
        public var slotSeconds: Double
        public var busySlotSeconds: Double
        public var idleSlotSeconds: Double
        public var idleInTail: Double
        public var idleWhileWaiting: Double
    }

    /// A heading for the report, usually the simulator's `displayName`.
    public var title: String
    /// The instant offsets count from (the run's start on the simulated clock).
    public var runStart: Date
    /// The wall-clock start of the window, for ETAs; nil prints offsets only.
    public var windowStart: Date?
    /// The time zone ETAs are printed in.
    public var timeZone: TimeZone
    /// From the run start to the last completion, seconds (0 when no task ended).
    public var makespan: TimeInterval
    /// `windowStart + makespan`.
    public var eta: Date? { windowStart.map { $0.addingTimeInterval(makespan) } }
    /// The rate model: MB/s per Storage vMotion (MB = 2^20 bytes), setup seconds, shared datastore bandwidth.
    public var rateMBps: Double
    public var storageVMotionOverhead: TimeInterval
    public var datastoreBandwidthMBps: Double?
    /// The declared storage arrays and how they were used.
    public var arrays: [ArrayPeak]
    /// MB/s of a vMotion's memory copy; nil: a tenth of the hosts' vMotion link in Mbit/s.
    public var vMotionRateMBps: Double?
    /// Whether the simulator enforced ESXi's limits (queueing) or only counted them.
    public var limitsEnforced: Bool
    /// Per cluster, in inventory order (clusters without tasks left out).
    public var clusters: [ClusterPlan]
    public var overall: Overall
    /// Every host, datastore and vMotion network, in inventory order.
    public var hosts: [ResourcePeak]
    public var datastores: [ResourcePeak]
    public var vMotionNetworks: [ResourcePeak]
    /// The per-cluster and vCenter task counters of the simulator.
    public var clusterCounters: [ResourcePeak]
    public var vCenterCounter: ResourcePeak?
    /// Resources whose peak cost went above their limit.
    public var exceeded: [ResourcePeak]
    public var totals: Totals

    /// The statistics and inventory the report was built from (for the timeline charts).
    let stats: SimulatorStats
    let inventory: Inventory

    /// Builds the report.
    /// - Parameters:
    ///   - stats: the simulator's `stats` after the run (`advanceUntilIdle()` done).
    ///   - inventory: the inventory the run started from (names, clusters, host counts).
    ///   - configuration: the simulator's configuration (rate model, limits).
    ///   - runStart: when the run started on the simulated clock; nil: `stats.startTime`.
    ///   - clusterSlots: concurrent jobs per cluster as the engine configured them;
    ///     a cluster that is absent gets ESXi's host limit: `hostMaxCost ÷
    ///     hostStorageVMotionCost` (2) Storage vMotions per usable host.
    ///   - datastoreSlots: concurrent Storage vMotions per datastore as the engine configured
    ///     them; a datastore that is absent gets ESXi's limit: `datastoreMaxCost ÷
    ///     datastoreStorageVMotionCost` (8). A cluster's slots never exceed what its source
    ///     (and destination) datastores allow together.
    ///   - windowStart: the wall-clock start of the window, for ETAs.
    ///   - title: a heading (for example the simulator's `displayName`).
    ///   - timeZone: the zone ETAs are printed in.
    public init(
        stats: SimulatorStats, inventory: Inventory, configuration: SimulatorConfiguration,
        runStart: Date? = nil, clusterSlots: [MoRef: Int] = [:], datastoreSlots: [MoRef: Int] = [:], windowStart: Date? = nil,
        title: String = "simulated vCenter", timeZone: TimeZone = .current
    ) {
        let origin = runStart ?? stats.startTime
        self.stats = stats
        self.inventory = inventory
        self.title = title
        self.runStart = origin
        self.windowStart = windowStart
        self.timeZone = timeZone
        self.rateMBps = configuration.storageVMotionRateMBps
        self.storageVMotionOverhead = configuration.storageVMotionOverhead
        self.vMotionRateMBps = configuration.vMotionRateMBps
        self.datastoreBandwidthMBps = configuration.datastoreBandwidthMBps
        self.limitsEnforced = configuration.limits.enforced
        self.arrays = stats.arrays.filter { !$0.isDatastoreBandwidth }.map { a in
            ArrayPeak(name: a.array.name, spec: a.array.description, datastores: a.datastores.map { inventory.name(of: $0) },
                      bandwidthMBps: a.array.bandwidthMBps, knee: a.array.knee, maxCopies: a.maxCopies, meanCopies: a.meanCopies,
                      meanMBps: a.meanMBps, busySeconds: a.busySeconds, bytesRead: a.bytesRead, bytesWritten: a.bytesWritten)
        }

        let now = stats.now.timeIntervalSince(origin)
        let lastEnd = stats.tasks.compactMap(\.completeTime).max()
        self.makespan = max(0, lastEnd.map { $0.timeIntervalSince(origin) } ?? 0)

        // Resources.
        let span = makespan
        func peak(_ u: SimulatorStats.ResourceUsage) -> ResourcePeak {
            let (kind, id): (String, String) = switch u.resource {
            case .host(let r): ("host", r.value)
            case .datastore(let r): ("datastore", r.value)
            case .vMotionNetwork(let r): ("vMotionNetwork", r.value)
            case .cluster(let r): ("cluster", r.value)
            case .vCenter: ("vCenter", "vCenter")
            }
            let utilisation = u.limit.flatMap { limit in limit > 0 && span > 0 ? u.costSeconds / (Double(limit) * span) : nil }
            return ResourcePeak(kind: kind, id: id, name: u.name, limit: u.limit, peakCost: u.peakCost, peakTasks: u.peakTasks,
                                busySeconds: u.busySeconds, utilisation: utilisation, tasksQueued: u.tasksQueued)
        }
        var hosts: [ResourcePeak] = [], datastores: [ResourcePeak] = [], networks: [ResourcePeak] = [], counters: [ResourcePeak] = []
        var vCenter: ResourcePeak?
        for u in stats.resources {
            switch u.resource {
            case .host: hosts.append(peak(u))
            case .datastore: datastores.append(peak(u))
            case .vMotionNetwork: networks.append(peak(u))
            case .cluster: counters.append(peak(u))
            case .vCenter: vCenter = peak(u)
            }
        }
        self.hosts = hosts
        self.datastores = datastores
        self.vMotionNetworks = networks
        self.clusterCounters = counters
        self.vCenterCounter = vCenter
        self.exceeded = (hosts + datastores + networks).filter(\.exceedsLimit)

        // Totals.
        var byKind: [String: Int] = [:], byFault: [String: Int] = [:]
        var succeeded = 0, failed = 0, unfinished = 0
        for t in stats.tasks {
            byKind[t.kind.rawValue, default: 0] += 1
            switch t.state {
            case .success: succeeded += 1
            case .error:
                failed += 1
                byFault[t.error?.type ?? "unknown", default: 0] += 1
            case .queued, .running: unfinished += 1
            }
        }
        self.totals = Totals(vmsMoved: stats.movesPerVM.count, bytesMoved: stats.bytesMoved, tasks: stats.tasks.count,
                             succeeded: succeeded, failed: failed, unfinished: unfinished, tasksByKind: byKind,
                             failuresByFault: byFault, tasksQueuedByLimit: stats.tasksQueuedByLimit,
                             tasksDelayed: stats.tasksDelayed, maxMovesPerVM: stats.maxMovesPerVM,
                             maxCopiesPerVM: stats.maxCopiesPerVM)

        // Clusters.
        let model = RateModel(configuration, arrays: stats.arrays)
        var buckets: [MoRef?: [Int]] = [:]
        for (i, t) in stats.tasks.enumerated() {
            buckets[Self.cluster(of: t, in: inventory), default: []].append(i)
        }
        var order: [MoRef?] = inventory.clusters.map(\.ref).filter { buckets[$0] != nil }
        if buckets[nil] != nil { order.append(nil) }
        for key in buckets.keys where !order.contains(key) { order.append(key) }   // clusters missing from the inventory
        var plans: [ClusterPlan] = []
        for key in order {
            plans.append(Self.clusterPlan(key, tasks: buckets[key] ?? [], stats: stats, inventory: inventory, origin: origin,
                                          now: now, slots: key.flatMap { clusterSlots[$0] }, datastoreSlots: datastoreSlots, limits: configuration.limits,
                                          model: model, windowStart: windowStart))
        }
        self.clusters = plans

        // Overall.
        var events: [(Double, Int)] = []
        events.reserveCapacity(stats.tasks.count * 2)
        for t in stats.tasks {
            guard let s = t.startTime else { continue }
            events.append((s.timeIntervalSince(origin), 1))
            events.append(((t.completeTime?.timeIntervalSince(origin) ?? now), -1))
        }
        let overallPeak = SlotSweep.peak(events)
        let bound = plans.map(\.lowerBound).max() ?? 0
        self.overall = Overall(
            slots: plans.reduce(0) { $0 + $1.slots }, peakTasks: overallPeak, lowerBound: bound,
            ratio: bound > 0 ? makespan / bound : nil,
            slotSeconds: plans.reduce(0) { $0 + $1.slotSeconds }, busySlotSeconds: plans.reduce(0) { $0 + $1.busySlotSeconds },
            idleSlotSeconds: plans.reduce(0) { $0 + $1.idleSlotSeconds }, idleInTail: plans.reduce(0) { $0 + $1.idleInTail },
            idleWhileWaiting: plans.reduce(0) { $0 + $1.idleWhileWaiting })
    }

    /// The cluster a task is counted in: its source host's, else its destination host's, else its VM's.
    static func cluster(of task: SimulatorStats.TaskRecord, in inventory: Inventory) -> MoRef? {
        if let h = task.sourceHost, let host = inventory.host(h) { return host.cluster }
        if let h = task.destinationHost, let host = inventory.host(h) { return host.cluster }
        return inventory.vm(task.entity)?.cluster
    }

    /// The simulator's time for one copy on its own: setup plus bytes at the rate; and the
    /// storage arrays (declared, or datastores with their own bandwidth) copies share.
    struct RateModel {
        var bytesPerSecond: Double
        var overhead: Double
        /// Each array's bandwidth B in bytes/s, whether it is a datastore's own, and the array of each datastore.
        var arrayBandwidth: [Double] = []
        var arrayIsDatastore: [Bool] = []
        var arrayOf: [MoRef: Int] = [:]

        init(_ c: SimulatorConfiguration, arrays: [SimulatorStats.ArrayUsage] = []) {
            bytesPerSecond = c.storageVMotionRateMBps * 1_048_576
            overhead = c.storageVMotionOverhead
            for (k, a) in arrays.enumerated() {
                arrayBandwidth.append(a.array.bandwidthMBps * 1_048_576)
                arrayIsDatastore.append(a.isDatastoreBandwidth)
                for d in a.datastores { arrayOf[d] = k }
            }
        }

        func copySeconds(_ bytes: Int64) -> Double {
            overhead + (bytesPerSecond > 0 ? Double(bytes) / bytesPerSecond : 0)
        }
    }

    private static func clusterPlan(
        _ key: MoRef?, tasks indices: [Int], stats: SimulatorStats, inventory: Inventory, origin: Date, now: Double,
        slots configured: Int?, datastoreSlots: [MoRef: Int], limits: SimulatorLimits, model: RateModel, windowStart: Date?
    ) -> ClusterPlan {
        let members = key.map { inventory.hosts(in: $0) } ?? inventory.hosts.filter { $0.cluster == nil }
        let perHost = max(1, limits.hostMaxCost / max(1, limits.hostStorageVMotionCost))
        let usable = members.filter(\.isUsable).count
        let derived = max(1, perHost * (usable > 0 ? usable : members.count))
        var slots = configured.map { max(1, $0) } ?? derived
        let esxiPerDatastore = max(1, limits.datastoreMaxCost / max(1, limits.datastoreStorageVMotionCost))
        func slotsOf(_ d: MoRef) -> Int { max(1, datastoreSlots[d] ?? esxiPerDatastore) }

        var vms: Set<MoRef> = []
        var bytes: Int64 = 0, failedTasks = 0
        var firstStart = Double.infinity, lastDispatch = -Double.infinity, finish = -Double.infinity
        var copyTotal = 0.0, largest = 0.0
        var throughArray: [Int: Double] = [:]   // bytes × (reads there + writes there)
        var secondsThrough: [MoRef: Double] = [:]
        var sources: Set<MoRef> = [], destinations: Set<MoRef> = []
        var events: [(Double, Int)] = []
        var busy = 0.0
        events.reserveCapacity(indices.count * 2)
        for i in indices {
            let t = stats.tasks[i]
            let q = t.queueTime.timeIntervalSince(origin)
            firstStart = min(firstStart, q)
            lastDispatch = max(lastDispatch, q)
            let end = t.completeTime.map { $0.timeIntervalSince(origin) } ?? now
            finish = max(finish, end)
            if let s = t.startTime {
                let start = s.timeIntervalSince(origin)
                events.append((start, 1))
                events.append((end, -1))
                busy += max(0, end - start)
            }
            if t.state == .error { failedTasks += 1 }
            if t.state == .success, t.kind.isMove { vms.insert(t.entity) }
            if t.state == .success, t.kind.copiesDisks {
                bytes += t.bytes
                let seconds = model.copySeconds(t.bytes)
                copyTotal += seconds
                largest = max(largest, seconds)
                // The datastores the copy read and wrote (a VM's datastores holding only files
                // that stayed are not among them); a record without them: the VM's and the target.
                let from = t.copiedFrom.isEmpty && t.copiedTo.isEmpty ? t.sourceDatastores : t.copiedFrom
                let to = t.copiedTo.isEmpty ? (t.destinationDatastore.map { [$0] } ?? []) : t.copiedTo
                for d in Set(from + to) { secondsThrough[d, default: 0] += seconds }
                let readArrays = Set(from.compactMap { model.arrayOf[$0] }), writeArrays = Set(to.compactMap { model.arrayOf[$0] })
                for a in readArrays.union(writeArrays) {
                    let weight = (readArrays.contains(a) ? 1.0 : 0) + (writeArrays.contains(a) ? 1.0 : 0)
                    throughArray[a, default: 0] += weight * Double(t.bytes)
                }
                sources.formUnion(from)
                destinations.formUnion(to)
            }
        }
        if indices.isEmpty { firstStart = 0; lastDispatch = 0; finish = 0 }
        // Copies cannot run faster than their datastores' slots let them: a cluster whose
        // copies all leave one datastore capped at 4 has 4 slots, whatever its hosts allow.
        if !sources.isEmpty {
            let bySources = sources.reduce(0) { $0 + slotsOf($1) }
            let byDestinations = destinations.isEmpty ? Int.max : destinations.reduce(0) { $0 + slotsOf($1) }
            slots = max(1, min(slots, bySources, byDestinations))
        }

        var bound = 0.0, reason = BoundReason.none
        if copyTotal > 0 {
            bound = copyTotal / Double(slots)
            reason = .slots
            if largest > bound { bound = largest; reason = .largestVM }
            // An array never serves more than B (its knee only lowers that).
            for (a, through) in throughArray where model.arrayBandwidth[a] > 0 {
                let b = through / model.arrayBandwidth[a]
                if b > bound { bound = b; reason = model.arrayIsDatastore[a] ? .datastoreBandwidth : .arrayBandwidth }
            }
            for (d, seconds) in secondsThrough {
                let b = seconds / Double(slotsOf(d))
                if b > bound * (1 + 1e-9) { bound = b; reason = .datastoreSlots }
            }
        }

        let sweep = SlotSweep.integrate(events, slots: slots, from: firstStart, split: lastDispatch, to: finish)
        return ClusterPlan(
            cluster: key, name: key.map { inventory.name(of: $0) } ?? "standalone hosts", hosts: members.count,
            vmsMoved: vms.count, bytesMoved: bytes, tasks: indices.count, failedTasks: failedTasks,
            slots: slots, slotSource: configured == nil ? .derived : .configured,
            firstStart: firstStart, lastDispatch: lastDispatch, finish: finish,
            eta: windowStart.map { $0.addingTimeInterval(finish) },
            lowerBound: bound, boundReason: reason, peakTasks: sweep.peak, busySlotSeconds: busy,
            idleSlotSeconds: sweep.idleBefore + sweep.idleAfter, idleInTail: sweep.idleAfter,
            idleWhileWaiting: sweep.idleBefore, overSlotSeconds: sweep.over)
    }
}

/// A sweep over task start (+1) and end (−1) events: peak concurrency and idle slot time.
enum SlotSweep {
    /// Events sorted by time, ends before starts at the same instant (a slot freed and
    /// taken again at once is not concurrency).
    static func sorted(_ events: [(Double, Int)]) -> [(Double, Int)] {
        events.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    }

    /// Most intervals open at once.
    static func peak(_ events: [(Double, Int)]) -> Int {
        var running = 0, peak = 0
        for (_, d) in sorted(events) {
            running += d
            peak = max(peak, running)
        }
        return peak
    }

    /// ∫ max(0, slots − running) over [from, to], split at `split`, and ∫ max(0, running − slots).
    static func integrate(_ events: [(Double, Int)], slots: Int, from: Double, split: Double, to: Double)
        -> (peak: Int, idleBefore: Double, idleAfter: Double, over: Double)
    {
        var running = 0, peak = 0
        var idleBefore = 0.0, idleAfter = 0.0, over = 0.0
        var t = from
        func account(until next: Double) {
            let a = max(t, from), b = min(next, to)
            guard b > a else { return }
            let free = Double(max(0, slots - running))
            over += Double(max(0, running - slots)) * (b - a)
            if b <= split { idleBefore += free * (b - a) } else if a >= split { idleAfter += free * (b - a) } else {
                idleBefore += free * (split - a)
                idleAfter += free * (b - split)
            }
        }
        for (time, d) in sorted(events) {
            account(until: time)
            t = max(t, time)
            running += d
            peak = max(peak, running)
        }
        account(until: to)
        return (peak, idleBefore, idleAfter, over)
    }
}
