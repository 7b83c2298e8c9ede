import Foundation
import VCenterModel

/// The flat JSON form of an `EngineEvent`: one object per event, fields that do not
/// apply left out. Written by the journal's event log and by `EventLogWriter`
/// (`--events FILE`, JSON lines). Never contains credentials.
public struct EventRecord: Codable, Sendable, Hashable {
    /// ISO 8601 time of the event.
    public var time: String
    /// `run-started`, `job-added`, `job-changed`, `task-progress`, `retry-scheduled`,
    /// `proactive-vmotion`, `external-task`, `pacing`, `forecast`, `warning`, `window-opened`,
    /// `window-closed`, `run-finished`.
    public var type: String
    /// The job id.
    public var job: Int?
    /// The VM reference, `VirtualMachine:vm-42`.
    public var vm: String?
    /// The VM's name.
    public var vmName: String?
    /// The VM's cluster reference.
    public var cluster: String?
    /// The job kind (`storage`, `host`, …).
    public var kind: String?
    /// The job's label.
    public var label: String?
    /// The job (or outside task) state after the event.
    public var state: String?
    /// The state before a `job-changed` event.
    public var from: String?
    /// Attempts made so far.
    public var attempt: Int?
    /// The vCenter task reference.
    public var task: String?
    /// The chosen target datastore.
    public var target: String?
    /// The VM's host when dispatched (or the vMotion's source host).
    public var sourceHost: String?
    /// The VM's datastores when dispatched.
    public var sourceDatastores: [String]?
    /// The destination host of a host move (or of a pro-active vMotion).
    public var host: String?
    /// Bytes the job concerns (committed size; memory for a host move).
    public var size: Int64?
    /// Task progress, percent.
    public var percent: Int?
    /// The last error, one line.
    public var error: String?
    /// When a retry is due, ISO 8601.
    public var retryAt: String?
    /// The job id of an inserted pro-active vMotion.
    public var vmotionJob: Int?
    /// A warning, an outside task's name, or an abort reason.
    public var message: String?
    /// How the run ended.
    public var outcome: String?
    /// Jobs in the run.
    public var jobs: Int?
    /// Bytes the run's storage moves copy.
    public var bytes: Int64?
    /// Whether the run was resumed.
    public var resumed: Bool?
    /// `run-started`: display names of the inventory's clusters, hosts and datastores, by
    /// reference (`ClusterComputeResource:domain-c7` → `prod-a`), so that a reader of the
    /// journal alone (`moonmotion status`) names them as the running process does.
    public var names: [String: String]?
    /// A job's events under change windows: when the scheduler predicted, at its start, that
    /// it would end (ISO 8601; `Job.predictedEnd`).
    public var predictedEnd: String?
    /// `window-opened`: when the window closes (ISO 8601).
    public var windowEnd: String?
    /// `window-closed`: when the next window opens (ISO 8601), if one does within five weeks.
    public var nextWindow: String?
    /// `forecast`: the predicted end of the run, ISO 8601.
    public var end: String?
    /// `forecast`: the predicted end of each cluster with work left, by reference.
    public var clusterEnds: [String: String]?
    /// `forecast`: false when some job would not end in the simulation.
    public var complete: Bool?

    /// The record of `event`.
    public init(_ event: EngineEvent) {
        time = Self.format(event.time)
        switch event.kind {
        case .runStarted(let s):
            type = "run-started"
            jobs = s.jobs
            bytes = s.bytes
            resumed = s.resumed
            names = s.names.isEmpty ? nil : Dictionary(s.names.map { ($0.key.description, $0.value) }, uniquingKeysWith: { a, _ in a })
        case .jobAdded(let j):
            type = "job-added"
            fill(j)
        case .jobChanged(let j, let from):
            type = "job-changed"
            fill(j)
            self.from = from.rawValue
        case .taskProgress(let id, let task, let percent):
            type = "task-progress"
            job = id.rawValue
            self.task = task.description
            self.percent = percent
        case .retryScheduled(let j, let at, let fault):
            type = "retry-scheduled"
            fill(j)
            retryAt = Self.format(at)
            error = fault.description
        case .proactiveVMotion(let id, let vmotion, let from, let to):
            type = "proactive-vmotion"
            job = id.rawValue
            vmotionJob = vmotion.rawValue
            sourceHost = from.description
            host = to.description
        case .externalTask(let info):
            type = "external-task"
            task = info.ref.description
            vm = info.entity?.description
            vmName = info.entityName
            message = info.name
            state = info.state.rawValue
        case .pacingChanged(let change):
            type = "pacing"
            message = change.summary
        case .forecast(let f):
            type = "forecast"
            end = Self.format(f.end)
            clusterEnds = f.clusters.isEmpty ? nil : Dictionary(f.clusters.map { ($0.key.description, Self.format($0.value)) }, uniquingKeysWith: { a, _ in a })
            jobs = f.jobs
            complete = f.complete
        case .warning(let text, let id):
            type = "warning"
            message = text
            job = id?.rawValue
        case .window(let open, let end, let next):
            type = open ? "window-opened" : "window-closed"
            message = open ? end.map { "until \(Self.format($0))" } : next.map { "next opens \(Self.format($0))" }
            windowEnd = open ? end.map(Self.format) : nil
            nextWindow = open ? nil : next.map(Self.format)
        case .runFinished(let o):
            type = "run-finished"
            outcome = o.name
            if case .aborted(let reason) = o { message = reason }
        }
    }

    private mutating func fill(_ j: Job) {
        job = j.id.rawValue
        vm = j.vm.description
        vmName = j.vmName
        cluster = j.cluster?.description
        kind = j.kind.name
        label = j.label
        state = j.state.rawValue
        attempt = j.attempts
        task = j.taskRef?.description
        target = j.target?.description
        sourceHost = j.sourceHost?.description
        sourceDatastores = j.sourceDatastores.isEmpty ? nil : j.sourceDatastores.map(\.description)
        host = j.kind.destinationHost?.description
        size = j.size
        error = j.lastError
        predictedEnd = j.predictedEnd.map(Self.format)
    }

    /// The instant a field of this record names (`time`, `predictedEnd`, `windowEnd`, …).
    public static func date(_ text: String) -> Date? {
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = parser.date(from: text) { return d }
        parser.formatOptions = [.withInternetDateTime]
        return parser.date(from: text)
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// The date of a field written by `format`.
    public static func parse(_ text: String) -> Date? {
        try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The forecast a `forecast` record carries (nil for any other record).
    public var forecast: RunForecast? {
        guard type == "forecast", let at = Self.parse(time), let end = end.flatMap(Self.parse) else { return nil }
        var clusters: [MoRef: Date] = [:]
        for (ref, text) in clusterEnds ?? [:] {
            if let r = MoRef(parsing: ref), let d = Self.parse(text) { clusters[r] = d }
        }
        return RunForecast(madeAt: at, end: end, clusters: clusters, jobs: jobs ?? 0, complete: complete ?? true)
    }

    /// One line of compact JSON with sorted keys.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
