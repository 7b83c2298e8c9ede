import Foundation
import VCenterModel

/// The Gantt chart of a migration, shared by `moonmotion plan --out` (the simulated run's
/// timeline, `TimelineChart` in VCenterSimulator) and the live status page of `moonmotion
/// run --listen` (the run so far, growing): a row per host, datastore or cluster, each task
/// a bar from its queueing to its end (the queued part lighter), coloured by kind, failed
/// tasks in red.
///
/// The data travels as compact columnar JSON (`dataJSON`), drawn by one inline script
/// (`script`) on a canvas, so 100,000 bars stay usable. No external asset, no network.
public enum Gantt {
    /// What a row is.
    public enum Grouping: String, Sendable, Hashable, CaseIterable {
        /// One row per host; a vMotion shows on its source and its destination host.
        case host
        /// One row per datastore; a Storage vMotion shows on its source and destination datastores.
        case datastore
        /// One row per cluster.
        case cluster
    }

    /// The kinds of bar the script knows by name (label and colour); others are drawn grey
    /// and labelled with their name.
    public static let knownKinds = ["storageVMotion", "vMotion", "hostAndStorageVMotion", "consolidateDisks", "removeSnapshot", "power"]

    /// A bar's colour for a kind name (the script's `KIND_COLOR`).
    public static func color(_ kind: String) -> String {
        switch kind {
        case "storageVMotion": "#3a6fc4"
        case "vMotion": "#2f9e5a"
        case "hostAndStorageVMotion": "#8756c4"
        case "consolidateDisks": "#e0861b"
        case "removeSnapshot": "#a8900f"
        case "power": "#8a8a8a"
        default: "#555"
        }
    }

    /// A kind's label (the script's `KIND_LABEL`).
    public static func label(_ kind: String) -> String {
        switch kind {
        case "storageVMotion": "Storage vMotion"
        case "vMotion": "vMotion"
        case "hostAndStorageVMotion": "vMotion + Storage vMotion"
        case "consolidateDisks": "Consolidate disks"
        case "removeSnapshot": "Remove snapshot"
        case "power": "Power on/off"
        default: kind
        }
    }

    /// Text made safe for HTML content and attribute values.
    public static func escape(_ s: String) -> String {
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

    /// The legend: one key per kind present (Storage vMotion always), failed, queued, and the
    /// change windows when the chart has some.
    public static func legend(kinds: [String], windows: Bool = false) -> String {
        var legend = ""
        for kind in kinds {
            legend += "<span class=\"key\"><i style=\"background:\(color(kind))\"></i>\(escape(label(kind)))</span>"
        }
        legend += "<span class=\"key\"><i style=\"background:#d93025\"></i>failed</span>"
        legend += "<span class=\"key\"><i style=\"background:#3a6fc4;opacity:.35\"></i>queued (lighter)</span>"
        if windows {
            legend += "<span class=\"key\" id=\"window-key\"><i style=\"background:rgba(46,160,67,.25);border-right:2px dashed #2e7d32\"></i>change window (dashed: it closes)</span>"
        }
        return legend
    }

    /// The controls the script drives: the row grouping and the zoom buttons.
    public static func controls(groupBy: Grouping) -> String {
        var options = ""
        for g in Grouping.allCases {
            options += "<option value=\"\(g.rawValue)\"\(g == groupBy ? " selected" : "")>by \(g.rawValue)</option>"
        }
        return """
            <p class="controls"><label>rows <select id="group">\(options)</select></label>
            <button id="zoom-out" title="zoom out (−)">−</button><button id="zoom-in" title="zoom in (+)">+</button><button id="zoom-fit" title="fit the whole run (0)">fit</button>
            <span class="hint">hours from the start · Ctrl+wheel or +/− zooms · hover a bar for details</span></p>
            """
    }

    /// The chart's drawing area and tooltip, which the script fills.
    public static let body = """
        <main id="wrap"><div id="scroller"><div id="spacer"></div></div><canvas id="chart"></canvas></main>
        <div id="tip" role="tooltip"></div>
        """

    /// The chart's style sheet (the plan's page uses it whole; the live page adds its own).
    public static let style = """
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
