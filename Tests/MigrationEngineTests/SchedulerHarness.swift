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
    /// For a start fault whose outcome is unknown: whether vCenter got the call anyway (its
    /// task runs and is listed among the VM's recent tasks, to be found by the search).
    var lostCallStartsTask: (Job) -> Bool = { _ in false }
    /// How long vCenter takes to list a task among its VM's recent tasks.
    var listingDelay: TimeInterval = 0
    /// Whether the lost-call searches can reach vCenter (false: they fail).
    var searchesSucceed = true
    /// The VM as read after an adopted task succeeded (default: the inventory's, with the
    /// job's files placed where its moves put them and on its destination host).
    var placement: ((Job) -> VMInfo?)?
    /// Every task vCenter ran (the VM's recent tasks, for the lost-call searches).
    private(set) var vcenterTasks: [TaskInfo] = []
    /// The searches made, in order (from `.findLostTask`, or before a call with `lookFirst`).
    private(set) var searches: [(job: JobID, found: MoRef?)] = []
    /// The placements confirmed (`.confirmPlacement`).
    private(set) var confirmations: [JobID] = []
    /// The tasks the scheduler knows (started for it or adopted): only their ends are reported.
    private var watched = Set<MoRef>()
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
    private(set) var starts: [(time: Date, job: JobID, op: EngineOperation, verify: Bool, look: Bool)] = []
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
            case .start(let id, let op, let verify, let lookFirst):
                starts.append((now, id, op, verify, lookFirst != nil))
                let job = scheduler.job(id)
                if let lookFirst {
                    if let found = search(id, lookFirst) {
                        follow += found
                        continue
                    }
                }
                if let fault = startFault(job) {
                    if fault.isOutcomeUnknown, lostCallStartsTask(job) { _ = runTask(job, op) }
                    follow += scheduler.startFailed(id, fault: fault, now: now)
                    continue
                }
                let ref = runTask(job, op)
                watched.insert(ref)
                follow += scheduler.taskStarted(id, task: ref, now: now)
            case .findLostTask(let id, let search):
                follow += self.search(id, search) ?? scheduler.lostTaskNotFound(id, now: now)
            case .confirmPlacement(let id, _):
                confirmations.append(id)
                let job = scheduler.job(id)
                follow += scheduler.placementChecked(id, vm: placement.map { $0(job) } ?? placed(job), now: now)
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

    /// Starts the task of `job`'s call in vCenter (listed among its VM's recent tasks).
    private func runTask(_ job: Job, _ op: EngineOperation) -> MoRef {
        taskSeq += 1
        let ref = MoRef("Task", "task-\(taskSeq)")
        let duration: TimeInterval = job.kind.movesStorage ? Double(job.size) / rate : otherDuration
        running.append((now.addingTimeInterval(duration), job.id, ref))
        vcenterTasks.append(TaskInfo(ref: ref, name: op.methodName, entity: job.vm, state: .running, queueTime: now, startTime: now))
        return ref
    }

    /// Runs a lost call's search: the scheduler's answer for a match (or for a search that
    /// cannot be made), nil when nothing matches.
    private func search(_ id: JobID, _ search: TaskSearch) -> [SchedulerAction]? {
        guard searchesSucceed else {
            searches.append((id, nil))
            return scheduler.lostTaskNotFound(id, now: now)
        }
        let found = search.best(in: vcenterTasks.filter { $0.entity == search.vm && $0.queueTime!.addingTimeInterval(listingDelay) <= now })
        searches.append((id, found))
        guard let found, let info = vcenterTasks.first(where: { $0.ref == found }) else { return nil }
        watched.insert(found)
        return scheduler.lostTaskFound(id, task: info, now: now)
    }

    /// The VM after `job` succeeded: its files where the job's moves put them.
    private func placed(_ job: Job) -> VMInfo? {
        guard var vm = scheduler.inventory.vm(job.vm) else { return nil }
        if !vm.hasFileLayout {
            vm.datastores = job.moves.map(\.to)  // a VM known by its datastores only
        } else {
            for move in job.moves { vm.place(move.file, on: move.to) }
            vm.recomputeDatastores()
        }
        if let host = job.kind.destinationHost { vm.host = host }
        return vm
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
            guard watched.remove(r.task) != nil else { continue }  // a lost call's task nobody adopted
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
