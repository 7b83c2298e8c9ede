import Foundation
import VCenterModel

/// Everything that tunes the scheduler apart from the strategy.
public struct SchedulerConfiguration: Sendable, Hashable {
    /// The limits for every cluster before `Strategy.limits` overrides.
    public var limits = Limits()
    /// The cost of each operation on each resource.
    public var costs = CostModel()
    /// Backoff for retriable faults.
    public var retry = RetryPolicy()
    /// The priority passed to `RelocateVM_Task` / `MigrateVM_Task`.
    public var movePriority: MovePriority = .defaultPriority
    /// How a pro-active vMotion is performed.
    public var proactiveMethod: HostMoveMethod = .relocate
    /// Maximum concurrent jobs in the vCenter, winning over `limits.vcenterMaxJobs` and the
    /// strategy's `vcenterLimits` (`moonmotion run/plan --max-concurrent N`); nil: theirs.
    public var vcenterMaxJobsOverride: Int?
    /// When looking for the task of a lost call (or of the call made just before a crash),
    /// accept tasks whose start time is up to this much before the call's intent (vCenter's
    /// clock may differ from ours).
    public var clockSkewTolerance: TimeInterval = 300

    /// The defaults: vSphere's limits and costs, 30 s → 10 min backoff (the free space kept on destinations is in `limits.minFree`).
    /// Change windows (`--window`): a move starts only when its predicted end falls inside the
    /// window open now (Scheduler+Windows). Nil: always open.
    public var windows: ChangeWindows?
    /// The copy rate predicted for a move before any was measured, bytes per second, and its
    /// setup time (the plan's default rate model, 150 MiB/s and 15 s; `run --plan` sets the plan's own).
    public var predictedRate: Double = 150 * 1_048_576
    public var predictedOverhead: TimeInterval = 15
    /// End the run when the window closes and running tasks have finished (`--until-window-end`):
    /// outcome `.windowClosed`; `--resume` continues in the next window.
    public var stopAtWindowEnd = false

    public init() {}
}
