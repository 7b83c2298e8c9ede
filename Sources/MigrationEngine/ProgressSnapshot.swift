import Foundation
import VCenterModel

/// Counts and bytes for a set of jobs (one cluster, or the whole run).
public struct ProgressTotals: Sendable, Hashable {
    /// Jobs in all (pro-active vMotions excluded).
    public var jobs = 0
    /// Jobs done.
    public var done = 0
    /// Jobs failed.
    public var failed = 0
    /// Jobs skipped.
    public var skipped = 0
    /// Jobs dispatching or running.
    public var running = 0
    /// Jobs waiting.
    public var pending = 0
    /// Bytes the storage moves copy (failed, skipped and already-placed VMs excluded).
    public var bytesTotal: Int64 = 0
    /// Bytes copied: finished moves plus the running ones' reported share.
    public var bytesDone: Int64 = 0
    /// Recent copy rate, bytes per second.
    public var rate: Double = 0
    /// Time left at `rate`, when it can be estimated.
    public var eta: TimeInterval?
    /// Where `eta` comes from: the latest forecast, or the rate (before the first forecast,
    /// or for work the forecast did not know of).
    public var etaSource: ETASource?
    /// When the work is predicted to end (`now` + `eta`).
    public var predictedEnd: Date?
    /// Bytes left ÷ `rate`: the rate-based ETA, whichever one `eta` is.
    public var rateEta: TimeInterval?

    /// Creates empty totals.
    public init() {}

    /// Jobs that ended (done, failed or skipped).
    public var ended: Int { done + failed + skipped }

    /// Share of bytes copied, 0…1 (jobs ended when no bytes are involved).
    public var fraction: Double {
        if bytesTotal > 0 { return min(1, Double(bytesDone) / Double(bytesTotal)) }
        return jobs == 0 ? 1 : Double(ended) / Double(jobs)
    }
}

/// Which ETA a progress figure shows.
public enum ETASource: String, Sendable, Hashable {
    /// The remaining jobs re-simulated with the measured rates (`RunForecast`).
    case forecast
    /// Bytes left ÷ the recent rate (`ProgressTracker.rateWindow`).
    case rate
}

/// One running task, for the live display.
public struct RunningTask: Sendable, Hashable {
    /// The job.
    public var job: JobID
    /// The VM's name.
    public var vmName: String
    /// The cluster's name.
    public var cluster: String?
    /// The job kind.
    public var kind: String
    /// Task progress, when reported.
    public var percent: Int?
    /// Bytes the job copies.
    public var size: Int64
    /// When the task started (or was dispatched).
    public var startedAt: Date?
    /// `old-01 → new-03`, `esx-1 → esx-2`, or the operation's name.
    public var route: String
    /// The VM's host when the task started (its name).
    public var host: String?
    /// The host a host move takes the VM to, when it changes host.
    public var destinationHost: String?
    /// The datastores a storage move copies from (names).
    public var sourceDatastores: [String] = []
    /// The datastore a storage move copies to.
    public var destinationDatastore: String?
}

/// The state of a run at one moment, as `ProgressTracker` aggregates it.
public struct ProgressSnapshot: Sendable {
    /// When the run started (nil before `runStarted`).
    public var startedAt: Date?
    /// The moment of the snapshot.
    public var now: Date
    /// How the run ended, once it has.
    public var outcome: RunOutcome?
    /// Whether this is a resumed run.
    public var resumed: Bool
    /// The whole run.
    public var overall: ProgressTotals
    /// Per cluster, by name.
    public var clusters: [(name: String, totals: ProgressTotals)]
    /// Running tasks, longest running first.
    public var running: [RunningTask]
    /// The latest failures, newest last: `vm: reason`.
    public var recentFailures: [String]
    /// Task failures by fault type (`FileLocked`, …), the retried ones included, since the
    /// tracker started.
    public var faults: [String: Int] = [:]
    /// With waves (`Strategy.wave`): `wave 2 of 3` — the lowest wave with jobs still to end.
    public var wave: String?
    /// The latest forecast of the run's end, if one was made.
    public var forecast: RunForecast?

    /// Seconds since the start.
    public var elapsed: TimeInterval { startedAt.map { now.timeIntervalSince($0) } ?? 0 }
}
