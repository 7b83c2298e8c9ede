import Foundation
import VCenterModel

/// One VM of the run: its jobs and what they add up to.
public struct ReportVM: Sendable, Hashable {
    /// The VM's reference.
    public var vm: MoRef
    /// The VM's name.
    public var name: String
    /// Its cluster's name; nil for a standalone host's VM.
    public var cluster: String?
    /// Its jobs, in the order they were created (pro-active vMotions included).
    public var jobs: [ReportJob]

    /// The VM's result: the most pressing of its own jobs' (`ReportResult.severity`); `done`
    /// only when every job the strategy asked for is recorded done. A pro-active vMotion the
    /// engine inserted does not decide it (its storage move does).
    public var result: ReportResult {
        let own = jobs.filter { !$0.proactive }
        return (own.isEmpty ? jobs : own).map(\.result).min() ?? .notStarted
    }

    /// The reason of the job that decides the result.
    public var reason: String? {
        let result = result
        return jobs.first { $0.result == result && $0.reason != nil }?.reason
    }

    /// Bytes copied by its jobs recorded done.
    public var bytesDone: Int64 { jobs.filter { $0.result == .done }.reduce(0) { $0 + $1.bytes } }

    /// Bytes all its jobs copy (done or not).
    public var bytes: Int64 { jobs.reduce(0) { $0 + $1.bytes } }

    /// Its first job's start (or dispatch).
    public var started: Date? { jobs.compactMap { $0.started ?? $0.queued }.min() }

    /// Its last job's end, when every job has one.
    public var ended: Date? {
        let ends = jobs.map(\.ended)
        return ends.contains(nil) ? nil : ends.compactMap { $0 }.max()
    }

    /// Calls made for all its jobs.
    public var attempts: Int { jobs.reduce(0) { $0 + $1.attempts } }
}
