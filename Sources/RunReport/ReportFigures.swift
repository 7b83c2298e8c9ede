import Foundation

/// The figures of a set of VMs (the whole run, or one cluster): how many ended how, bytes,
/// and the span their moves took.
public struct ReportFigures: Sendable, Hashable {
    /// The set's name (`all`, or the cluster's name).
    public var name: String
    /// VMs in the set.
    public var vms = 0
    /// VMs by result (`ReportVM.result`); results with no VM are absent.
    public var byResult: [ReportResult: Int] = [:]
    /// Bytes copied by moves recorded done.
    public var bytesDone: Int64 = 0
    /// Bytes the set's moves copy, done or not (not those of blocked or skipped jobs).
    public var bytesTotal: Int64 = 0
    /// The first move's start (or dispatch).
    public var firstStart: Date?
    /// The last recorded end of a move.
    public var lastEnd: Date?

    /// VMs with `result`.
    public func count(_ result: ReportResult) -> Int { byResult[result] ?? 0 }

    /// Seconds from the first start to the last end (0 when nothing ran).
    public var busySeconds: TimeInterval {
        guard let firstStart, let lastEnd, lastEnd > firstStart else { return 0 }
        return lastEnd.timeIntervalSince(firstStart)
    }

    /// Bytes done ÷ busy seconds; nil when nothing was copied.
    public var rate: Double? { busySeconds > 0 && bytesDone > 0 ? Double(bytesDone) / busySeconds : nil }

    /// The figures of `vms`.
    init(name: String, vms list: [ReportVM]) {
        self.name = name
        vms = list.count
        for vm in list {
            byResult[vm.result, default: 0] += 1
            bytesDone += vm.bytesDone
            for job in vm.jobs {
                if job.result != .blocked && job.result != .skipped { bytesTotal += job.bytes }
                if let s = job.started ?? job.queued { firstStart = min(firstStart ?? s, s) }
                if let e = job.ended, job.attempts > 0 { lastEnd = max(lastEnd ?? e, e) }
            }
        }
    }
}
