import Foundation

extension PlanReport {
    /// The report as one JSON document for scripts and tests (sorted keys, pretty-printed):
    /// durations and offsets in seconds, sizes in bytes, dates in ISO 8601, references as
    /// `Type:id`. Computed values (`span`, `ratio`, `eta`, …) are included.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(JSONForm(self))
    }

    /// The encoded shape (`PlanReport` also holds the statistics, which are not written).
    private struct JSONForm: Encodable {
        var title: String
        var runStart: Date
        var windowStart: Date?
        var eta: Date?
        var makespanSeconds: Double
        var rateModel: RateForm
        var totals: Totals
        var overall: Overall
        var clusters: [ClusterPlan]
        var arrays: [ArrayPeak]
        var hosts: [ResourcePeak]
        var datastores: [ResourcePeak]
        var vMotionNetworks: [ResourcePeak]
        var clusterCounters: [ResourcePeak]
        var vCenterCounter: ResourcePeak?
        var exceededLimits: [ResourcePeak]
        var noLimitExceeded: Bool

        struct RateForm: Encodable {
            var storageVMotionMBps: Double
            var storageVMotionOverheadSeconds: Double
            var datastoreBandwidthMBps: Double?
            /// The declared storage arrays (`--array` text).
            var arrays: [String]
            /// nil: a tenth of the hosts' vMotion link speed in Mbit/s.
            var vMotionMBps: Double?
            var limitsEnforced: Bool
        }

        init(_ r: PlanReport) {
            title = r.title
            runStart = r.runStart
            windowStart = r.windowStart
            eta = r.eta
            makespanSeconds = r.makespan
            rateModel = RateForm(storageVMotionMBps: r.rateMBps, storageVMotionOverheadSeconds: r.storageVMotionOverhead,
                                 datastoreBandwidthMBps: r.datastoreBandwidthMBps, arrays: r.arrays.map(\.spec), vMotionMBps: r.vMotionRateMBps,
                                 limitsEnforced: r.limitsEnforced)
            totals = r.totals
            overall = r.overall
            clusters = r.clusters
            arrays = r.arrays
            hosts = r.hosts
            datastores = r.datastores
            vMotionNetworks = r.vMotionNetworks
            clusterCounters = r.clusterCounters
            vCenterCounter = r.vCenterCounter
            exceededLimits = r.exceeded
            noLimitExceeded = r.exceeded.isEmpty
        }
    }
}

extension PlanReport.ClusterPlan: Encodable {
    private enum Keys: String, CodingKey {
        case cluster, name, hosts, vmsMoved, bytesMoved, tasks, failedTasks, slots, slotSource
        case firstStartSeconds, lastDispatchSeconds, finishSeconds, eta, spanSeconds, lowerBoundSeconds, boundReason, ratio
        case peakTasks, slotSeconds, busySlotSeconds, idleSlotSeconds, idleInTailSeconds, idleWhileWaitingSeconds, overSlotSeconds
    }

    /// Encodes every stored and computed value.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(cluster?.description, forKey: .cluster)
        try c.encode(name, forKey: .name)
        try c.encode(hosts, forKey: .hosts)
        try c.encode(vmsMoved, forKey: .vmsMoved)
        try c.encode(bytesMoved, forKey: .bytesMoved)
        try c.encode(tasks, forKey: .tasks)
        try c.encode(failedTasks, forKey: .failedTasks)
        try c.encode(slots, forKey: .slots)
        try c.encode(slotSource, forKey: .slotSource)
        try c.encode(firstStart, forKey: .firstStartSeconds)
        try c.encode(lastDispatch, forKey: .lastDispatchSeconds)
        try c.encode(finish, forKey: .finishSeconds)
        try c.encodeIfPresent(eta, forKey: .eta)
        try c.encode(span, forKey: .spanSeconds)
        try c.encode(lowerBound, forKey: .lowerBoundSeconds)
        try c.encode(boundReason, forKey: .boundReason)
        try c.encodeIfPresent(ratio, forKey: .ratio)
        try c.encode(peakTasks, forKey: .peakTasks)
        try c.encode(slotSeconds, forKey: .slotSeconds)
        try c.encode(busySlotSeconds, forKey: .busySlotSeconds)
        try c.encode(idleSlotSeconds, forKey: .idleSlotSeconds)
        try c.encode(idleInTail, forKey: .idleInTailSeconds)
        try c.encode(idleWhileWaiting, forKey: .idleWhileWaitingSeconds)
        try c.encode(overSlotSeconds, forKey: .overSlotSeconds)
    }
}

extension PlanReport.ResourcePeak: Encodable {
    private enum Keys: String, CodingKey {
        case kind, id, name, limit, peakCost, peakTasks, busySeconds, utilisation, tasksQueued, exceedsLimit
    }

    /// Encodes every stored value and `exceedsLimit`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(limit, forKey: .limit)
        try c.encode(peakCost, forKey: .peakCost)
        try c.encode(peakTasks, forKey: .peakTasks)
        try c.encode(busySeconds, forKey: .busySeconds)
        try c.encodeIfPresent(utilisation, forKey: .utilisation)
        try c.encode(tasksQueued, forKey: .tasksQueued)
        try c.encode(exceedsLimit, forKey: .exceedsLimit)
    }
}
