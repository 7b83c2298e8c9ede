import Foundation
import MigrationEngine
import VCenterModel

/// Drives a `Scheduler` on virtual time with a trivial task model (a storage move
/// takes size ÷ rate, anything else `otherDuration`), checking the accounting after
/// every input and keeping an independent count of what runs where.
final class SchedulerHarness {
    let scheduler: Scheduler
    var now = Date(timeIntervalSince1970: 1_700_000_000)
    let start: Date
    /// Bytes per second of one Storage vMotion.
    var rate: Double = 100_000_000
    var otherDuration: TimeInterval = 20
    /// Called for each start: a fault makes the call fail (`startFailed`).
    var startFault: (Job) -> VCenterFault? = { _ in nil }
    /// Called when a task would end: a fault makes it end in error.
    var taskFault: (Job) -> VCenterFault? = { _ in nil }
    /// Storage DRS's answer for a job that asks it (`.recommend`).
    var recommend: (Job, MoRef) -> [StorageRecommendation] = { _, _ in [] }
    /// The pods Storage DRS was asked about, in order.
    private(set) var recommendationsAsked: [(job: JobID, pod: MoRef)] = []
    /// Called after every input with the harness (to stop, to inspect).
    var afterStep: (SchedulerHarness) -> Void = { _ in }

    private(set) var running: [(end: Date, job: JobID, task: MoRef)] = []
    private(set) var wakeAt: Date?
    private(set) var outcome: RunOutcome?
    private(set) var starts: [(time: Date, job: JobID, op: EngineOperation, verify: Bool)] = []
    private(set) var events: [EngineEvent] = []
    private(set) var auditProblems: [String] = []
    /// The most Storage vMotions seen at once per host and per datastore (independent of the scheduler).
    private(set) var peakStorageMovesPerHost: [MoRef: Int] = [:]
    private(set) var peakStorageMovesPerDatastore: [MoRef: Int] = [:]
    private var taskSeq = 0

    init(inventory: Inventory, strategy: any Strategy, configuration: SchedulerConfiguration = SchedulerConfiguration()) throws {
        scheduler = try Scheduler(inventory: inventory, strategy: strategy, configuration: configuration)
        start = now
    }

    var elapsed: TimeInterval { now.timeIntervalSince(start) }

    func add(_ requests: [JobRequest]) throws {
        apply(try scheduler.add(requests, now: now))
    }

    func apply(_ actions: [SchedulerAction]) {
        events.append(contentsOf: scheduler.drainEvents())
        auditProblems.append(contentsOf: scheduler.audit())
        var follow: [SchedulerAction] = []
        for action in actions {
            switch action {
            case .start(let id, let op, let verify):
                starts.append((now, id, op, verify))
                let job = scheduler.job(id)
                if let fault = startFault(job) {
                    follow += scheduler.startFailed(id, fault: fault, now: now)
                    continue
                }
                taskSeq += 1
                let ref = MoRef("Task", "task-\(taskSeq)")
                let duration: TimeInterval = job.kind.movesStorage ? Double(job.size) / rate : otherDuration
                running.append((now.addingTimeInterval(duration), id, ref))
                follow += scheduler.taskStarted(id, task: ref, now: now)
            case .recommend(let id, _, let pod, _):
                recommendationsAsked.append((id, pod))
                follow += scheduler.recommendations(id, recommend(scheduler.job(id), pod), now: now)
            case .wake(let at):
                wakeAt = at
            case .finished(let o):
                outcome = o
            }
        }
        recordPeaks()
        afterStep(self)
        if !follow.isEmpty { apply(follow) }
    }

    private func recordPeaks() {
        var perHost: [MoRef: Int] = [:]
        var perDS: [MoRef: Int] = [:]
        for r in running {
            let job = scheduler.job(r.job)
            guard job.kind.movesStorage else { continue }
            if let h = job.sourceHost { perHost[h, default: 0] += 1 }
            if let h = job.kind.destinationHost, h != job.sourceHost { perHost[h, default: 0] += 1 }
            for d in job.sourceDatastores { perDS[d, default: 0] += 1 }
            if let t = job.target { perDS[t, default: 0] += 1 }
        }
        for (k, n) in perHost { peakStorageMovesPerHost[k] = max(peakStorageMovesPerHost[k] ?? 0, n) }
        for (k, n) in perDS { peakStorageMovesPerDatastore[k] = max(peakStorageMovesPerDatastore[k] ?? 0, n) }
    }

    /// Runs until the scheduler finishes (or `limit` events pass).
    @discardableResult
    func run(limit: Int = 10_000_000) -> RunOutcome? {
        var steps = 0
        while outcome == nil, steps < limit {
            steps += 1
            let nextEnd = running.min { $0.end < $1.end }?.end
            let candidates = [nextEnd, wakeAt].compactMap { $0 }
            guard let next = candidates.min() else { break }
            now = max(now, next)
            if let w = wakeAt, w <= now {
                wakeAt = nil
                apply(scheduler.timerFired(now: now))
                continue
            }
            let index = running.firstIndex { $0.end <= now }!
            let r = running.remove(at: index)
            let job = scheduler.job(r.job)
            let fault = taskFault(job)
            let info = TaskInfo(ref: r.task, name: "VirtualMachine.relocate", entity: job.vm, state: fault == nil ? .success : .error,
                                error: fault, completeTime: now)
            apply(scheduler.taskFinished(r.job, info: info, now: now))
        }
        return outcome
    }

    func stop(graceful: Bool) { apply(scheduler.stop(graceful: graceful, now: now)) }

    /// Ends a running task now (for tests that drive completions by hand).
    func finishRunningTask(_ id: JobID) {
        guard let index = running.firstIndex(where: { $0.job == id }) else { return }
        let r = running.remove(at: index)
        let job = scheduler.job(id)
        apply(scheduler.taskFinished(id, info: TaskInfo(ref: r.task, name: "x", entity: job.vm, state: .success), now: now))
    }

    func jobs(in state: JobState) -> [Job] { scheduler.jobs.filter { $0.state == state } }
}
