import Foundation
import Gantt
import MigrationEngine
import VCenterModel

/// The report's timeline: the run's real Gantt chart (`Gantt`, as `plan --out` and the live
/// page draw it), one bar per job that was dispatched, from its dispatch to its recorded end
/// (the part before vCenter started the task lighter), failed ones red. A job the journal
/// records no end for runs to the report's end. Rows by host (a vMotion on both hosts) or by
/// datastore (a Storage vMotion on its sources and its destination), switchable in the page.
enum ReportTimeline {
    /// The bar kinds, in the order of `Gantt.dataJSON`'s `kinds` (the live page's).
    static let kinds = ["storageVMotion", "vMotion", "hostAndStorageVMotion", "consolidateDisks", "removeSnapshot", "custom"]

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

    /// The chart's JSON; `origin` is the run's start, `end` the report's end.
    static func json(jobs: [Job], names: [MoRef: String], origin: Date, end: Date) -> String {
        var bars: [GanttBar] = []
        var hostCluster: [MoRef: MoRef] = [:]
        for job in jobs {
            if let h = job.sourceHost, let c = job.cluster { hostCluster[h] = c }
            // A vMotion's destination is in the VM's cluster too, unless a move from it says otherwise.
            if let h = job.kind.destinationHost, let c = job.cluster, hostCluster[h] == nil { hostCluster[h] = c }
            guard let queued = job.dispatchedAt ?? job.startedAt else { continue }
            let ended = job.state.isTerminal ? (job.finishedAt ?? end) : nil
            bars.append(GanttBar(
                kind: kind(job.kind), vm: job.vm, vmName: job.vmName, queued: queued,
                started: job.startedAt ?? (ended != nil ? queued : nil), ended: ended ?? end,
                bytes: job.kind.movesStorage ? job.size : 0,
                fault: job.state == .failed ? (job.lastError ?? "failed") : nil,
                sourceHost: job.sourceHost, destinationHost: job.kind.destinationHost,
                sourceDatastores: job.kind.movesStorage ? job.sourceDatastores : [],
                destinationDatastore: job.kind.movesStorage ? job.target : nil, cluster: job.cluster))
        }
        bars.sort { ($0.queued, $0.vmName) < ($1.queued, $1.vmName) }
        func named(_ type: String) -> [(ref: MoRef, name: String)] {
            names.filter { $0.key.type == type }.map { (ref: $0.key, name: $0.value) }.sorted { $0.name < $1.name }
        }
        // Only the hosts and datastores the run touched get a row.
        var usedHosts = Set<MoRef>(), usedDatastores = Set<MoRef>()
        for bar in bars {
            if let h = bar.sourceHost { usedHosts.insert(h) }
            if let h = bar.destinationHost { usedHosts.insert(h) }
            usedDatastores.formUnion(bar.sourceDatastores)
            if let d = bar.destinationDatastore { usedDatastores.insert(d) }
        }
        let gantt = GanttNames(
            clusters: named("ClusterComputeResource"),
            hosts: named("HostSystem").filter { usedHosts.contains($0.ref) }.map { (ref: $0.ref, name: $0.name, cluster: hostCluster[$0.ref]) },
            datastores: named("Datastore").filter { usedDatastores.contains($0.ref) })
        return Gantt.dataJSON(bars: bars, kinds: kinds, names: gantt, groupBy: .host, origin: origin, wallClock: origin, now: end)
    }
}
