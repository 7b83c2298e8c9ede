import MigrationEngine

/// How a job — or a VM, from its jobs — ended, as far as the journal knows.
///
/// The journal is the only witness: a move counts as `done` only when a committed step
/// recorded its success. A task that vCenter completed after the last committed step (the
/// process was killed before it could write it) is `unfinished` here, which is what a
/// `--resume` would find out and record.
public enum ReportResult: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Recorded done (moved, or already on its target).
    case done
    /// Recorded failed for good.
    case failed
    /// Skipped when created: the VM cannot move as asked (`Job.cannotMove`; the reason says why).
    case blocked
    /// Skipped by the strategy (or the engine: never the same VM twice).
    case skipped
    /// Started, but no end is recorded: running when the journal was last written, or
    /// waiting for a retry.
    case unfinished
    /// Never started.
    case notStarted = "not-started"

    /// The result of a journaled job.
    public init(_ job: Job) {
        switch job.state {
        case .done: self = .done
        case .failed: self = .failed
        case .skipped: self = job.cannotMove ? .blocked : .skipped
        case .dispatching, .running: self = .unfinished
        case .pending: self = job.attempts > 0 || job.dispatchedAt != nil ? .unfinished : .notStarted
        }
    }

    /// The words the page and the CSV use.
    public var label: String {
        switch self {
        case .done: "done"
        case .failed: "failed"
        case .blocked: "blocked"
        case .skipped: "skipped"
        case .unfinished: "unfinished"
        case .notStarted: "not started"
        }
    }

    /// Which result a VM with jobs of several results shows: the one that needs attention
    /// first (a failure before anything unfinished, before what never started, …; `done`
    /// only when every job is done).
    var severity: Int {
        switch self {
        case .failed: 0
        case .unfinished: 1
        case .notStarted: 2
        case .blocked: 3
        case .skipped: 4
        case .done: 5
        }
    }

    public static func < (a: ReportResult, b: ReportResult) -> Bool { a.severity < b.severity }
}
