import Foundation
import VCenterModel

extension MigrationRunner {
    /// Continues an interrupted run: reconciles every job the journal left in flight
    /// with vCenter (see the crash analysis at the top of Journal.swift), then runs on.
    func resume(_ run: JournalRun, strategy: any Strategy, warnings: [String] = []) async throws {
        guard let journal else { return }
        runID = run.id
        let saved = try wrapJournal { try journal.jobs(of: run.id) }
        if saved.isEmpty {
            // Interrupted before its first step was written: nothing was called (every call
            // follows its journaled intent), so select the jobs again under the same run.
            try wrapJournal { try journal.resumeRun(run.id, at: now) }
            try await startNew(strategy: strategy, existingRun: run.id, warnings: warnings)
            return
        }
        let refsByJob = try wrapJournal { try journal.taskRefs(of: run.id) }
        var known = Set(refsByJob.values.flatMap { $0 })
        countCall()
        let inventory = try await backendCall { try await self.vcenter.inventory() }
        var jobs = saved.map(\.job)
        var live: [(JobID, LiveTask)] = []
        var adoptedRefs: [JournalBatch.TaskRef] = []
        var changed: [(Job, JobState)] = []
        var calls = RestoredCalls()
        let resumeTime = now

        for (i, entry) in saved.enumerated() {
            var job = entry.job
            let before = job.state
            switch job.state {
            case .running, .dispatching:
                var task: LiveTask?
                if job.state == .running, let ref = job.taskRef {
                    task = try await lookUp(ref)
                } else if let found = try await findStartedTask(job, intentAt: entry.intentAt, excluding: known) {
                    task = try await lookUp(found)
                    if task != nil {
                        known.insert(found)
                        adoptedRefs.append(JournalBatch.TaskRef(job: job.id, ref: found, attempt: max(job.attempts, 1), at: resumeTime))
                        // Found by operation and time, not by reference: confirmed by the VM's place when it succeeds.
                        if let intentAt = entry.intentAt, job.kind.movesStorage || job.kind.movesHost { calls.adopted[job.id] = intentAt }
                    }
                }
                if let task {
                    job.taskRef = task.ref
                    job.state = .running
                    if job.startedAt == nil { job.startedAt = task.info.startTime ?? resumeTime }
                    live.append((job.id, task))
                } else {
                    settle(&job, inventory: inventory, now: resumeTime,
                           note: "resume: no task of attempt \(job.attempts) was found in vCenter")
                }
            case .pending:
                if job.kind.movesStorage || job.kind.movesHost, let vm = inventory.vm(job.vm), Scheduler.isOnTarget(job.kind, vm: vm) {
                    settle(&job, inventory: inventory, now: resumeTime, note: nil)
                } else if job.attempts > 0, let intentAt = entry.intentAt,
                          job.lastFault?.isOutcomeUnknown == true {
                    // Its last call was lost in transport: look for that call's task before calling again.
                    calls.lost[job.id] = intentAt
                }
            case .done, .failed, .skipped:
                break
            }
            if job.state != before { changed.append((job, before)) }
            jobs[i] = job
        }

        calls.knownTasks = known
        let scheduler = try Scheduler(inventory: inventory, strategy: strategy, configuration: configuration.scheduler)
        self.scheduler = scheduler
        scheduler.recordsEvents = journal != nil || onEvent != nil
        try wrapJournal { try journal.resumeRun(run.id, at: resumeTime) }
        for info in try await existingTasks(known: known) { await adoptExternal(info, scheduler: scheduler) }
        let actions = scheduler.restore(jobs, ranks: saved.map(\.rank), calls: calls, now: resumeTime)
        // `run-started` is the run's first event for every reader (`--events`, the journal,
        // the status page): the jobs the reconciliation above changed, and the external tasks
        // adopted, follow it. (They came first when a kill had left a task ended or a VM
        // already moved: the crash test's `--events` log then began with `job-changed`.)
        let bytes = scheduler.jobs.filter { $0.kind.movesStorage && !$0.state.isTerminal }.reduce(Int64(0)) { $0 + $1.size }
        emitDirect(.runStarted(RunStart(jobs: scheduler.jobs.count, bytes: bytes, resumed: true, names: Self.names(scheduler.inventory))))
        for (job, from) in changed {
            pendingBatch.jobs[job.id] = scheduler.job(job.id)
            emitDirect(.jobChanged(scheduler.job(job.id), from: from))
        }
        pendingBatch.taskRefs.append(contentsOf: adoptedRefs)
        for text in warnings { emitDirect(.warning(text, job: nil)) }
        try flush()
        for (id, task) in live { watch(id, task) }
        try await perform(actions)
    }

    /// The live task for `ref`, or nil when vCenter no longer knows it.
    func lookUp(_ ref: MoRef) async throws -> LiveTask? {
        countCall()
        do {
            return try await vcenter.task(ref)
        } catch let fault as VCenterFault where fault.code.isA(.managedObjectNotFound) || fault.code == .notFound {
            return nil
        } catch {
            throw EngineError.backend("cannot read task \(ref) to resume: \(error)")
        }
    }

    /// A task of the job's operation on its VM that started after the intent (less the
    /// clock-skew tolerance) and is not one of the run's known tasks: the call made just
    /// before a crash, whose reference never reached the journal (`TaskSearch`).
    func findStartedTask(_ job: Job, intentAt: Date?, excluding known: Set<MoRef>) async throws -> MoRef? {
        guard let intentAt else { return nil }
        let search = TaskSearch(job: job, intentAt: intentAt, tolerance: configuration.clockSkewTolerance, excluding: known)
        countCall()
        let vcenter = self.vcenter
        return try await backendCall { try await search.run(on: vcenter) }
    }

    /// Decides a job whose task is unknown from where its VM is now: on its target →
    /// done without a call; otherwise pending again (the next attempt re-checks first).
    func settle(_ job: inout Job, inventory: Inventory, now: Date, note: String?) {
        if let vm = inventory.vm(job.vm), Scheduler.isOnTarget(job.kind, vm: vm) {
            job.state = .done
            job.finishedAt = now
            job.lastError = nil
            if job.label == nil { job.label = "found on target at resume" }
            if job.kind.movesStorage, job.target == nil { job.target = vm.datastores.first }
        } else {
            job.state = .pending
            job.taskRef = nil
            job.notBefore = nil
            if let note { job.lastError = note }
        }
    }
}
