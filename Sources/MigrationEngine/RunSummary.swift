import Foundation
import VCenterModel

/// The closing account of a run: what moved, what failed and why, what was
/// skipped, what was left running, how long it took and how many vCenter calls it made.
public struct RunSummary: Sendable {
    /// How the run ended.
    public var outcome: RunOutcome
    /// When the run (or this resumed part of it) started.
    public var startedAt: Date
    /// When the run ended.
    public var endedAt: Date
    /// Every job in its final state, by id.
    public var jobs: [Job]
    /// vCenter requests of the run: every request the connection sent (`VCenter.requestCount`:
    /// log-in, inventory, each start and the task poller's calls — what the server counts),
    /// or the runner's own calls for a backend that does not count them (the simulator).
    public var calls: Int
    /// The highest use seen on each limited resource.
    public var peakUsage: [ResourceUsage]

    /// Creates a summary.
    public init(outcome: RunOutcome, startedAt: Date, endedAt: Date, jobs: [Job], calls: Int, peakUsage: [ResourceUsage]) {
        self.outcome = outcome
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.jobs = jobs
        self.calls = calls
        self.peakUsage = peakUsage
    }

    /// Seconds from start to end.
    public var duration: TimeInterval { endedAt.timeIntervalSince(startedAt) }

    /// Storage moves that completed with a vCenter task (not counting VMs already on target).
    public var moved: [Job] { jobs.filter { $0.kind.movesStorage && $0.state == .done && $0.attempts > 0 } }
    /// Bytes copied by `moved`.
    public var movedBytes: Int64 { moved.reduce(0) { $0 + $1.size } }
    /// Jobs done without a call because the VM was already where it should be.
    public var alreadyOnTarget: [Job] { jobs.filter { $0.state == .done && $0.attempts == 0 } }
    /// Every job that ended well.
    public var done: [Job] { jobs.filter { $0.state == .done } }
    /// Failed jobs (their `lastError` says why).
    public var failed: [Job] { jobs.filter { $0.state == .failed } }
    /// Skipped jobs (their `lastError` says why).
    public var skipped: [Job] { jobs.filter { $0.state == .skipped } }
    /// Jobs skipped before they started because their VM cannot move as asked (each with why).
    public var cannotMove: [Job] { jobs.filter(\.cannotMove) }
    /// Jobs still pending (a stopped or aborted run; `--resume` continues them).
    public var pending: [Job] { jobs.filter { $0.state == .pending } }
    /// Pending jobs the strategy holds (its target hook answered "wait"): never failures.
    public var held: [Job] { jobs.filter { $0.state == .pending && $0.heldByStrategy } }
    /// Jobs whose tasks were left running in vCenter (an abandoned run).
    public var leftRunning: [Job] { jobs.filter { $0.state.isActive } }
    /// Pro-active vMotions the engine inserted.
    public var proactiveVMotions: [Job] { jobs.filter(\.isProactive) }

    /// vCenter calls per VM that moved (the goal is at most 3).
    public var callsPerMovedVM: Double {
        let n = Set(moved.map(\.vm)).count
        return n == 0 ? 0 : Double(calls) / Double(n)
    }
}
