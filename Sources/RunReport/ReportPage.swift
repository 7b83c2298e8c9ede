import Foundation
import Gantt
import MigrationEngine

/// `report.html`: one self-contained file (inline style, script and data; no network, no
/// external asset), so it opens from a mail attachment. Everything but the timeline is plain
/// HTML written here, every name escaped (`Gantt.escape`); the timeline is the `Gantt` chart,
/// whose script draws names with `fillText`/`textContent`, never as HTML.
///
/// Sections: summary (VMs by result, bytes, makespan, start, end, rate), per-cluster
/// figures, planned vs actual (with a plan), the timeline (rows by host or by datastore), and the per-VM table (each job's
/// files from → to, size, start, end, rate, attempts, result, reason).
///
/// When the run was given a plan (`run --plan`, journaled), a planned-vs-actual section
/// follows the clusters (`#plan`: `#plan-makespan`, `#actual-makespan`, `#plan-vms`,
/// `#actual-vms`, one `tr.plan-cluster` per cluster with `data-name`).
///
/// With change windows (`--window`), a windows section follows (`#windows`: one `tr.window`
/// per window with `data-start`, `data-end` — ISO 8601 —, `data-started`, `data-overrun` and
/// `data-error` in seconds, empty when unknown), the legend has `#window-key`, and the chart
/// draws each window as a band (`canvas#chart[data-window-bands]`).
///
/// DOM contract (the browser test reads it): `#outcome`; `#summary` with `#vms-total`,
/// `#vms-done`, `#vms-failed`, `#vms-blocked`, `#vms-skipped`, `#vms-unfinished`,
/// `#vms-not-started`, `#bytes-done`, `#bytes-total`, `#makespan`, `#started`, `#ended`,
/// `#rate`; `#clusters` (one `tr.cluster` per cluster with `data-name`, `data-vms`,
/// `data-done`, `data-failed`); `#vms` (one `tbody tr.vm` per job row, with `data-vm` and
/// `data-result` on a VM's first row); the chart's `#timeline-data`, `canvas#chart` and
/// `body[data-timeline-bars]` (bars in the chart).
public enum ReportPage {
    /// The page's Content-Security-Policy: nothing but its own inline script and style.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

    /// The whole page.
    public static func html(_ report: RunReport) -> String {
        let e = Gantt.escape
        let o = report.overall
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(contentSecurityPolicy)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>moonmotion report — \(e(report.strategy)) on \(e(report.vcenter))</title>
            <style>\(Gantt.style)\(style)</style>
            </head>
            <body>
            <header><h1>Migration report: \(e((report.strategy as NSString).lastPathComponent)) on \(e(report.vcenter))</h1>
            <p class="sub">strategy \(e(report.strategy)) · \(e(parameterText(report.parameters)))</p>
            <p>outcome: <b id="outcome" class="outcome-\(outcomeClass(report.ending))">\(e(report.ending.text))</b></p></header>
            <div class="content">
            <h2>Summary</h2>
            <div id="summary" class="cards">
            \(card("VMs", "vms-total", String(o.vms)))
            \(card("moved", "vms-done", String(o.count(.done)), "ok"))
            \(card("failed", "vms-failed", String(o.count(.failed)), o.count(.failed) > 0 ? "bad" : ""))
            \(card("blocked", "vms-blocked", String(o.count(.blocked))))
            \(card("skipped", "vms-skipped", String(o.count(.skipped))))
            \(card("unfinished", "vms-unfinished", String(o.count(.unfinished))))
            \(card("not started", "vms-not-started", String(o.count(.notStarted))))
            </div>
            <div class="cards">
            \(card("bytes copied", "bytes-done", ProgressRenderer.bytes(o.bytesDone)))
            \(card("bytes to copy", "bytes-total", ProgressRenderer.bytes(o.bytesTotal)))
            \(card("makespan", "makespan", ProgressRenderer.duration(report.makespan)))
            \(card("started", "started", time(report.startedAt)))
            \(card("ended", "ended", time(report.endedAt)))
            \(card("mean rate", "rate", rateText(report.makespan > 0 && o.bytesDone > 0 ? Double(o.bytesDone) / report.makespan : nil)))
            </div>
            <p class="muted">A VM counts as moved only when the journal records every one of its moves done. \
            Unfinished: started, no end recorded (running when the journal was last written, or waiting for a retry). \
            The mean rate is bytes copied ÷ makespan.</p>
            <h2>Clusters</h2>
            <table id="clusters"><thead><tr><th>cluster</th><th class="num">VMs</th><th class="num">moved</th><th class="num">failed</th>\
            <th class="num">blocked</th><th class="num">skipped</th><th class="num">unfinished</th><th class="num">not started</th>\
            <th class="num">copied</th><th class="num">to copy</th><th>first start</th><th>last end</th><th class="num">busy</th><th class="num">rate</th></tr></thead><tbody>

            """
        for c in report.clusters {
            page += "<tr class=\"cluster\" data-name=\"\(e(c.name))\" data-vms=\"\(c.vms)\" data-done=\"\(c.count(.done))\" data-failed=\"\(c.count(.failed))\">"
            page += "<td>\(e(c.name))</td>"
            for n in [c.vms, c.count(.done), c.count(.failed), c.count(.blocked), c.count(.skipped), c.count(.unfinished), c.count(.notStarted)] {
                page += "<td class=\"num\">\(n)</td>"
            }
            page += "<td class=\"num\">\(e(ProgressRenderer.bytes(c.bytesDone)))</td><td class=\"num\">\(e(ProgressRenderer.bytes(c.bytesTotal)))</td>"
            page += "<td>\(e(time(c.firstStart)))</td><td>\(e(time(c.lastEnd)))</td><td class=\"num\">\(ProgressRenderer.duration(c.busySeconds))</td>"
            page += "<td class=\"num\">\(e(rateText(c.rate)))</td></tr>\n"
        }
        page += "</tbody></table>\n"
        if let plan = report.plan { page += planSection(plan, report) }
        if !report.windows.isEmpty { page += windowSection(report.windows) }
        page += "<h2>Timeline</h2>\n<section id=\"gantt\">\n<p class=\"legend\">" + Gantt.legend(kinds: ReportTimeline.kinds, windows: !report.windows.isEmpty) + "</p>\n"
        page += Gantt.controls(groupBy: .host) + "\n" + Gantt.body + "\n</section>\n"
        page += vmTable(report)
        page += "</div>\n<script type=\"application/json\" id=\"timeline-data\">" + report.timeline + "</script>\n"
        page += "<script>\n" + Gantt.script + "</script>\n"
        page += """
            <script>
            document.body.dataset.timelineBars = String(JSON.parse(document.getElementById("timeline-data").textContent).k.length);
            </script>
            </body>
            </html>

            """
        return page
    }

    /// The per-VM table: one row per job (a VM's first row carries its name and result), the
    /// job's files one per line.
    static func vmTable(_ report: RunReport) -> String {
        let e = Gantt.escape
        var out = """
            <h2>VMs</h2>
            <table id="vms"><thead><tr><th>VM</th><th>cluster</th><th>job</th><th>file: from → to</th><th class="num">size</th>\
            <th>start</th><th>end</th><th class="num">rate</th><th class="num">attempts</th><th>result</th><th>reason</th></tr></thead><tbody>

            """
        for vm in report.vms {
            for (i, job) in vm.jobs.enumerated() {
                let first = i == 0
                out += first ? "<tr class=\"vm first\" data-vm=\"\(e(vm.name))\" data-result=\"\(vm.result.rawValue)\">" : "<tr class=\"vm\">"
                out += first ? "<td>\(e(vm.name))</td><td>\(e(vm.cluster ?? ""))</td>" : "<td></td><td></td>"
                out += "<td>\(e(job.kind))\(job.proactive ? " (pro-active)" : "")</td><td class=\"files\">"
                out += job.moves.map { m in
                    let file = m.file.isEmpty ? "" : e(m.file) + ": "
                    return file + e(m.from ?? "?") + " → " + e(m.to ?? "?")
                }.joined(separator: "<br>")
                out += "</td><td class=\"num\">\(e(ProgressRenderer.bytes(job.bytes)))</td>"
                out += "<td class=\"time\">\(e(time(job.started)))</td><td class=\"time\">\(e(time(job.ended)))</td><td class=\"num\">\(e(rateText(job.rate)))</td>"
                out += "<td class=\"num\">\(job.attempts)</td><td class=\"result r-\(job.result.rawValue)\">\(job.result.label)</td>"
                out += "<td class=\"reason\">\(e(job.reason ?? ""))</td></tr>\n"
            }
        }
        return out + "</tbody></table>\n"
    }

    /// Planned vs actual: the plan's makespan, VMs and bytes, and each cluster's finish, beside
    /// the run's (times from the first start, as the plan counts them).
    static func planSection(_ plan: ReportPlan, _ report: RunReport) -> String {
        let e = Gantt.escape
        let o = report.overall
        func ratio(_ actual: Double, _ planned: Double) -> String { planned > 0 && actual > 0 ? String(format: "%.2f ×", actual / planned) : "–" }
        var out = """
            <h2>Planned vs actual</h2>
            <p class="muted">Plan: \(e(plan.title)). Times count from the run's first start, as the plan's do.</p>
            <table id="plan"><thead><tr><th></th><th class="num">planned</th><th class="num">actual</th><th class="num">actual ÷ planned</th></tr></thead><tbody>
            <tr><td>makespan</td><td class="num" id="plan-makespan">\(ProgressRenderer.duration(plan.makespanSeconds))</td>\
            <td class="num" id="actual-makespan">\(ProgressRenderer.duration(o.busySeconds))</td><td class="num">\(ratio(o.busySeconds, plan.makespanSeconds))</td></tr>
            <tr><td>VMs moved</td><td class="num" id="plan-vms">\(plan.vms)</td><td class="num" id="actual-vms">\(o.count(.done))</td>\
            <td class="num">\(ratio(Double(o.count(.done)), Double(plan.vms)))</td></tr>
            <tr><td>bytes copied</td><td class="num">\(e(ProgressRenderer.bytes(plan.bytes)))</td><td class="num">\(e(ProgressRenderer.bytes(o.bytesDone)))</td>\
            <td class="num">\(ratio(Double(o.bytesDone), Double(plan.bytes)))</td></tr>

            """
        for c in plan.clusters {
            let actual = report.clusters.first { $0.name == c.name }
            let finish = actual?.lastEnd.flatMap { end in o.firstStart.map { end.timeIntervalSince($0) } }
            out += "<tr class=\"plan-cluster\" data-name=\"\(e(c.name))\"><td>\(e(c.name)) finishes</td>"
            out += "<td class=\"num\">\(ProgressRenderer.duration(c.finishSeconds))</td><td class=\"num\">\(finish.map(ProgressRenderer.duration) ?? "–")</td>"
            out += "<td class=\"num\">\(ratio(finish ?? 0, c.finishSeconds))</td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    /// The change windows: each one's open and close, the moves started in it, and the one
    /// that ended last beside the error of the prediction it started on.
    static func windowSection(_ windows: [ReportWindow]) -> String {
        let e = Gantt.escape
        func seconds(_ t: TimeInterval?) -> String { t.map { String(Int($0.rounded())) } ?? "" }
        func signed(_ t: TimeInterval?) -> String {
            guard let t else { return "–" }
            return (t < 0 ? "−" : "+") + ProgressRenderer.duration(abs(t))
        }
        var out = """
            <h2>Change windows</h2>
            <p class="muted">A move starts only if it is predicted to end inside the window; one that ends past the close \
            overran by what its prediction got wrong. Past the close: the last end among the window's moves − the close.</p>
            <table id="windows"><thead><tr><th>opens</th><th>closes</th><th class="num">moves started</th><th>last end</th>\
            <th class="num">past the close</th><th>VM</th><th class="num">its prediction error</th></tr></thead><tbody>

            """
        for w in windows {
            out += "<tr class=\"window\" data-start=\"\(iso(w.start))\" data-end=\"\(iso(w.end))\" data-started=\"\(w.started)\" "
            out += "data-overrun=\"\(seconds(w.overrun))\" data-error=\"\(seconds(w.predictionError))\">"
            out += "<td class=\"time\">\(e(time(w.start)))</td><td class=\"time\">\(e(time(w.end)))</td><td class=\"num\">\(w.started)</td>"
            out += "<td class=\"time\">\(e(time(w.lastEnd)))</td><td class=\"num\">\(e(signed(w.overrun)))</td><td>\(e(w.overrunVM ?? ""))</td>"
            out += "<td class=\"num\">\(e(signed(w.predictionError)))</td></tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    /// `2026-12-06T17:50:19Z`.
    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    static func card(_ title: String, _ id: String, _ value: String, _ tone: String = "") -> String {
        "<div class=\"card \(tone)\"><span>\(Gantt.escape(title))</span><b id=\"\(id)\">\(Gantt.escape(value))</b></div>"
    }

    static func outcomeClass(_ ending: RunReport.Ending) -> String {
        switch ending {
        case .recorded(let text): text == "completed" ? "ok" : "warn"
        case .running: "warn"
        case .interrupted, .failed: "bad"
        }
    }

    static func parameterText(_ parameters: [String: String]) -> String {
        parameters.isEmpty ? "no parameters" : parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    static func rateText(_ bytesPerSecond: Double?) -> String { bytesPerSecond.map(ProgressRenderer.rate) ?? "–" }

    /// `2026-12-06 17:50:19 UTC`, or empty.
    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d UTC", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// The page's own style (after `Gantt.style`, which is made for a page of its own: here the
    /// chart is one section of a scrolling page).
    static let style = """
    html,body{height:auto}body{display:block;background:#fafafa;font-size:14px}
    header{background:#fff;padding:10px 16px}h1{font-size:18px;margin:0}h2{font-size:15px;margin:18px 0 6px}
    .sub,.muted{color:#666}.content{padding:4px 16px 24px}
    .cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:10px}
    .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:130px}
    .card b{display:block;font-size:20px}.card.ok b{color:#1d6b35}.card.bad b{color:#b3261e}
    .outcome-ok{color:#1d6b35}.outcome-warn{color:#8a5300}.outcome-bad{color:#b3261e}
    table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #ddd}
    th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
    th{background:#f3f3f3;font-weight:600;position:sticky;top:0}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
    tr.first td{border-top:1px solid #ccc}td.files,#vms td:first-child,td.time{white-space:nowrap}td.reason{overflow-wrap:anywhere;max-width:420px}
    .r-done{color:#1d6b35}.r-failed{color:#b3261e;font-weight:600}.r-unfinished,.r-blocked{color:#8a5300}
    #gantt{background:#fff;border:1px solid #ddd;padding:6px}#wrap{height:420px;flex:none}
    """
}
