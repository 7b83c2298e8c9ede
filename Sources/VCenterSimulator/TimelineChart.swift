import Foundation
import VCenterModel

/// A timeline of a simulated run as ONE self-contained HTML file: a Gantt chart with a
/// row per host, datastore or cluster, each task a bar from its creation to its
/// completion (the time it waited in state `queued` lighter), coloured by kind, failed
/// tasks in red; hovering shows the VM, its size, from → to and the times. The time axis
/// counts hours from the start; a header gives the makespan, VMs and bytes moved.
///
/// No external asset and no network: the data is embedded as compact JSON and a small
/// inline script draws only the visible rows on a canvas, so 100,000 tasks stay usable
/// (scroll, Ctrl+wheel or +/− to zoom, 0 to fit). A Content-Security-Policy forbids any
/// fetch. Names reach the page only as escaped JSON, read back with `textContent`.
public enum TimelineChart {
    /// What a row is.
    public enum Grouping: String, Sendable, Hashable, CaseIterable {
        /// One row per host; a vMotion shows on its source and its destination host.
        case host
        /// One row per datastore; a Storage vMotion shows on its source and destination datastores.
        case datastore
        /// One row per cluster.
        case cluster
    }

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

        var legend = ""
        for kind in SimulatedTaskKind.allCases where stats.tasks.contains(where: { $0.kind == kind }) || kind == .storageVMotion {
            legend += "<span class=\"key\"><i style=\"background:\(color(kind))\"></i>\(escape(PlanReport.kindName(kind.rawValue)))</span>"
        }
        legend += "<span class=\"key\"><i style=\"background:#d93025\"></i>failed</span>"
        legend += "<span class=\"key\"><i style=\"background:#3a6fc4;opacity:.35\"></i>queued (lighter)</span>"

        var options = ""
        for g in Grouping.allCases {
            options += "<option value=\"\(g.rawValue)\"\(g == groupBy ? " selected" : "")>by \(g.rawValue)</option>"
        }

        var html = ""
        html.reserveCapacity(data.utf8.count + 16_000)
        html += """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) — timeline by \(groupBy.rawValue)</title>
        <style>\(style)</style>
        </head>
        <body>
        <header>
        <h1>\(escape(title))</h1>
        <p class="facts">\(facts.map(escape).joined(separator: " · "))</p>
        <p class="legend">\(legend)</p>
        <p class="controls"><label>rows <select id="group">\(options)</select></label>
        <button id="zoom-out" title="zoom out (−)">−</button><button id="zoom-in" title="zoom in (+)">+</button><button id="zoom-fit" title="fit the whole run (0)">fit</button>
        <span class="hint">hours from the start · Ctrl+wheel or +/− zooms · hover a bar for details</span></p>
        </header>
        <main id="wrap"><div id="scroller"><div id="spacer"></div></div><canvas id="chart"></canvas></main>
        <div id="tip" role="tooltip"></div>
        <noscript><p>The timeline is drawn by an inline script; enable JavaScript to see it.</p></noscript>
        <script type="application/json" id="timeline-data">
        """
        html += data
        html += "</script>\n<script>\n"
        html += script
        html += "</script>\n</body>\n</html>\n"
        return html
    }

    /// A bar's colour for a task kind (failed tasks are red whatever their kind).
    static func color(_ kind: SimulatedTaskKind) -> String {
        switch kind {
        case .storageVMotion: "#3a6fc4"
        case .vMotion: "#2f9e5a"
        case .hostAndStorageVMotion: "#8756c4"
        case .consolidateDisks: "#e0861b"
        case .removeSnapshot: "#a8900f"
        case .power: "#8a8a8a"
        }
    }

    /// Text made safe for HTML content and attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if c.value < 0x20 && c != "\t" { out += " " } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    static let style = """
    *{box-sizing:border-box}html,body{margin:0;height:100%}
    body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;background:#fff;display:flex;flex-direction:column}
    header{padding:8px 12px 4px;border-bottom:1px solid #ddd;flex:none}
    h1{font-size:16px;margin:0 0 2px}p{margin:2px 0}.facts{font-weight:600}
    .key{display:inline-flex;align-items:center;margin-right:14px;white-space:nowrap}
    .key i{display:inline-block;width:14px;height:10px;margin-right:5px;border-radius:2px}
    .controls{display:flex;align-items:center;gap:6px;flex-wrap:wrap}.hint{color:#666;margin-left:8px}
    button{min-width:28px}
    #wrap{position:relative;flex:1 1 auto;min-height:200px}
    #scroller{position:absolute;inset:0;overflow:auto}#spacer{width:1px;height:1px}
    #chart{position:absolute;left:0;top:0;pointer-events:none}
    #tip{position:fixed;display:none;pointer-events:none;background:#fffffb;border:1px solid #999;border-radius:4px;
    padding:6px 8px;box-shadow:0 2px 8px rgba(0,0,0,.2);max-width:460px;white-space:pre-wrap;z-index:10;font-size:12px}
    #tip b{display:block;font-size:13px;margin-bottom:2px;overflow-wrap:anywhere}
    """
}
