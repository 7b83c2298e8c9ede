import Foundation
import MigrationEngine
import VCenterModel

/// The report's timeline: the run's real Gantt chart (`JobTimeline`, as the live page draws
/// it), one bar per job that was dispatched, from its dispatch to its recorded end (the part
/// before vCenter started the task lighter), failed ones red; a job the journal records no end
/// for runs to the report's end. Only the hosts and datastores the run touched get a row (by
/// host, a vMotion on both hosts; by datastore, a Storage vMotion on its sources and its
/// destination), switchable in the page. The change windows the run saw are bands behind it.
enum ReportTimeline {
    /// The bar kinds, in the order of the data's `kinds`.
    static var kinds: [String] { JobTimeline.kinds }

    /// The chart's JSON; `origin` is the run's start, `end` the report's end.
    static func json(jobs: [Job], names: [MoRef: String], origin: Date, end: Date, windows: [DateInterval] = []) -> String {
        JobTimeline.json(jobs: jobs, names: names, origin: origin, now: end, touchedOnly: true, windows: windows)
    }
}
