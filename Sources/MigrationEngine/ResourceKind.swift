/// The kinds of resource the scheduler accounts for.
public enum ResourceKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A host's migration cost (limit 8).
    case hostCost
    /// A host's vMotion network (limit 4 or 8).
    case hostNetwork
    /// A host's count of concurrent Storage vMotions (only when capped).
    case hostStorageMoves
    /// A datastore's migration cost (limit 128).
    case datastoreCost
    /// A datastore's count of concurrent Storage vMotions (only when capped).
    case datastoreStorageMoves
    /// A cluster's concurrent jobs (only when capped).
    case clusterJobs
    /// The vCenter's concurrent jobs.
    case vcenterJobs
    /// A paced group of datastores' concurrent copies (`max_concurrent = "auto"`; its
    /// capacity follows the `AdaptivePacer`).
    case pacingGroup
    /// Internal: a set of target datastores, none of which has room or space.
    case targetGroup
    /// Internal: the jobs of a cluster that wait only for their host.
    case hostWait
    /// Internal: the jobs the strategy holds (its target hook answered "wait").
    case strategyHold
    /// Internal: the jobs of a wave scope waiting for earlier waves; its capacity is the
    /// index of the scope's current wave (`Scheduler+Waves.swift`).
    case waveGate
    /// Internal: the jobs that wait for a change window (Scheduler+Windows).
    case changeWindow

    /// Whether the kind is a real limit (as opposed to an internal wait list).
    public var isLimit: Bool {
        switch self {
        case .targetGroup, .hostWait, .strategyHold, .waveGate, .changeWindow: false
        default: true
        }
    }
}
