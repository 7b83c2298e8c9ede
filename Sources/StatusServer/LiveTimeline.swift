import Foundation
import Gantt
import MigrationEngine
import VCenterModel

/// The live page's timeline: the run so far as `Gantt` data (the chart `plan --out` draws),
/// one bar per job that was ever dispatched, from its dispatch to its end (the part before
/// vCenter started the task lighter); running jobs reach `now`, failed ones are red.
public enum LiveTimeline {
    /// The bar kinds, in the order of `Gantt.dataJSON`'s `kinds`.
    static let kinds = ["storageVMotion", "vMotion", "hostAndStorageVMotion", "consolidateDisks", "removeSnapshot", "custom"]

    /// The Gantt kind of a job.
    static func kind(_ kind: JobKind) -> Int {
        switch kind {
        case .storageMove: 0
        case .hostMove: 1
        case .storageAndHostMove: 2
        case .consolidate: 3
        case .removeSnapshot: 4
        case .custom: 5
        }
    }

    /// The chart's JSON for `tracker`'s jobs at `now`.
    public static func json(_ tracker: ProgressTracker, now: Date) -> String {
        let (jobs, names, startedAt) = tracker.timeline()
        var bars: [GanttBar] = []
        var hostCluster: [MoRef: MoRef] = [:]
        for job in jobs {
            if let h = job.sourceHost, let c = job.cluster { hostCluster[h] = c }
            guard let queued = job.dispatchedAt ?? job.startedAt else { continue }
            let ended = job.state.isTerminal ? (job.finishedAt ?? now) : nil
            bars.append(GanttBar(
                kind: kind(job.kind), vm: job.vm, vmName: job.vmName, queued: queued, started: job.startedAt ?? (ended != nil ? queued : nil),
                ended: ended, bytes: job.kind.movesStorage ? job.size : 0,
                fault: job.state == .failed ? (job.lastError ?? "failed") : nil,
                sourceHost: job.sourceHost, destinationHost: job.kind.destinationHost,
                sourceDatastores: job.kind.movesStorage ? job.sourceDatastores : [],
                destinationDatastore: job.kind.movesStorage ? job.target : nil, cluster: job.cluster))
        }
        bars.sort { $0.queued < $1.queued }
        func named(_ type: String) -> [(ref: MoRef, name: String)] {
            names.filter { $0.key.type == type }.map { (ref: $0.key, name: $0.value) }.sorted { $0.name < $1.name }
        }
        let gantt = GanttNames(clusters: named("ClusterComputeResource"),
                               hosts: named("HostSystem").map { (ref: $0.ref, name: $0.name, cluster: hostCluster[$0.ref]) },
                               datastores: named("Datastore"))
        let origin = startedAt ?? bars.first?.queued ?? now
        return Gantt.dataJSON(bars: bars, kinds: kinds, names: gantt, groupBy: .host, origin: origin, wallClock: origin, now: now)
    }
}

extension LiveTimeline {
    /// A timeline with no bar yet.
    static let empty = Gantt.dataJSON(bars: [], kinds: kinds, names: GanttNames(clusters: [], hosts: [], datastores: []), groupBy: .host,
                                      origin: Date(timeIntervalSince1970: 0), wallClock: Date(timeIntervalSince1970: 0),
                                      now: Date(timeIntervalSince1970: 0))
}
