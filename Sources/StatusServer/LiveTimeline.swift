import Foundation
import Gantt
import MigrationEngine
import VCenterModel

/// The live page's timeline: the run so far as `Gantt` data (`JobTimeline`, the chart the
/// report draws too), one bar per job that was ever dispatched; running jobs reach `now`.
/// Every host and datastore of the inventory gets a row, idle ones too. With change windows,
/// the windows from the run's start to a day past `now` are bands (the next one shows coming).
public enum LiveTimeline {
    /// The bar kinds, in the order of the data's `kinds`.
    static var kinds: [String] { JobTimeline.kinds }

    /// The chart's JSON for `tracker`'s jobs at `now`, with the run's change windows (`--window`).
    public static func json(_ tracker: ProgressTracker, now: Date, windows: ChangeWindows? = nil) -> String {
        let (jobs, names, startedAt) = tracker.timeline()
        let first = jobs.compactMap { $0.dispatchedAt ?? $0.startedAt }.min()
        let origin = startedAt ?? first ?? now
        let bands = windows?.windows(from: origin, to: now.addingTimeInterval(86_400)) ?? []
        return JobTimeline.json(jobs: jobs, names: names, origin: origin, now: now, touchedOnly: false, windows: bands)
    }
}

extension LiveTimeline {
    /// A timeline with no bar yet.
    static let empty = Gantt.dataJSON(bars: [], kinds: kinds, names: GanttNames(clusters: [], hosts: [], datastores: []), groupBy: .host,
                                      origin: Date(timeIntervalSince1970: 0), wallClock: Date(timeIntervalSince1970: 0),
                                      now: Date(timeIntervalSince1970: 0))
}
