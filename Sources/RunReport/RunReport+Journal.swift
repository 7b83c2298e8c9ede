import Foundation
import MigrationEngine
import VCenterModel

extension RunReport {
    /// The report of the newest run in the journal at `path`, read as `moonmotion status`
    /// reads it: read-only, no lock, so a running process is not disturbed and a journal whose
    /// process was killed reads as it was at its last committed step.
    ///
    /// `failure` is the reason the calling process's own run failed, for a run that could not
    /// record its end (`run --report` after an error); otherwise a run without a recorded end
    /// is `running` while its writer lives, else `interrupted`.
    ///
    /// Throws `JournalError` for a missing file, a file that is not a journal, a journal of a
    /// newer Moonmotion, or one that holds no run.
    public static func read(journalAt path: String, failure: String? = nil) throws -> RunReport {
        let journal = try Journal(path: path, access: .read)
        guard let run = try journal.latestRun() else {
            throw JournalError.cannotOpen(path: path, reason: "it holds no run yet")
        }
        let jobs = try journal.jobs(of: run.id).map(\.job)
        var names: [MoRef: String] = [:]
        if let started = try journal.latestEvent(of: run.id, type: "run-started"),
           let record = try? JSONDecoder().decode(EventRecord.self, from: Data(started.detail.utf8)) {
            for (ref, name) in record.names ?? [:] { if let r = MoRef(parsing: ref) { names[r] = name } }
        }
        let ending: Ending
        if run.state != "running" {
            ending = .recorded(run.outcome ?? run.state)
        } else if let failure {
            ending = .failed(failure)
        } else {
            ending = journal.writerIsAlive ? .running : .interrupted
        }
        // The newest plan the run was given (a resume may bring another); one that does not
        // read is left out rather than failing the report.
        let plan = try journal.latestEvent(of: run.id, type: "plan").flatMap { try? JSONDecoder().decode(ReportPlan.self, from: Data($0.detail.utf8)) }
        let (windows, predicted) = try windowsAndPredictions(journal, run: run.id)
        return RunReport(run: run, jobs: jobs, names: names, lastKnown: try journal.lastEventTime(of: run.id), ending: ending, plan: plan,
                         windows: windows, predicted: predicted)
    }

    /// The change windows the run's boundary events describe and, when there are some, each
    /// job's last journaled predicted end (`job-changed` events carry it under windows only, so
    /// a run without windows reads no job events at all).
    static func windowsAndPredictions(_ journal: Journal, run: Int64) throws -> ([DateInterval], [JobID: Date]) {
        let decoder = JSONDecoder()
        var boundaries: [(time: Date, open: Bool, end: Date?)] = []
        for row in try journal.events(of: run, types: ["window-opened", "window-closed"]) {
            let record = try? decoder.decode(EventRecord.self, from: Data(row.detail.utf8))
            boundaries.append((time: row.time, open: row.type == "window-opened", end: record?.windowEnd.flatMap(EventRecord.date)))
        }
        guard !boundaries.isEmpty else { return ([], [:]) }
        var predicted: [JobID: Date] = [:]
        for row in try journal.events(of: run, types: ["job-changed"]) where row.detail.contains("\"predictedEnd\"") {
            guard let job = row.job, let record = try? decoder.decode(EventRecord.self, from: Data(row.detail.utf8)),
                  let end = record.predictedEnd.flatMap(EventRecord.date) else { continue }
            predicted[job] = end
        }
        return (JobTimeline.windows(boundaries), predicted)
    }
}
