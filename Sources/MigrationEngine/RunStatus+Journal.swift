import Foundation
import VCenterModel

extension RunStatus {
    /// The status of the newest run in the journal at `path`, read without disturbing the
    /// process that may be writing it: the journal is opened read-only, takes no lock, and
    /// SQLite's WAL lets a reader see the last committed step while the writer goes on.
    ///
    /// The ETA is the latest journaled forecast's (`RunForecast`) once there is one.
    ///
    /// The jobs as last journaled are replayed through a `ProgressTracker` — the same
    /// aggregation the running process shows — in the order they ended, so the counts,
    /// bytes, rate, ETA and recent failures are the live ones as of the last committed step.
    /// The journal does not record task progress (a write per percent would cost the run),
    /// so running tasks show no percent and `bytesDone` counts finished moves only. It does
    /// not record a Ctrl-C either: a draining run reads as `dispatching`.
    ///
    /// `now` is the reader's clock; a simulated run's journal runs on the simulator's, so the
    /// later of `now` and the newest event is taken.
    public static func read(journalAt path: String, now: Date = Date()) throws -> RunStatus {
        let journal = try Journal(path: path, access: .read)
        guard let run = try journal.latestRun() else {
            throw JournalError.cannotOpen(path: path, reason: "it holds no run yet")
        }
        let jobs = try journal.jobs(of: run.id).map(\.job)
        let started = try journal.latestEvent(of: run.id, type: "run-started")
        let record = started.flatMap { try? JSONDecoder().decode(EventRecord.self, from: Data($0.detail.utf8)) }
        var names: [MoRef: String] = [:]
        for (ref, name) in record?.names ?? [:] { if let r = MoRef(parsing: ref) { names[r] = name } }

        let ended = run.state != "running"
        let lastEvent = try journal.lastEventTime(of: run.id)
        let at: Date = ended ? (run.endedAt ?? lastEvent ?? now) : max(now, lastEvent ?? now)
        let tracker = ProgressTracker()
        // The rate counts from the run's first start (a resumed run's finished moves are
        // journaled with the times they ended, so the rate window sees them as they were).
        tracker.record(EngineEvent(time: run.startedAt, kind: .runStarted(RunStart(jobs: jobs.count, bytes: 0,
                                                                                   resumed: record?.resumed ?? false, names: names))))
        // Every job as it is now, those that ended first added as running and then ended in
        // the order they ended: the rate's samples and the failure list come out as live.
        var endings: [(Date, Job)] = []
        for job in jobs {
            var added = job
            if job.state.isTerminal {
                added.state = .running
                endings.append((job.finishedAt ?? job.createdAt, job))
            }
            tracker.record(EngineEvent(time: job.createdAt, kind: .jobAdded(added)))
        }
        endings.sort { ($0.0, $0.1.id) < ($1.0, $1.1.id) }
        for (time, job) in endings { tracker.record(EngineEvent(time: time, kind: .jobChanged(job, from: .running))) }
        // The latest forecast (`run` journals each as an event of type `forecast`).
        if let row = try journal.latestEvent(of: run.id, type: "forecast"),
           let forecast = (try? JSONDecoder().decode(EventRecord.self, from: Data(row.detail.utf8)))?.forecast {
            tracker.record(EngineEvent(time: forecast.madeAt, kind: .forecast(forecast)))
        }
        if ended { tracker.record(EngineEvent(time: at, kind: .runFinished(Self.outcome(run)))) }

        let phase: Phase = ended ? .done : journal.writerIsAlive ? (started == nil ? .starting : .dispatching) : .interrupted
        return RunStatus(strategy: run.strategy, vcenter: run.vcenter, phase: phase, progress: tracker.snapshot(at: at), source: "journal")
    }

    /// How a journaled run ended.
    static func outcome(_ run: JournalRun) -> RunOutcome {
        switch run.state {
        case "completed": return .completed
        case "stopped": return .stopped
        case "aborted":
            let text = run.outcome ?? ""
            return .aborted(reason: text.hasPrefix("aborted: ") ? String(text.dropFirst("aborted: ".count)) : text)
        default: return .abandoned
        }
    }
}
