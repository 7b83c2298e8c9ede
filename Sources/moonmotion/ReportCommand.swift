import ArgumentParser
import Foundation
import RunReport

/// `moonmotion report JOURNAL --out DIR`: a run's report (`report.html`, `report.csv`) made
/// from its journal alone — the files `run --report` writes, again, for any journal.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's report (report.html, report.csv) from its journal.",
        discussion: """
            Reads the newest run in JOURNAL (the file `moonmotion run --journal` writes) and \
            writes into DIR the files `moonmotion run --report DIR` writes at the end of a run: \
            report.html, one self-contained page (no network: it opens from a mail attachment) \
            with the summary (VMs moved, failed, blocked, skipped, unfinished, not started; \
            bytes; makespan; start, end, rate), per-cluster figures, the run's timeline by host \
            or by datastore, and a table of every VM's moves (each file from → to, size, start, \
            end, rate, attempts, result, reason); and report.csv, one row per file move. When the run was given a plan (`run \
            --plan DIR/plan.json`, from `moonmotion plan --out DIR`), the page also sets the run \
            beside it: makespan, VMs and bytes moved, each cluster's finish.

            Works on any journal: of a run that ended, one still running (as of its last \
            committed step; the run is not disturbed), or one whose process was killed. A VM \
            counts as moved only when the journal records its success: a task vCenter finished \
            after the last committed step shows as unfinished (`run --resume` records it).

            report.csv columns: vm, vm_ref, cluster, job, kind, proactive, file, from, to, \
            bytes, job_bytes, queued, start, end (ISO 8601, UTC), seconds, rate_mib_s, \
            attempts, result (done, failed, blocked, skipped, unfinished, not-started), reason.

            Exit status: 0, or 1 when the journal cannot be read (missing, not a journal, \
            written by a newer Moonmotion, no run in it) or DIR cannot be written.

            Examples:
              moonmotion report wave1.journal --out wave1-report
              moonmotion report wave1.journal --out /tmp/r && xdg-open /tmp/r/report.html
            """
    )

    @Argument(help: ArgumentHelp("The run's journal.", valueName: "journal"))
    var journal: String

    @Option(help: ArgumentHelp("The directory to write report.html and report.csv into (created if missing).", valueName: "dir"))
    var out: String

    mutating func run() throws {
        let report: RunReport
        do {
            report = try RunReport.read(journalAt: journal)
        } catch {
            throw CommandFailure.exit(error)
        }
        do {
            let written = try ReportWriter.write(report, to: out)
            writeStandardOutput("report: \(written.html)\nreport: \(written.csv)\n")
        } catch {
            throw CommandFailure.exit(error)
        }
    }
}
