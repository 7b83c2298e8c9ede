import Foundation
import Synchronization
import VCenterModel

/// Drives a `Scheduler` against a `VCenter`: performs its actions (journal the
/// intent, call vCenter, journal the task reference), watches every task through
/// its `LiveTask` and feeds each change back at once, runs retry timers, and writes
/// every transition to the `Journal` and to event observers.
///
/// The runner decides nothing: the `Scheduler` decides every step of every job (when to
/// call, what to look for after a lost call, when to retry) and returns actions; the
/// runner performs them (MigrationRunner+Actions) and feeds each outcome back as the
/// scheduler's input. Every operation it launches reports exactly once through the inbox,
/// which is how it knows when nothing is outstanding.
///
/// With a `VirtualTimeVCenter` backend it never waits in real time: when nothing is
/// runnable it advances the backend to its next event or the scheduler's next timer,
/// whichever is first (this is `moonmotion plan`, on the same runner and scheduler). A
/// backend whose clock runs by itself (`clockSpeed`, a simulator on scaled real time) is
/// waited for like a real vCenter, its timers converted to real delays.
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
    public nonisolated var calls: Int { callCount.count }
    let callCount = CallCounter()
    /// Operations launched whose outcome has not reached the inbox yet.
    var outstanding = 0
    var observations: [JobID: LiveTask.Observation] = [:]
    var externalObservations: [MoRef: LiveTask.Observation] = [:]
    var timerGeneration: UInt64 = 0
    /// Whether the runner moves the virtual backend's clock itself (not for a backend
    /// whose clock runs by itself, `VirtualTimeVCenter.clockSpeed`).
    let drivesTime: Bool
    var timerTask: Task<Void, Never>?
    var pendingBatch = JournalBatch()
    /// The forecast's rates and trigger (MigrationRunner+Forecast); nil when not forecasting.
    var forecasting: RunnerForecasting?

    /// Creates a runner. `strategy` is used only on the runner's executor.
    /// `onEvent` is called on the runner's executor for every event, in order.
    public init(
        vcenter: any VCenter, strategy: sending any Strategy, configuration: RunConfiguration = RunConfiguration(),
        journal: Journal? = nil, executor: (any SerialExecutor)? = nil,
        onEvent: (@Sendable (EngineEvent) -> Void)? = nil
    ) {
        self.executor = executor ?? EngineExecutor()
        self.vcenter = vcenter
        let virtual = vcenter as? any VirtualTimeVCenter
        self.virtual = virtual
        self.drivesTime = virtual != nil && virtual?.clockSpeed == nil
        self.strategy = strategy
        self.configuration = configuration
        self.journal = journal
        self.onEvent = onEvent
        if let trigger = configuration.forecast {
            let s = configuration.scheduler
            self.forecasting = RunnerForecasting(
                rates: RateBook(halfLife: configuration.forecastHalfLife, overhead: s.predictedOverhead, assumedRate: s.predictedRate),
                trigger: trigger)
        }
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
        countCall()
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
        countCall()
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
        countCall()
        let tasks = try await backendCall { try await self.vcenter.recentTasks(TaskQuery(states: [.queued, .running])) }
        return tasks.filter { !known.contains($0.ref) && !$0.state.isTerminal }
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
                // Everything the backend does happens inside `advance`, on this thread: with
                // nothing outstanding and the inbox empty, the next thing that can happen is
                // its next event or the scheduler's next timer.
                guard let target = [virtual.nextEventTime, scheduler.nextWake].compactMap({ $0 }).min() else {
                    throw EngineError.backend("the simulated vCenter has \(scheduler.activeJobs) task(s) running but nothing scheduled; it will never finish them")
                }
                if let limit = configuration.simulatedTimeLimit, target > startedAt.addingTimeInterval(limit) {
                    virtual.advance(to: max(startedAt.addingTimeInterval(limit), virtual.now))
                    try await perform(scheduler.timeLimitReached(limit, now: virtual.now))
                    continue
                }
                virtual.advance(to: max(target, virtual.now))
                if inbox.isEmpty, let wake = scheduler.nextWake, wake <= virtual.now {
                    try await perform(scheduler.timerFired(now: virtual.now))
                }
                continue
            }
            await inbox.wait()
        }
    }

    /// Feeds one inbox item to the scheduler (after journaling what must precede it) and
    /// performs the actions it returns.
    func handle(_ item: RunnerInbox.Item, _ scheduler: Scheduler) async throws {
        switch item {
        case .completed(let outcome):
            outstanding -= 1
            try await handle(outcome, scheduler)
        case .taskUpdate(let id, let info):
            if info.state.isTerminal {
                observations.removeValue(forKey: id)?.cancel()
                try await perform(scheduler.taskFinished(id, info: info, now: now))
            } else if let p = info.progress {
                try await perform(scheduler.taskProgressed(id, percent: p, now: now))
            }
        case .externalUpdate(let info):
            externalObservations.removeValue(forKey: info.ref)?.cancel()
            try await perform(scheduler.externalTaskFinished(info.ref, now: now))
        case .timer(let generation):
            guard generation == timerGeneration else { return }
            try await perform(scheduler.timerFired(now: now))
        case .stop(let graceful):
            try await perform(scheduler.stop(graceful: graceful, now: now))
        case .forecast(let forecast):
            forecastArrived(forecast)
            try flush()
        }
    }

    func handle(_ outcome: RunnerInbox.Outcome, _ scheduler: Scheduler) async throws {
        switch outcome {
        case .started(let id, let task):
            try await started(id, task, scheduler) { scheduler.taskStarted(id, task: task.ref, now: $0) }
        case .lostTaskFound(let id, let task):
            try await started(id, task, scheduler) { scheduler.lostTaskFound(id, task: task.info, now: $0) }
        case .startFailed(let id, let fault):
            try await perform(scheduler.startFailed(id, fault: fault, now: now))
        case .lostTaskNotFound(let id):
            try await perform(scheduler.lostTaskNotFound(id, now: now))
        case .alreadyOnTarget(let id, let vm):
            try await perform(scheduler.alreadyDone(id, vm: vm, now: now))
        case .placementChecked(let id, let vm):
            try await perform(scheduler.placementChecked(id, vm: vm, now: now))
        case .recommended(let id, let recommendations):
            try await perform(scheduler.recommendations(id, recommendations, now: now))
        case .recommendationFailed(let id, let fault):
            try await perform(scheduler.recommendationFailed(id, fault: fault, now: now))
        case .externalWatched(let ref, let observation):
            if let observation { externalObservations[ref] = observation }
        }
    }

    // MARK: Events and journal

    /// Hands the scheduler's new events to the journal batch and to the observer.
    func flushEvents() {
        guard let scheduler else { return }
        let events = scheduler.drainEvents()
        guard !events.isEmpty else { return }
        observeRates(events)
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
        cancelForecast()
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
