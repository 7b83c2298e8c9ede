import Foundation
import VCenterModel

/// What a run is doing at one moment, as everyone who watches it sees it: `moonmotion
/// status` (read from the journal), and the running process's `--listen` page,
/// `/api/status` and `/metrics`. One value, one JSON form (`document`), so the views agree
/// by construction; the only difference between a live status and one read from the
/// journal is what the journal does not hold (see `RunStatus+Journal.swift`).
///
/// Holds names, counts, sizes, times and reasons; never a password, cookie or session id
/// (the journal holds none, and the vCenter is named by its display name only).
public struct RunStatus: Sendable {
    /// Where the run is in its life.
    public enum Phase: String, Sendable, Hashable, Codable {
        /// Reading the inventory and creating jobs; nothing started yet.
        case starting
        /// Starting tasks as room frees.
        case dispatching
        /// Ctrl-C was pressed: no new task starts; the running ones finish.
        case draining
        /// The run ended (`outcome` says how).
        case done
        /// The journal says running, but no process runs it (killed, crashed): `--resume`
        /// continues it.
        case interrupted
    }

    /// The strategy's name (the script as given).
    public var strategy: String
    /// The vCenter's display name (never credentials).
    public var vcenter: String
    /// Where the run is.
    public var phase: Phase
    /// The progress: per cluster and overall, running tasks, recent failures.
    public var progress: ProgressSnapshot
    /// Where the figures come from: `live` (the running process) or `journal`.
    public var source: String

    /// Creates a status.
    public init(strategy: String, vcenter: String, phase: Phase, progress: ProgressSnapshot, source: String) {
        self.strategy = strategy
        self.vcenter = vcenter
        self.phase = phase
        self.progress = progress
        self.source = source
    }

    /// The phase of a live run: done once it has an outcome, draining after a stop request,
    /// starting before the run started, else dispatching.
    public static func livePhase(_ progress: ProgressSnapshot, stopRequested: Bool) -> Phase {
        if progress.outcome != nil { return .done }
        if stopRequested { return .draining }
        return progress.startedAt == nil ? .starting : .dispatching
    }

    // MARK: JSON

    /// The status as a JSON document (`/api/status`, `moonmotion status --json`).
    public var document: Document { Document(self) }

    /// The status as compact JSON with sorted keys.
    public func json(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Every field is a plain value: encoding cannot fail.
        return (try? encoder.encode(document)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The JSON form of a status. Times are ISO 8601, durations and rates in seconds and
    /// bytes per second.
    public struct Document: Codable, Sendable, Hashable {
        /// Counts and bytes of a set of jobs (`ProgressTotals`).
        public struct Totals: Codable, Sendable, Hashable {
            public var jobs: Int
            public var done: Int
            public var failed: Int
            public var skipped: Int
            public var running: Int
            public var pending: Int
            public var bytesTotal: Int64
            public var bytesDone: Int64
            /// Bytes per second over the rate window.
            public var rate: Double
            /// Seconds left: the latest forecast's when there is one (`etaSource` `forecast`),
            /// else at `rate` (`rate`); nil when it cannot be estimated.
            public var eta: Double?
            /// `forecast` or `rate`: which `eta` is.
            public var etaSource: String?
            /// When the work is predicted to end (now + `eta`).
            public var predictedEnd: Date?
            /// Seconds left at `rate`, whichever `eta` is.
            public var rateEta: Double?
            /// Share of the bytes copied, 0…1.
            public var fraction: Double

            init(_ t: ProgressTotals) {
                jobs = t.jobs
                done = t.done
                failed = t.failed
                skipped = t.skipped
                running = t.running
                pending = t.pending
                bytesTotal = t.bytesTotal
                bytesDone = t.bytesDone
                rate = (t.rate * 10).rounded() / 10
                eta = t.eta.map { $0.rounded() }
                etaSource = t.etaSource?.rawValue
                predictedEnd = t.predictedEnd.map(Document.whole)
                rateEta = t.rateEta.map { $0.rounded() }
                fraction = (t.fraction * 10_000).rounded() / 10_000
            }
        }

        /// One cluster's figures.
        public struct Cluster: Codable, Sendable, Hashable {
            public var name: String
            public var totals: Totals
        }

        /// One running task (`RunningTask`).
        public struct Task: Codable, Sendable, Hashable {
            public var job: Int
            public var vm: String
            public var cluster: String?
            public var kind: String
            /// Percent done as vCenter reports it; nil before the first report (and always
            /// when read from the journal, which does not record progress).
            public var percent: Int?
            public var size: Int64
            public var startedAt: Date?
            /// `old-01 → new-03`, `esx-1 → esx-2`, or the operation's name.
            public var route: String
            /// The VM's host.
            public var host: String?
            /// The host it moves to, when it changes host.
            public var destinationHost: String?
            /// The datastores it copies from.
            public var sourceDatastores: [String]
            /// The datastore it copies to.
            public var destinationDatastore: String?
        }

        public var strategy: String
        public var vcenter: String
        public var phase: Phase
        /// How the run ended (`completed`, `stopped`, …); nil while it goes.
        public var outcome: String?
        public var resumed: Bool
        public var source: String
        public var startedAt: Date?
        public var now: Date
        /// Seconds since the start.
        public var elapsed: Double
        public var overall: Totals
        public var clusters: [Cluster]
        public var running: [Task]
        /// The latest failures and skips, newest last: `vm: state: reason`.
        public var failures: [String]
        /// Task failures by fault type, retried ones included (a status read from the journal
        /// counts the final failures only: retries are not replayed).
        public var faults: [String: Int]
        /// When the latest forecast was made (nil before the first).
        public var forecastMadeAt: Date?

        init(_ s: RunStatus) {
            let p = s.progress
            strategy = s.strategy
            vcenter = s.vcenter
            phase = s.phase
            outcome = p.outcome?.name
            resumed = p.resumed
            source = s.source
            startedAt = p.startedAt.map(Self.whole)
            now = Self.whole(p.now)
            elapsed = p.elapsed.rounded()
            overall = Totals(p.overall)
            clusters = p.clusters.map { Cluster(name: $0.name, totals: Totals($0.totals)) }
            running = p.running.map {
                Task(job: $0.job.rawValue, vm: $0.vmName, cluster: $0.cluster, kind: $0.kind, percent: $0.percent, size: $0.size,
                     startedAt: $0.startedAt.map(Self.whole), route: $0.route, host: $0.host, destinationHost: $0.destinationHost,
                     sourceDatastores: $0.sourceDatastores, destinationDatastore: $0.destinationDatastore)
            }
            failures = p.recentFailures
            faults = p.faults
            forecastMadeAt = p.forecast.map { Self.whole($0.madeAt) }
        }

        /// Whole seconds: ISO 8601 as JSONEncoder writes it has no fraction, so a date read
        /// back equals the one written.
        static func whole(_ d: Date) -> Date { Date(timeIntervalSince1970: d.timeIntervalSince1970.rounded(.down)) }
    }
}
