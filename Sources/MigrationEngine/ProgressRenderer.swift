import Foundation
import VCenterModel

/// Turns progress into text, with no terminal I/O: a live multi-line display for a
/// given width, one-line log summaries for when output is not a terminal, the
/// closing summary. Pure: the same input gives the same lines.
public struct ProgressRenderer: Sendable {
    /// The display's width in columns; every line fits in it.
    public var width: Int
    /// How many running tasks the live display lists.
    public var maxRunningLines: Int
    /// A title for the first line (the strategy's name, for example).
    public var title: String

    /// Creates a renderer.
    public init(width: Int, maxRunningLines: Int = 12, title: String = "moonmotion") {
        self.width = max(width, 40)
        self.maxRunningLines = maxRunningLines
        self.title = title
    }

    /// The live display: a header, overall and per-cluster bars, running tasks with %.
    public func render(_ s: ProgressSnapshot) -> [String] {
        var lines: [String] = []
        var header = "\(title) · \(Self.duration(s.elapsed)) elapsed"
        if s.resumed { header += " · resumed" }
        if let wave = s.wave { header += " · \(wave)" }
        if let o = s.outcome { header += " · \(o)" }
        lines.append(header)
        let nameWidth = min(16, max(7, s.clusters.map(\.name.count).max() ?? 7))
        lines.append(row("overall", s.overall, nameWidth: nameWidth))
        if s.clusters.count > 1 || s.clusters.first.map({ $0.totals.jobs != s.overall.jobs }) == true {
            for c in s.clusters { lines.append(row(c.name, c.totals, nameWidth: nameWidth)) }
        }
        if !s.running.isEmpty {
            lines.append("running \(s.running.count):")
            let vmWidth = min(24, s.running.prefix(maxRunningLines).map(\.vmName.count).max() ?? 8)
            for t in s.running.prefix(maxRunningLines) {
                let pct = t.percent.map { String(format: "%3d%%", $0) } ?? "  … "
                let bar = Self.bar(Double(t.percent ?? 0) / 100, width: 10)
                let running = t.startedAt.map { Self.duration(s.now.timeIntervalSince($0)) } ?? ""
                lines.append("  \(Self.pad(t.vmName, vmWidth)) \(bar) \(pct)  \(Self.bytes(t.size))  \(t.route)  \(running)")
            }
            if s.running.count > maxRunningLines { lines.append("  … and \(s.running.count - maxRunningLines) more") }
        }
        if let last = s.recentFailures.last {
            lines.append("last problem: \(last)")
        }
        return lines.map(fit)
    }

    /// One line for logs: `12:34:56 412/3000 VMs done, 70.2/500.0 TiB, 1.2 GiB/s, ETA 3h12m, 24 running, 2 failed`.
    public func logLine(_ s: ProgressSnapshot) -> String {
        let o = s.overall
        var parts = ["\(Self.duration(s.elapsed))", "\(o.done)/\(o.jobs) VMs done",
                     "\(Self.bytes(o.bytesDone))/\(Self.bytes(o.bytesTotal))", Self.rate(o.rate)]
        if let eta = o.eta { parts.append("ETA \(Self.duration(eta))\(Self.etaLabel(o))") }
        parts.append("\(o.running) running")
        if o.failed > 0 { parts.append("\(o.failed) failed") }
        if o.skipped > 0 { parts.append("\(o.skipped) skipped") }
        if let wave = s.wave { parts.append(wave) }
        return fit(parts.joined(separator: ", "))
    }

    /// The closing summary: outcome, counts, bytes, duration, calls, and every failure with its reason.
    public func summary(_ r: RunSummary) -> [String] {
        var lines = ["run \(r.outcome) after \(Self.duration(r.duration))"]
        let moved = r.moved
        // Pro-active vMotions are the engine's own: counted apart; one skipped as moot is no news.
        let skipped = r.skipped.filter { !$0.isProactive }
        let blocked = r.cannotMove.count
        lines.append("moved \(moved.count) VM(s), \(Self.bytes(r.movedBytes)); \(r.alreadyOnTarget.count) already in place; "
            + "\(r.failed.count) failed; \(skipped.count) skipped" + (blocked > 0 ? " (\(blocked) cannot move as asked)" : "")
            + "; \(r.pending.count) pending" + (r.held.isEmpty ? "" : " (\(r.held.count) held by the strategy)"))
        // Waves (`Strategy.wave`): how far each got, so a run ended held shows which wave waits.
        let waves = Set(r.jobs.compactMap(\.wave)).sorted()
        if !waves.isEmpty {
            lines.append("waves: " + waves.map { w in
                let members = r.jobs.filter { $0.wave == w && !$0.isProactive }
                return "\(w): \(members.filter { $0.state.isTerminal }.count)/\(members.count) ended"
            }.joined(separator: ", "))
        }
        let pv = r.proactiveVMotions
        let pvDone = pv.filter { $0.state == .done }.count
        let pvMoot = pv.filter { $0.state == .skipped }.count
        if pvDone > 0 || pvMoot > 0 {
            lines.append("\(pvDone) pro-active vMotion(s)" + (pvMoot > 0 ? " (\(pvMoot) more decided but not needed)" : ""))
        }
        lines.append(String(format: "%d vCenter call(s), %.2f per moved VM", r.calls, r.callsPerMovedVM))
        for job in r.failed { lines.append("failed: \(job.vmName) (\(job.kind.name)): \(job.lastError ?? "no reason recorded")") }
        for job in skipped where !job.cannotMove { lines.append("skipped: \(job.vmName) (\(job.kind.name)): \(job.lastError ?? "skipped by the strategy")") }
        for job in skipped where job.cannotMove { lines.append("cannot move: \(job.vmName): \((job.lastError ?? "").replacingOccurrences(of: "cannot move: ", with: ""))") }
        if !r.leftRunning.isEmpty {
            lines.append("left running in vCenter (continue with --resume): "
                + r.leftRunning.map { "\($0.vmName) \($0.taskRef?.value ?? "")" }.joined(separator: ", "))
        }
        if !r.held.isEmpty {
            let names = r.held.prefix(5).map(\.vmName).joined(separator: ", ") + (r.held.count > 5 ? ", …" : "")
            lines.append("held by the strategy (its target hook answered wait): \(r.held.count) job(s): \(names)")
        }
        if !r.pending.isEmpty { lines.append("\(r.pending.count) job(s) not started; --resume continues them") }
        return lines.map(fit)
    }

    private func row(_ name: String, _ t: ProgressTotals, nameWidth: Int) -> String {
        var line = "\(Self.pad(name, nameWidth)) \(Self.bar(t.fraction, width: 20)) \(String(format: "%3.0f%%", t.fraction * 100))"
        line += "  \(t.done)/\(t.jobs) VMs  \(Self.bytes(t.bytesDone))/\(Self.bytes(t.bytesTotal))  \(Self.rate(t.rate))"
        if let eta = t.eta { line += "  ETA \(Self.duration(eta))\(Self.etaLabel(t))" }
        if t.running > 0 { line += "  \(t.running) running" }
        if t.failed > 0 { line += "  \(t.failed) failed" }
        return line
    }

    /// ` (rate)` after an ETA that is bytes left ÷ rate, while there is no forecast for it:
    /// the forecast's is the one to believe, the other is labelled.
    static func etaLabel(_ t: ProgressTotals) -> String {
        t.etaSource == .rate && t.pending + t.running > 0 ? " (rate)" : ""
    }

    private func fit(_ line: String) -> String {
        line.count <= width ? line : String(line.prefix(width - 1)) + "…"
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count)
    }

    /// `[#######-------------]` for a fraction 0…1.
    public static func bar(_ fraction: Double, width: Int) -> String {
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((f * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
    }

    /// IEC units, as everywhere (`ByteUnits`): `512 B`, `1.5 GiB`, `12.3 TiB`.
    public static func bytes(_ b: Int64) -> String { ByteUnits.format(b) }

    /// `1.2 GiB/s`.
    public static func rate(_ bytesPerSecond: Double) -> String {
        guard bytesPerSecond.isFinite, bytesPerSecond > 0 else { return "– /s" }
        return ByteUnits.rate(bytesPerSecond)
    }

    /// `45s`, `12m05s`, `3h07m`, `2d04h`.
    public static func duration(_ t: TimeInterval) -> String {
        guard t.isFinite else { return "?" }
        let s = Int(max(0, t).rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        if s < 86400 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        return String(format: "%dd%02dh", s / 86400, (s % 86400) / 3600)
    }
}
