import Foundation
import VCenterModel

/// A forecast of the run's end (`ForecastSimulation`): the jobs still to run re-simulated on
/// virtual time with the rates measured so far. What the progress display, `/api/status`,
/// the metrics and `moonmotion status` show as the ETA once there is one (journaled as an
/// event of type `forecast`).
public struct RunForecast: Sendable, Hashable {
    /// The run time the forecast was made at (its `now`).
    public var madeAt: Date
    /// When the last remaining job is predicted to end (`madeAt` when nothing remains).
    public var end: Date
    /// The predicted end of each cluster's last remaining job (clusters with work left only).
    public var clusters: [MoRef: Date]
    /// Jobs the forecast simulated (pending, dispatching or running when it was made).
    public var jobs: Int
    /// False when some job would not end in the simulation (held by the strategy, waiting for
    /// an answer the forecast cannot give): `end` is then when the rest ends.
    public var complete: Bool

    /// A forecast.
    public init(madeAt: Date, end: Date, clusters: [MoRef: Date] = [:], jobs: Int = 0, complete: Bool = true) {
        self.madeAt = madeAt
        self.end = end
        self.clusters = clusters
        self.jobs = jobs
        self.complete = complete
    }

    /// Seconds left at `now` (never negative).
    public func remaining(at now: Date) -> TimeInterval { max(0, end.timeIntervalSince(now)) }
}
