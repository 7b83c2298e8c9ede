import Foundation
import Gantt
import VCenterModel

/// A run's jobs as a `Gantt` chart: the one mapping of job → bar, kind and row names that the
/// run report (`RunReport`'s `ReportTimeline`, from the journal) and the live page
/// (`StatusServer`'s `LiveTimeline`, from the `ProgressTracker`) both draw. It lives here,
/// beside `Job`, because both of those modules import the engine and `Gantt`, while `Gantt`
/// itself sees only `VCenterModel` (the simulator's `plan --out` chart uses it without the engine).
///
/// One bar per job that was ever dispatched, from its dispatch to its end (the part before
/// vCenter started the task lighter); a job still running has no end (the chart draws it to
/// `now`); failed ones are red. Change windows (`--window`) travel with the data as bands.
public enum JobTimeline {
    /// The bar kinds, in the order of the data's `kinds`.
    public static let kinds = ["storageVMotion", "vMotion", "hostAndStorageVMotion", "consolidateDisks", "removeSnapshot", "custom"]

    /// The Gantt kind of a job (its index in `kinds`).
    public static func kind(_ kind: JobKind) -> Int {
        switch kind {
        case .storageMove: 0
        case .hostMove: 1
        case .storageAndHostMove: 2
        case .consolidate: 3
        case .removeSnapshot: 4
        case .custom: 5
        }
    }

    /// The chart's JSON (`Gantt.dataJSON`).
    /// - Parameters:
    ///   - jobs: every job as last known.
    ///   - names: display names of clusters, hosts and datastores by reference.
    ///   - origin: offset 0 (the run's start).
    ///   - now: the instant the data describes (running jobs reach it).
    ///   - touchedOnly: only the hosts and datastores some bar touches get a row (the report:
    ///     a finished run's idle hosts are noise); else every named one (the live page, where
    ///     an idle host is news).
    ///   - windows: the change windows the run saw, drawn as bands behind the bars.
    public static func json(jobs: [Job], names: [MoRef: String], origin: Date, now: Date, touchedOnly: Bool,
                            windows: [DateInterval] = []) -> String {
        var bars: [GanttBar] = []
        bars.reserveCapacity(jobs.count)
        var hostCluster: [MoRef: MoRef] = [:]
        for job in jobs {
            if let h = job.sourceHost, let c = job.cluster { hostCluster[h] = c }
            // A vMotion's destination is in the VM's cluster too, unless a move from it says otherwise.
            if let h = job.kind.destinationHost, let c = job.cluster, hostCluster[h] == nil { hostCluster[h] = c }
            guard let queued = job.dispatchedAt ?? job.startedAt else { continue }
            let ended = job.state.isTerminal ? (job.finishedAt ?? now) : nil
            bars.append(GanttBar(
                kind: kind(job.kind), vm: job.vm, vmName: job.vmName, queued: queued,
                started: job.startedAt ?? (ended != nil ? queued : nil), ended: ended,
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
        var hosts = named("HostSystem"), datastores = named("Datastore")
        if touchedOnly {
            var usedHosts = Set<MoRef>(), usedDatastores = Set<MoRef>()
            for bar in bars {
                if let h = bar.sourceHost { usedHosts.insert(h) }
                if let h = bar.destinationHost { usedHosts.insert(h) }
                usedDatastores.formUnion(bar.sourceDatastores)
                if let d = bar.destinationDatastore { usedDatastores.insert(d) }
            }
            hosts = hosts.filter { usedHosts.contains($0.ref) }
            datastores = datastores.filter { usedDatastores.contains($0.ref) }
        }
        let gantt = GanttNames(
            clusters: named("ClusterComputeResource"),
            hosts: hosts.map { (ref: $0.ref, name: $0.name, cluster: hostCluster[$0.ref]) },
            datastores: datastores)
        return Gantt.dataJSON(bars: bars, kinds: kinds, names: gantt, groupBy: .host, origin: origin, wallClock: origin, now: now,
                              windows: windows)
    }

    /// The change windows a run's boundary events describe (`EngineEvent.Kind.window`, in the
    /// journal `window-opened` / `window-closed`), in order: each opening event with the end
    /// it announced. A window open at the run's start begins, on the chart, at that start.
    public static func windows(_ boundaries: [(time: Date, open: Bool, end: Date?)]) -> [DateInterval] {
        var out: [DateInterval] = []
        for b in boundaries where b.open {
            guard let end = b.end, end > b.time else { continue }
            // A resume re-announces the window it starts in: one band, not two.
            if let last = out.last, b.time <= last.end {
                out[out.count - 1] = DateInterval(start: last.start, end: max(last.end, end))
            } else {
                out.append(DateInterval(start: b.time, end: end))
            }
        }
        return out
    }
}
