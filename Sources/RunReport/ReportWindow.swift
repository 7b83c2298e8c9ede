import Foundation
import MigrationEngine
import VCenterModel

/// One change window of a run (`--window`) as the report shows it: when it opened and closed,
/// the moves started in it, and the one that ran furthest past its close beside the error of
/// the prediction it was started on — a move may overrun a window only by what its prediction
/// got wrong (the scheduler starts a move only if it is predicted to end inside the window).
public struct ReportWindow: Sendable, Hashable {
    /// When it opened (for the window the run started in, the run's start) and closes.
    public var start: Date
    public var end: Date
    /// Jobs started (dispatched) inside it.
    public var started: Int
    /// The latest end among them (nil: none has ended).
    public var lastEnd: Date?
    /// Seconds the latest-ending move ran past the close (≤ 0: it ended inside).
    public var overrun: TimeInterval?
    /// That move's VM.
    public var overrunVM: String?
    /// That move's recorded prediction error: its end − the end predicted when it started
    /// (positive: later than predicted); nil when no prediction was journaled.
    public var predictionError: TimeInterval?

    /// The windows of `intervals` with the jobs started in each; `predicted` is each job's
    /// journaled predicted end (`EventRecord.predictedEnd`).
    static func windows(_ intervals: [DateInterval], jobs: [Job], predicted: [JobID: Date]) -> [ReportWindow] {
        intervals.map { w in
            let inside = jobs.filter { job in
                guard let d = job.dispatchedAt ?? job.startedAt else { return false }
                return w.start <= d && d < w.end
            }
            let latest = inside.filter { $0.finishedAt != nil }.max { $0.finishedAt! < $1.finishedAt! }
            return ReportWindow(
                start: w.start, end: w.end, started: inside.count, lastEnd: latest?.finishedAt,
                overrun: latest?.finishedAt.map { $0.timeIntervalSince(w.end) }, overrunVM: latest?.vmName,
                predictionError: latest.flatMap { job in predicted[job.id].flatMap { p in job.finishedAt.map { $0.timeIntervalSince(p) } } })
        }
    }
}
