import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MigrationEngine

/// `moonmotion status JOURNAL [--watch] [--json]`: a run's progress read from its journal,
/// from any shell, while the run goes or after.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a run's progress from its journal, while it runs or after.",
        discussion: """
            Reads the newest run in JOURNAL (the file `moonmotion run --journal` writes) and \
            shows what the running process shows: jobs done, failed, skipped, running and \
            waiting, overall and per cluster, bytes copied, rate, ETA, the running tasks and \
            the latest failures with their reasons, and whether the run is dispatching, done, \
            or interrupted (its journal says running but no process runs it: continue it \
            with `moonmotion run … --resume`).

            The journal is opened read-only and no lock is taken: looking never disturbs the \
            run, which goes on writing (SQLite WAL). It shows the run as of its last \
            committed step. The journal records no task percentages, so running tasks show \
            none here and bytes count finished moves; `run --listen` shows them live.

            --json prints the same document as `run --listen`'s /api/status. --watch \
            refreshes every --interval seconds until the run ends (Ctrl-C stops watching; \
            the run goes on).

            Exit status: 0, or 1 when the journal cannot be read.

            Examples:
              moonmotion status wave1.journal
              moonmotion status wave1.journal --watch
              moonmotion status wave1.journal --json | jq .overall
            """
    )

    @Argument(help: ArgumentHelp("The run's journal.", valueName: "journal"))
    var journal: String

    @Flag(help: "Refresh until the run ends.")
    var watch = false

    @Flag(help: "Print the status as JSON (the document /api/status serves).")
    var json = false

    @Option(help: ArgumentHelp("Seconds between refreshes with --watch.", valueName: "seconds"))
    var interval: Double = 2

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
    }

    mutating func run() async throws {
        let live = isatty(1) != 0 && !json
        var drawn = 0
        while true {
            let status: RunStatus
            do {
                status = try RunStatus.read(journalAt: journal)
            } catch {
                throw CommandFailure.exit(error)
            }
            if json {
                writeStandardOutput(status.json() + "\n")
            } else {
                let lines = Self.lines(status, width: live ? ProgressDisplay.terminalWidth() : 100)
                // On a terminal the view is redrawn in place; in a pipe each refresh follows the last.
                if live && drawn > 0 { writeStandardOutput("\u{1B}[\(drawn)A\u{1B}[J") }
                writeStandardOutput(lines.map { $0 + "\n" }.joined())
                drawn = lines.count
                if watch && !live && status.phase != .done && status.phase != .interrupted { writeStandardOutput("\n") }
            }
            guard watch, status.phase != .done, status.phase != .interrupted else { return }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// Which ETA the view shows: the latest journaled forecast's predicted end (overall and
    /// per cluster with work left), or that the ETA is the rate-based one until there is one.
    static func forecastLines(_ status: RunStatus) -> [String] {
        let p = status.progress
        guard status.phase != .done, p.overall.pending + p.overall.running > 0 else { return [] }
        func time(_ d: Date) -> String { d.formatted(.iso8601) }
        guard let f = p.forecast else {
            return ["ETA: bytes left ÷ rate (no forecast yet: the first comes when a task has ended)"]
        }
        var lines = ["predicted end: \(time(f.end)) (forecast made \(time(f.madeAt)), \(f.jobs) job(s) re-simulated at the measured rates"
                        + (f.complete ? ")" : "; some would not end)")]
        for c in p.clusters where c.totals.pending + c.totals.running > 0 {
            guard let end = c.totals.predictedEnd else { continue }
            lines.append("  \(c.name): ends \(time(end))" + (c.totals.etaSource == .rate ? " (rate)" : ""))
        }
        return lines
    }

    /// The text view: the run's line, then the live display's lines and the latest failures.
    static func lines(_ status: RunStatus, width: Int) -> [String] {
        let renderer = ProgressRenderer(width: width, maxRunningLines: 12, title: "\(status.strategy) on \(status.vcenter)")
        var lines = renderer.render(status.progress)
        var phase = "status: \(status.phase.rawValue)"
        switch status.phase {
        case .interrupted: phase += " (no process runs it; continue with `moonmotion run … --resume`)"
        case .done: phase += status.progress.outcome.map { " (\($0))" } ?? ""
        default: break
        }
        lines.insert(phase, at: 1)
        lines.insert(contentsOf: forecastLines(status), at: 2)
        let failures = status.progress.recentFailures.suffix(5)
        if failures.count > 1 {
            // The renderer shows the last one; list the few before it too.
            lines.removeAll { $0.hasPrefix("last problem: ") }
            lines.append("latest problems:")
            lines += failures.map { "  " + $0 }
        }
        return lines
    }
}
