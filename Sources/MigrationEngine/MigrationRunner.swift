import Foundation
import Synchronization
import VCenterModel

/// Drives a `Scheduler` against a `VCenter`: performs its actions (journal the
/// intent, call vCenter, journal the task reference), watches every task through
/// its `LiveTask` and feeds each change back at once, runs retry timers, and writes
/// every transition to the `Journal` and to event observers.
///
/// With a `VirtualTimeVCenter` backend it never waits in real time: when nothing is
/// runnable it advances the backend to its next event or the scheduler's next timer,
/// whichever is first (this is `moonmotion plan`, on the same runner and scheduler).
///
/// The runner is an actor that can live on an injected `SerialExecutor` (the Lua
/// executor, so a Lua strategy's hooks are plain calls); by default it has its own.
public actor MigrationRunner {
    let executor: any SerialExecutor
    /// The executor the runner (and so every strategy hook) runs on.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    let vcenter: any VCenter
    let virtual: (any VirtualTimeVCenter)?
    var strategy: (any Strategy)?
    let configuration: RunConfiguration
    let journal: Journal?
    let onEvent: (@Sendable (EngineEvent) -> Void)?
    let inbox = RunnerInbox()

    var scheduler: Scheduler?
    var runID: Int64?
    var startedAt = Date()
    /// vCenter calls made by this runner (the summary prefers the backend's own count,
    /// `VCenter.requestCount`, which includes the task poller's).
    public internal(set) var calls = 0
    var outstanding = 0
    var observations: [JobID: LiveTask.Observation] = [:]
    var externalObservations: [MoRef: LiveTask.Observation] = [:]
    var timerGeneration: UInt64 = 0
    /// Whether the runner moves the virtual backend's clock itself. A backend whose
    /// `advance(to:)` cannot skip time (a simulator on a scaled real-time clock) drives
    /// its own clock; the runner then waits for its updates like a real vCenter's.
    var drivesTime: Bool
    var timerTask: Task<Void, Never>?
    var pendingBatch = JournalBatch()
    var newRanks: [Int] = []
    /// When the intent of each job's latest call was taken (journaled or not), until the call's
    /// outcome is known.
    var intentTimes: [JobID: Date] = [:]
    /// Jobs whose call was lost in transport (vCenter may have started its task), with the
    /// intent time of that call: before calling again the runner looks for its task.
    var lostCalls: [JobID: Date] = [:]
    /// Every task this run started, adopted or counted as an outside task: never the
    /// task of a lost call.
    var knownTaskRefs = Set<MoRef>()
    /// Jobs running a task adopted for a lost call (with that call's intent time), checked when it succeeds.
    var adoptedForLostCall: [JobID: Date] = [:]

    /// Creates a runner. `strategy` is used only on the runner's executor.
    /// `onEvent` is called on the runner's executor for every event, in order.
    public init(
        vcenter: any VCenter, strategy: sending any Strategy, configuration: RunConfiguration = RunConfiguration(),
        journal: Journal? = nil, executor: (any SerialExecutor)? = nil,
        onEvent: (@Sendable (EngineEvent) -> Void)? = nil
    ) {
        self.executor = executor ?? EngineExecutor()
        self.vcenter = vcenter
        self.virtual = vcenter as? any VirtualTimeVCenter
        self.drivesTime = self.virtual != nil
        self.strategy = strategy
        self.configuration = configuration
        self.journal = journal
        self.onEvent = onEvent
    }

    /// Asks the run to stop: graceful (Ctrl-C once) lets running tasks finish;
    /// not graceful (twice) ends at once and leaves them running in vCenter. Thread-safe.
    public nonisolated func requestStop(graceful: Bool) {
        inbox.post(.stop(graceful: graceful))
    }

    var now: Date { virtual?.now ?? configuration.clock() }

    // MARK: Running

    /// Runs (or, with `configuration.resume`, continues) the migration to its end and
    /// returns the summary. Throws when the run cannot start (a strategy hook that runs
    /// before anything moves, the inventory, the journal) or when the journal can no
    /// longer be written (nothing further is started then; `--resume` continues).
    public func run() async throws -> RunSummary {
        let strategy = try takeStrategy()
        // Under virtual time every backend call completes at once: keep those calls on the
        // runner's own thread instead of hopping to the global pool and back. A real backend
        // does I/O and parsing in those calls, which must not block the runner's executor
        // (for a Lua strategy, the Lua thread).
        if virtual != nil, let preferred = executor as? any TaskExecutor {
            return try await withTaskExecutorPreference(preferred) { try await self.runBody(strategy) }
        }
        return try await runBody(strategy)
    }

    func runBody(_ strategy: any Strategy) async throws -> RunSummary {
        startedAt = now
        defer { shutDown() }
        let latest = try journal.flatMap { journal in try wrapJournal { try journal.latestRun() } }
        if configuration.resume, journal != nil, latest == nil {
            throw EngineError.cannotResume("the journal \(journal?.path ?? "") holds no run to continue; start one without --resume")
        }
        let identity = journal != nil ? await vcenterIdentity() : nil
        if let latest, latest.state != RunOutcome.completed.name || configuration.resume {
            guard configuration.resume else {
                throw EngineError.cannotResume("the journal holds an unfinished run (\(latest.state), started \(latest.startedAt)); continue it with --resume, or use another journal file")
            }
            // Before anything is read from vCenter or written to the journal.
            let warnings = try checkResumable(latest, identity: identity)
            if latest.vcenterUUID == nil, let identity, let journal {
                try wrapJournal { try journal.recordVCenterIdentity(latest.id, uuid: identity) }
            }
            try await resume(latest, strategy: strategy, warnings: warnings)
        } else {
            try await startNew(strategy: strategy, identity: identity)
        }
        try await loop()
        return try finishRun()
    }

    /// The ordered plan: which VM moves where, in which order, with which host moves,
    /// starting nothing (`--dry-run`). Targets are predicted by the strategy's `target`
    /// hook with free space accounted in order; slots are not simulated.
    public func plan() async throws -> DryRunPlan {
        let strategy = try takeStrategy()
        calls += 1
        let inventory = try await backendCall { try await self.vcenter.inventory() }
        let requests = try selectJobs(strategy, inventory)
        let scheduler = try Scheduler(inventory: inventory, strategy: strategy, configuration: configuration.scheduler)
        return try scheduler.preview(requests, now: now)
    }

    static func names(_ inventory: Inventory) -> [MoRef: String] {
        var names: [MoRef: String] = [:]
        for c in inventory.clusters { names[c.ref] = c.name }
        for h in inventory.hosts { names[h.ref] = h.name }
        for d in inventory.datastores { names[d.ref] = d.name }
        return names
    }

    func takeStrategy() throws -> any Strategy {
        guard let strategy else { throw EngineError.cannotResume("this runner has already run; create a new one for another run") }
        self.strategy = nil
        return strategy
    }

    func selectJobs(_ strategy: any Strategy, _ inventory: Inventory) throws -> [JobRequest] {
        do {
            return try strategy.select(inventory)
        } catch {
            throw EngineError.hookFailed(hook: "select", message: String(describing: error))
        }
    }

    func startNew(strategy: any Strategy, existingRun: Int64? = nil, identity: String? = nil, warnings: [String] = []) async throws {
        calls += 1
        let inventory = try await backendCall { try await self.vcenter.inventory() }
        let requests = try selectJobs(strategy, inventory)
        let scheduler = try Scheduler(inventory: inventory, strategy: strategy, configuration: configuration.scheduler)
        self.scheduler = scheduler
        scheduler.recordsEvents = journal != nil || onEvent != nil
        if let existingRun {
            runID = existingRun
        } else if let journal {
            runID = try wrapJournal {
                try journal.beginRun(strategy: configuration.strategyName, parameters: configuration.parameters,
                                     vcenter: vcenter.displayName, vcenterUUID: identity, at: now)
            }
        }
        let existing = try await existingTasks(known: [])
        for info in existing { await adoptExternal(info, scheduler: scheduler) }
        knownTaskRefs.reserveCapacity(requests.count)
        let actions = try scheduler.add(requests, now: now)
        var bytes: Int64 = 0
        for job in scheduler.jobs where job.kind.movesStorage && !job.state.isTerminal { bytes += job.size }
        emitDirect(.runStarted(RunStart(jobs: scheduler.jobs.count, bytes: bytes, resumed: false, names: Self.names(scheduler.inventory))))
        for text in warnings { emitDirect(.warning(text, job: nil)) }
        try await perform(actions)
    }

    /// The vCenter's queued and running tasks, minus `known` (this run's own).
    func existingTasks(known: Set<MoRef>) async throws -> [TaskInfo] {
        guard configuration.countExistingTasks else { return [] }
        calls += 1
        let tasks = try await backendCall { try await self.vcenter.recentTasks(TaskQuery(states: [.queued, .running])) }
        return tasks.filter { !known.contains($0.ref) && !$0.state.isTerminal }
    }

    /// Counts an outside task against the limits and watches it until it ends.
    func adoptExternal(_ info: TaskInfo, scheduler: Scheduler) async {
        knownTaskRefs.insert(info.ref)
        guard scheduler.externalTaskStarted(info, now: now) else { return }
        flushEvents()
        let ref = info.ref
        let inbox = self.inbox
        let vcenter = self.vcenter
        calls += 1
        outstanding += 1
        let work: @Sendable () async -> Void = {
            do {
                let live = try await vcenter.task(ref)
                let observation = live.observe { info in
                    if info.state.isTerminal { inbox.post(.externalUpdate(info)) }
                }
                inbox.post(.externalWatched(ref, observation))
                if live.isDone { inbox.post(.externalUpdate(live.info)) }
            } catch {
                // Cannot watch it: treat it as ended rather than block its VM forever.
                inbox.post(.externalWatched(ref, nil))
                var ended = info
                ended.state = .error
                inbox.post(.externalUpdate(ended))
            }
        }
        if virtual != nil { await work() } else { Task { await work() } }
    }

    // MARK: The loop

    func loop() async throws {
        guard let scheduler else { return }
        while true {
            let items = inbox.takeAll()
            if !items.isEmpty {
                for item in items { try await handle(item, scheduler) }
                continue
            }
            if scheduler.isFinished, outstanding == 0 { return }
            if drivesTime, let virtual, outstanding == 0 {
                let target = [virtual.nextEventTime, scheduler.nextWake].compactMap { $0 }.min()
                guard let target else {
                    // A simulator on scaled real time ends tasks on its own thread: the last
                    // completion may be between its clock and this inbox. Give it a moment
                    // (2 s at most) before calling the run stuck.
                    for _ in 0..<200 where inbox.isEmpty { try? await Task.sleep(for: .milliseconds(10)) }
                    if !inbox.isEmpty { continue }
                    throw EngineError.backend("the simulated vCenter has \(scheduler.activeJobs) task(s) running but nothing scheduled; it will never finish them")
                }
                virtual.advance(to: max(target, virtual.now))
                if virtual.now < target, inbox.isEmpty {
                    // Its clock follows real time: let it drive, and wait like for a real vCenter.
                    drivesTime = false
                    if let wake = scheduler.nextWake { armTimer(wake) }
                    continue
                }
                if inbox.isEmpty, let wake = scheduler.nextWake, wake <= virtual.now {
                    try await perform(scheduler.timerFired(now: virtual.now))
                }
                continue
            }
            await inbox.wait()
        }
    }

    func handle(_ item: RunnerInbox.Item, _ scheduler: Scheduler) async throws {
        switch item {
        case .started(let id, let task):
            outstanding -= 1
            lostCalls[id] = nil
            intentTimes[id] = nil
            knownTaskRefs.insert(task.ref)
            try await started(id, task, scheduler)
        case .startFailed(let id, let fault):
            outstanding -= 1
            lostCalls[id] = nil
            intentTimes[id] = nil
            try await perform(scheduler.startFailed(id, fault: fault, now: now))
        case .callLost(let id, let fault):
            outstanding -= 1
            await lookForLostTask(id, fault, scheduler)
        case .lostCallHasNoTask(let id, let fault):
            outstanding -= 1
            try await perform(scheduler.startLost(id, fault: fault, now: now))
        case .adoptedLost(let id, let task):
            outstanding -= 1
            let lostAt = lostCalls.removeValue(forKey: id) ?? intentTimes[id] ?? now
            knownTaskRefs.insert(task.ref)
            if scheduler.job(id).kind.movesStorage || scheduler.job(id).kind.movesHost { adoptedForLostCall[id] = lostAt }
            emitDirect(.warning("adopted \(task.ref.value) (\(task.info.name), \(task.info.state.rawValue)) as the task of the lost call for \(scheduler.job(id).vmName)", job: id))
            try await started(id, task, scheduler)
        case .adoptedChecked(let id, let info, let vm, let onTarget, let lostAt):
            outstanding -= 1
            if onTarget {
                try await perform(scheduler.taskFinished(id, info: info, now: now))
            } else {
                // The lost call's own task may still turn up: the retry looks again (this one excluded).
                lostCalls[id] = lostAt
                let why = vm == nil ? "the VM could not be read to confirm it" : "the VM is not on the job's target"
                try await perform(scheduler.adoptedTaskDisowned(id, fault: VCenterFault(
                    .taskNotConfirmed,
                    "\(info.ref.value), taken for the lost call, succeeded but \(why); retrying"), now: now))
            }
        case .recommended(let id, let recommendations):
            outstanding -= 1
            try await perform(scheduler.recommendations(id, recommendations, now: now))
        case .alreadyOnTarget(let id, let vm):
            outstanding -= 1
            lostCalls[id] = nil
            try await perform(scheduler.alreadyDone(id, vm: vm, now: now))
        case .verified(let id):
            outstanding -= 1
            try await call(id, scheduler)
        case .taskUpdate(let id, let info):
            if info.state.isTerminal {
                observations.removeValue(forKey: id)?.cancel()
                if let lostAt = adoptedForLostCall.removeValue(forKey: id), info.state == .success {
                    await checkAdopted(id, info, lostAt: lostAt, scheduler)
                    return
                }
                try await perform(scheduler.taskFinished(id, info: info, now: now))
            } else if let p = info.progress {
                scheduler.taskProgress(id, percent: p, now: now)
                try flush()
            }
        case .externalWatched(let ref, let observation):
            outstanding -= 1
            if let observation { externalObservations[ref] = observation }
        case .externalUpdate(let info):
            externalObservations.removeValue(forKey: info.ref)?.cancel()
            try await perform(scheduler.externalTaskFinished(info.ref, now: now))
        case .timer(let generation):
            guard generation == timerGeneration else { return }
            try await perform(scheduler.timerFired(now: now))
        case .stop(let graceful):
            try await perform(scheduler.stop(graceful: graceful, now: now))
        }
    }

    // MARK: Actions

    /// Journals the step's events (intents included) in one transaction, then performs
    /// the actions: a vCenter call is only ever made after its intent is on disk.
    func perform(_ actions: [SchedulerAction]) async throws {
        guard let scheduler else { return }
        for action in actions {
            if case .start(let id, let op, _) = action {
                intentTimes[id] = now
                if journal != nil {
                    pendingBatch.intents.append(JournalBatch.Intent(job: id, operation: op.methodName, attempt: scheduler.attempts(of: id), at: now))
                }
            }
        }
        try flush()
        for action in actions {
            switch action {
            case .start(let id, _, let verify):
                if verify {
                    try await verifyThenCall(id, scheduler)
                } else {
                    try await call(id, scheduler)
                }
            case .recommend(let id, let vm, let pod, let spec):
                await recommend(id, vm: vm, pod: pod, spec: spec)
            case .wake(let at):
                armTimer(at)
            case .finished:
                break
            }
        }
    }

    /// Asks Storage DRS where a job's VM should go (a read: a call lost in transport is simply
    /// retried with backoff).
    func recommend(_ id: JobID, vm: MoRef, pod: MoRef, spec: RelocateSpec) async {
        calls += 1
        outstanding += 1
        let inbox = self.inbox
        let vcenter = self.vcenter
        let work: @Sendable () async -> Void = {
            do {
                inbox.post(.recommended(id, try await vcenter.recommendDatastores(vm, pod: pod, spec: spec)))
            } catch {
                let fault = Self.fault(error)
                inbox.post(fault.isOutcomeUnknown ? .lostCallHasNoTask(id, fault) : .startFailed(id, fault))
            }
        }
        if virtual != nil { await work() } else { Task { await work() } }
    }

    /// Before retrying a move, checks (one batched call) whether the VM already is on its target.
    func verifyThenCall(_ id: JobID, _ scheduler: Scheduler) async throws {
        let job = scheduler.job(id)
        calls += 1
        outstanding += 1
        let inbox = self.inbox
        let vcenter = self.vcenter
        let kind = job.kind
        let vm = job.vm
        let work: @Sendable () async -> Void = {
            do {
                let fresh = try await vcenter.refreshVMs([vm])
                if let info = fresh.first, Scheduler.isOnTarget(kind, vm: info) {
                    inbox.post(.alreadyOnTarget(id, info))
                } else {
                    inbox.post(.verified(id))
                }
            } catch {
                inbox.post(.verified(id))
            }
        }
        if virtual != nil { await work() } else { Task { await work() } }
    }

    /// Makes the vCenter call of a dispatched job (its intent is journaled). When the job's
    /// previous call was lost in transport, first looks for that call's task among the VM's
    /// recent tasks and adopts it instead of calling again (see MigrationRunner+LostCalls).
    func call(_ id: JobID, _ scheduler: Scheduler) async throws {
        guard scheduler.state(of: id) == .dispatching else { return }
        let op = scheduler.operation(Int32(id.rawValue))
        let search = lostCalls[id].map { lostSearch(scheduler.job(id), intentAt: $0) }
        calls += search == nil ? 1 : 2
        outstanding += 1
        let inbox = self.inbox
        let vcenter = self.vcenter
        let work: @Sendable () async -> Void = {
            if let search {
                do {
                    if let found = try await search.run(on: vcenter) {
                        inbox.post(.adoptedLost(id, try await vcenter.task(found)))
                        return
                    }
                } catch {
                    // Cannot tell whether the lost call started a task: do not call again now.
                    inbox.post(.callLost(id, Self.fault(error)))
                    return
                }
            }
            do {
                let task = try await Self.invoke(op, on: vcenter)
                inbox.post(.started(id, task))
            } catch {
                let fault = Self.fault(error)
                inbox.post(fault.isOutcomeUnknown ? .callLost(id, fault) : .startFailed(id, fault))
            }
        }
        if virtual != nil { await work() } else { Task { await work() } }
    }

    /// The task of a call came back: journal its reference, then watch it.
    func started(_ id: JobID, _ task: LiveTask, _ scheduler: Scheduler) async throws {
        if journal != nil {
            pendingBatch.taskRefs.append(JournalBatch.TaskRef(job: id, ref: task.ref, attempt: scheduler.attempts(of: id), at: now))
        }
        let actions = scheduler.taskStarted(id, task: task.ref, now: now)
        try flush()
        watch(id, task)
        try await perform(actions)
    }

    func watch(_ id: JobID, _ task: LiveTask) {
        let inbox = self.inbox
        observations[id] = task.observe { info in inbox.post(.taskUpdate(id, info)) }
        // The task may have changed before the observer was in place.
        let info = task.info
        if info.state.isTerminal || info.progress != nil { inbox.post(.taskUpdate(id, info)) }
    }

    static func invoke(_ op: EngineOperation, on vcenter: any VCenter) async throws -> LiveTask {
        switch op {
        case .relocate(let vm, let spec, let priority):
            return try await vcenter.relocateVM(vm, spec: spec, priority: priority)
        case .applyStorageRecommendation(let vm, let key):
            return try await vcenter.applyStorageRecommendation(key, vm: vm)
        case .migrate(let vm, let host, let pool, let priority):
            return try await vcenter.migrateVM(vm, host: host, pool: pool, priority: priority)
        case .consolidate(let vm):
            return try await vcenter.consolidateDisks(vm)
        case .removeSnapshot(let vm, let selector, let removeChildren, let consolidate):
            return try await vcenter.removeSnapshot(vm, selector, removeChildren: removeChildren, consolidate: consolidate)
        case .invoke(let method, let object, let arguments):
            switch try await vcenter.invoke(method, on: object, arguments: arguments) {
            case .task(let task): return task
            case .value(let value):
                throw VCenterFault(.notATask, "\(method) returned \(value) instead of a task; only task-returning methods can be jobs")
            }
        }
    }

    static func fault(_ error: any Error) -> VCenterFault {
        if let fault = error as? VCenterFault { return fault }
        return VCenterFault(.clientError, String(describing: error))
    }

    func armTimer(_ at: Date) {
        timerGeneration &+= 1
        timerTask?.cancel()
        guard !drivesTime else { return }
        let generation = timerGeneration
        let inbox = self.inbox
        if let virtual {
            // A self-driven simulated clock: check its time a few times a second.
            timerTask = Task {
                while !Task.isCancelled, virtual.now < at { try? await Task.sleep(nanoseconds: 50_000_000) }
                if !Task.isCancelled { inbox.post(.timer(generation)) }
            }
            return
        }
        let delay = max(0, at.timeIntervalSince(configuration.clock()))
        timerTask = Task {
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            if !Task.isCancelled { inbox.post(.timer(generation)) }
        }
    }

    // MARK: Events and journal

    /// Hands the scheduler's new events to the journal batch and to the observer.
    func flushEvents() {
        guard let scheduler else { return }
        let events = scheduler.drainEvents()
        guard !events.isEmpty else { return }
        if journal != nil {
            for event in events {
                switch event.kind {
                case .jobAdded(let job):
                    pendingBatch.jobs[job.id] = job
                    pendingBatch.ranks[job.id] = scheduler.rank(of: job.id)
                case .jobChanged(let job, _), .retryScheduled(let job, _, _):
                    pendingBatch.jobs[job.id] = job
                case .taskProgress:
                    continue
                default:
                    break
                }
                pendingBatch.events.append(event)
            }
        }
        if let onEvent { for event in events { onEvent(event) } }
    }

    func emitDirect(_ kind: EngineEvent.Kind) {
        let event = EngineEvent(time: now, kind: kind)
        if journal != nil { pendingBatch.events.append(event) }
        onEvent?(event)
    }

    /// Writes what the last step produced, in one transaction.
    func flush() throws {
        flushEvents()
        guard let journal, let runID else {
            pendingBatch = JournalBatch()
            return
        }
        guard !pendingBatch.isEmpty else { return }
        let batch = pendingBatch
        pendingBatch = JournalBatch()
        try wrapJournal { try journal.write(batch, run: runID) }
    }

    func finishRun() throws -> RunSummary {
        guard let scheduler else { throw EngineError.backend("the run never started") }
        let outcome = scheduler.outcome ?? .abandoned
        try flush()
        if let journal, let runID {
            try wrapJournal { try journal.endRun(runID, outcome: outcome, at: now) }
        }
        // A backend that counts its requests knows them all (the task poller's too).
        return RunSummary(outcome: outcome, startedAt: startedAt, endedAt: now, jobs: scheduler.jobs, calls: vcenter.requestCount ?? calls,
                          peakUsage: scheduler.resourceUsage())
    }

    func shutDown() {
        timerTask?.cancel()
        for o in observations.values { o.cancel() }
        for o in externalObservations.values { o.cancel() }
        observations.removeAll()
        externalObservations.removeAll()
        // The run is over: another may write the journal now (a resume, after an abandon).
        journal?.close()
    }

    func wrapJournal<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError.journal(String(describing: error))
        }
    }

    func backendCall<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let fault as VCenterFault {
            throw EngineError.backend(fault.description)
        } catch {
            throw EngineError.backend(String(describing: error))
        }
    }
}
