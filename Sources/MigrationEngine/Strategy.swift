import Foundation
import VCenterModel

/// The policy half of a migration: which jobs, in which order, to which datastore,
/// under which limits, and what to do when a job is blocked or fails.
///
/// The engine calls every hook synchronously on the runner's executor (for a Lua
/// strategy, the Lua executor thread), one at a time. Every hook has a default (see
/// the protocol extension), so a strategy implements only what it changes. A per-job
/// hook that throws fails that job with the error's text (a Lua traceback, for
/// example), never the run; `select`, `order` and `limits` run before anything moves,
/// and an error there stops the run before it starts.
public protocol Strategy {
    /// The inventory the run works on, given before `limits` and any per-job hook (also
    /// for a resumed run, where `select` is not called), so a strategy that hands out
    /// objects of it (a Lua strategy) can build them. Default: nothing.
    func prepare(_ inventory: Inventory) throws

    /// The jobs to run, given the whole inventory. Default: none.
    func select(_ inventory: Inventory) throws -> [JobRequest]

    /// The jobs in the order they should run, highest priority first (called once,
    /// on every job). Jobs left out are appended in the default order. Default: largest first.
    func order(_ jobs: [Job]) throws -> [Job]

    /// The datastore for a storage move, chosen among `candidates` (the job's allowed
    /// targets that have room for one more Storage vMotion and enough free space, with
    /// moves in flight accounted for; `freeBytes` is reduced accordingly). nil: wait.
    /// Default: the one with the most free space.
    func target(_ job: Job, candidates: [DatastoreInfo]) throws -> MoRef?

    /// Where the `files` of a storage move go (the VM's moving files that land together, or
    /// one file when the move does not keep them together), chosen among `candidates` (as for
    /// `target`, with `freeBytes` less what the job's other files take): one datastore for all,
    /// one per file, or wait. Default: `target`'s answer for all of them.
    func place(_ job: Job, files: [VMFile], candidates: [DatastoreInfo]) throws -> TargetAnswer

    /// The strategy's own reason why `vm` cannot move as `job` asks (VMware Tools not running,
    /// a name pattern, a tag), or nil. Asked once per job when the job is created; a reason
    /// skips the job before anything moves, like the engine's own checks. Default: none.
    func check(_ job: Job, vm: VMInfo) throws -> String?

    /// Overrides of the engine's limits for one cluster (called once per cluster). Default: none.
    func limits(_ cluster: ClusterInfo) throws -> LimitOverrides

    /// Overrides of the engine's per-vCenter limits (called once, before the per-cluster
    /// `limits`): for example fewer concurrent jobs than the engine's 256 for a busy vCenter.
    /// `--max-concurrent` (`SchedulerConfiguration.vcenterMaxJobsOverride`) wins over it. Default: none.
    func vcenterLimits(_ inventory: Inventory) throws -> VCenterLimitOverrides

    /// The job is blocked only because its VM's host is full, and another host of the
    /// cluster has room: vMotion the VM there first (`.vmotion`) or wait (`.wait`). Default: wait.
    func onBlocked(_ job: Job, _ info: BlockedInfo) throws -> BlockedDecision

    /// A call or task of the job failed; every failure comes here. `failure.willRetry` says
    /// whether the engine retries on its own (the fault's rule in the retry policy has
    /// retries left). Answer nil to let it do so (retry if `willRetry`, else skip), or decide.
    /// A job at `RetryPolicy.attemptLimit` fails whatever the answer. Default: the older
    /// `onFailure(_:_:attempt:)`, asked only when the engine would not retry.
    func onFailure(_ job: Job, _ failure: JobFailure) throws -> FailureDecision?

    /// The older form of `onFailure(_:_:)`: asked only for failures the engine does not retry
    /// on its own. `attempt` is the attempt that failed (1-based). Default: skip the job.
    func onFailure(_ job: Job, _ fault: VCenterFault, attempt: Int) throws -> FailureDecision

    /// The retry policy of the run, given the engine's (`SchedulerConfiguration.retry`):
    /// retries per fault type, backoff, the attempt limit. Asked once. Default: unchanged.
    func retryPolicy(_ base: RetryPolicy) throws -> RetryPolicy

    /// The job ended well. Default: nothing.
    func onDone(_ job: Job) throws
}

/// Where a storage move's files go (`Strategy.place`).
public enum TargetAnswer: Sendable, Hashable {
    /// Not now: the job waits for room elsewhere or a better moment.
    case wait
    /// Every file to this datastore.
    case together(MoRef)
    /// Each file to its own datastore (every file must be named).
    case perFile([VMFileID: MoRef])
}

/// The strategy's answer when a job is blocked only by its VM's host.
public enum BlockedDecision: String, Sendable, Hashable {
    /// vMotion the VM to a host of its cluster with room, then run the job from there.
    case vmotion
    /// Wait until the VM's host has room.
    case wait
}

/// A failure of a job as the strategy hears it (`Strategy.onFailure(_:_:)`).
public struct JobFailure: Sendable, Hashable {
    /// What failed.
    public var fault: VCenterFault
    /// The attempt that failed (1-based).
    public var attempt: Int
    /// Whether the engine retries on its own if the strategy answers nil.
    public var willRetry: Bool
    /// When that retry would start.
    public var retryAt: Date?
    /// The retry rule the fault falls under, its retries used before this failure and allowed.
    public var rule: RetryRule
    public var retriesUsed: Int
    public var retriesAllowed: Int
    /// Whether the job has used `RetryPolicy.attemptLimit`: it fails whatever the answer.
    public var atLimit: Bool

    /// A failure record.
    public init(fault: VCenterFault, attempt: Int, willRetry: Bool, retryAt: Date? = nil, rule: RetryRule = .none,
                retriesUsed: Int = 0, retriesAllowed: Int = 0, atLimit: Bool = false) {
        self.fault = fault
        self.attempt = attempt
        self.willRetry = willRetry
        self.retryAt = retryAt
        self.rule = rule
        self.retriesUsed = retriesUsed
        self.retriesAllowed = retriesAllowed
        self.atLimit = atLimit
    }
}

/// The strategy's answer to a failure.
public enum FailureDecision: String, Sendable, Hashable {
    /// Try the job again (after the retry policy's backoff).
    case retry
    /// Give up on this job; the run goes on.
    case skip
    /// Stop dispatching; running tasks finish, then the run ends.
    case abort
}

extension Strategy {
    public func prepare(_ inventory: Inventory) throws {}
    public func select(_ inventory: Inventory) throws -> [JobRequest] { [] }
    public func order(_ jobs: [Job]) throws -> [Job] { DefaultOrder.largestFirst(jobs) }
    public func target(_ job: Job, candidates: [DatastoreInfo]) throws -> MoRef? { DefaultOrder.mostFreeSpace(candidates) }
    public func place(_ job: Job, files: [VMFile], candidates: [DatastoreInfo]) throws -> TargetAnswer {
        try target(job, candidates: candidates).map(TargetAnswer.together) ?? .wait
    }
    public func check(_ job: Job, vm: VMInfo) throws -> String? { nil }
    public func limits(_ cluster: ClusterInfo) throws -> LimitOverrides { .none }
    public func vcenterLimits(_ inventory: Inventory) throws -> VCenterLimitOverrides { .none }
    public func onBlocked(_ job: Job, _ info: BlockedInfo) throws -> BlockedDecision { .wait }
    public func onFailure(_ job: Job, _ failure: JobFailure) throws -> FailureDecision? {
        failure.willRetry ? nil : try onFailure(job, failure.fault, attempt: failure.attempt)
    }
    public func onFailure(_ job: Job, _ fault: VCenterFault, attempt: Int) throws -> FailureDecision { .skip }
    public func retryPolicy(_ base: RetryPolicy) throws -> RetryPolicy { base }
    public func onDone(_ job: Job) throws {}
}

/// The default policies, for strategies that want to call them explicitly.
public enum DefaultOrder {
    /// Largest committed size first; ties by job id (the order the strategy selected them).
    public static func largestFirst(_ jobs: [Job]) -> [Job] {
        // Sort positions, not the (large) job values.
        let keys = jobs.map { ($0.size, $0.id) }
        let order = keys.indices.sorted { a, b in keys[a].0 != keys[b].0 ? keys[a].0 > keys[b].0 : keys[a].1 < keys[b].1 }
        return order.map { jobs[$0] }
    }

    /// The candidate with the most free space; ties by name.
    public static func mostFreeSpace(_ candidates: [DatastoreInfo]) -> MoRef? {
        candidates.max { a, b in a.freeBytes != b.freeBytes ? a.freeBytes < b.freeBytes : a.name > b.name }?.ref
    }
}
