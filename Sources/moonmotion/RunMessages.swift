import MigrationEngine
import RunNotifications

/// The notifications of a run (`--notify`): what each says, in words and fields. Never a
/// password or session: the vCenter is named by its redacted URL.
enum RunMessages {
    static func started(run: String, on vcenter: String, resume: Bool) -> RunNotification {
        RunNotification(event: .runStarted, text: "moonmotion: \(run) \(resume ? "resumed" : "started") on \(vcenter)",
                        fields: ["run": .string(run), "vcenter": .string(vcenter), "resume": .string(resume ? "yes" : "no")])
    }

    /// A job of the strategy failed for good (nil for any other event).
    static func jobFailed(_ event: EngineEvent, run: String) -> RunNotification? {
        guard case .jobChanged(let job, _) = event.kind, job.state == .failed, !job.isProactive else { return nil }
        let reason = job.lastError ?? "no reason recorded"
        return RunNotification(event: .jobFailed, text: "moonmotion: \(run): \(job.vmName) (\(job.kind.name)) failed: \(reason)",
                               fields: ["run": .string(run), "vm": .string(job.vmName), "job": .string(job.kind.name),
                                        "attempts": .integer(job.attempts), "reason": .string(reason),
                                        "fault": .string(job.lastFault?.rawValue ?? "")])
    }

    /// The run ended: finished (every job ended) or aborted/stopped/held, with the summary.
    static func ended(_ summary: RunSummary, run: String, on vcenter: String) -> RunNotification {
        let failed = summary.failed.filter { !$0.isProactive }.count
        let skipped = summary.skipped.filter { !$0.isProactive }.count
        let finished = summary.outcome == .completed
        let text = "moonmotion: \(run) on \(vcenter) \(finished ? "finished" : "ended (\(summary.outcome))") after "
            + "\(ProgressRenderer.duration(summary.duration)): moved \(summary.moved.count) VM(s), \(ProgressRenderer.bytes(summary.movedBytes)); "
            + "\(failed) failed, \(skipped) skipped, \(summary.pending.count) pending"
        return RunNotification(event: finished ? .runFinished : .runAborted, text: text, fields: [
            "run": .string(run), "vcenter": .string(vcenter), "outcome": .string(summary.outcome.name),
            "seconds": .number(summary.duration.rounded()), "moved": .integer(summary.moved.count),
            "moved_bytes": .integer(Int(summary.movedBytes)), "failed": .integer(failed), "skipped": .integer(skipped),
            "pending": .integer(summary.pending.count), "held": .integer(summary.held.count),
        ])
    }

    /// The run could not go on (the journal failed, the vCenter was lost, …).
    static func failed(run: String, on vcenter: String, error: String) -> RunNotification {
        RunNotification(event: .runAborted, text: "moonmotion: \(run) on \(vcenter) stopped: \(error)",
                        fields: ["run": .string(run), "vcenter": .string(vcenter), "error": .string(error)])
    }
}
