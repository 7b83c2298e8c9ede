import Foundation
import Gantt
import VCenterModel

/// A timeline of a simulated run as ONE self-contained HTML file: a Gantt chart with a
/// row per host, datastore or cluster, each task a bar from its creation to its
/// completion (the time it waited in state `queued` lighter), coloured by kind, failed
/// tasks in red; hovering shows the VM, its size, from → to and the times. The time axis
/// counts hours from the start; a header gives the makespan, VMs and bytes moved.
///
/// The chart itself is `Gantt` (shared with the live status page of `run --listen`); this
/// type turns the simulator's task records into its bars. No external asset and no
/// network: a Content-Security-Policy forbids any fetch. Names reach the page only as
/// escaped JSON, read back with `textContent`.
public enum TimelineChart {
    /// What a row is.
    public typealias Grouping = Gantt.Grouping

    /// The chart as an HTML document.
    /// - Parameters:
    ///   - stats: the simulator's statistics after the run.
    ///   - inventory: the inventory the run started from (row names, clusters).
    ///   - groupBy: the initial grouping (the page can switch).
    ///   - title: shown in the header and the window title.
    ///   - runStart: offset 0 of the time axis; nil: `stats.startTime`.
    ///   - windowStart: the wall-clock time of offset 0 shown in tooltips; nil: `runStart`.
    public static func html(
        stats: SimulatorStats, inventory: Inventory, groupBy: Grouping, title: String,
        runStart: Date? = nil, windowStart: Date? = nil
    ) -> String {
        let origin = runStart ?? stats.startTime
        let data = dataJSON(stats: stats, inventory: inventory, groupBy: groupBy, origin: origin, wallClock: windowStart ?? origin)
        let lastEnd = stats.tasks.compactMap(\.completeTime).max().map { max(0, $0.timeIntervalSince(origin)) } ?? 0
        let failed = stats.tasks.filter { $0.state == .error }.count
        let unfinished = stats.tasks.filter { !$0.state.isTerminal }.count
        var facts = [
            "makespan \(PlanFormat.duration(lastEnd))",
            "\(PlanFormat.count(stats.movesPerVM.count)) VMs moved",
            "\(PlanFormat.bytes(stats.bytesMoved)) copied",
            "\(PlanFormat.count(stats.tasks.count)) tasks",
            failed == 0 ? "no failures" : "\(PlanFormat.count(failed)) failed",
        ]
        if unfinished > 0 { facts.append("\(PlanFormat.count(unfinished)) unfinished") }
        if stats.tasksQueuedByLimit > 0 { facts.append("\(PlanFormat.count(stats.tasksQueuedByLimit)) queued at vCenter by a limit") }
        let kinds = SimulatedTaskKind.allCases.filter { kind in stats.tasks.contains { $0.kind == kind } || kind == .storageVMotion }

        var html = ""
        html.reserveCapacity(data.utf8.count + 30_000)
        html += """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Gantt.escape(title)) — timeline by \(groupBy.rawValue)</title>
        <style>\(Gantt.style)</style>
        </head>
        <body>
        <header>
        <h1>\(Gantt.escape(title))</h1>
        <p class="facts">\(facts.map(Gantt.escape).joined(separator: " · "))</p>
        <p class="legend">\(Gantt.legend(kinds: kinds.map(\.rawValue)))</p>
        \(Gantt.controls(groupBy: groupBy))
        </header>
        \(Gantt.body)
        <noscript><p>The timeline is drawn by an inline script; enable JavaScript to see it.</p></noscript>
        <script type="application/json" id="timeline-data">
        """
        html += data
        html += "</script>\n<script>\n"
        html += Gantt.script
        html += "</script>\n</body>\n</html>\n"
        return html
    }

    /// The chart's data (`Gantt.dataJSON`): one bar per task in creation order.
    static func dataJSON(stats: SimulatorStats, inventory: Inventory, groupBy: Grouping, origin: Date, wallClock: Date) -> String {
        let kinds = SimulatedTaskKind.allCases
        var kindIndex: [SimulatedTaskKind: Int] = [:]
        for (i, k) in kinds.enumerated() { kindIndex[k] = i }
        let bars = stats.tasks.map { t in
            GanttBar(kind: kindIndex[t.kind] ?? 0, vm: t.entity, vmName: t.entityName, queued: t.queueTime, started: t.startTime,
                     ended: t.completeTime, bytes: t.bytes, fault: t.state == .error ? (t.error?.description ?? "failed") : nil,
                     sourceHost: t.sourceHost, destinationHost: t.destinationHost, sourceDatastores: t.sourceDatastores,
                     destinationDatastore: t.destinationDatastore, cluster: PlanReport.cluster(of: t, in: inventory))
        }
        let names = GanttNames(clusters: inventory.clusters.map { ($0.ref, $0.name) },
                               hosts: inventory.hosts.map { ($0.ref, $0.name, $0.cluster) },
                               datastores: inventory.datastores.map { ($0.ref, $0.name) })
        return Gantt.dataJSON(bars: bars, kinds: kinds.map(\.rawValue), names: names, groupBy: groupBy, origin: origin,
                              wallClock: wallClock, now: stats.now)
    }
}
