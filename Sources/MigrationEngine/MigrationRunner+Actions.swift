import Foundation
import VCenterModel

// Performing the scheduler's actions. Each action that talks to vCenter is one launched
// operation (`launch`): it runs off the runner's executor against a real backend (I/O and
// parsing must not block the runner, which may be the Lua thread) and inline under virtual
// time (every call completes at once there), and its outcome comes back through the inbox
// exactly once, as a `RunnerInbox.Outcome` the loop hands to the scheduler input of that
// name. Nothing here decides what happens next.
extension MigrationRunner {
    /// Journals the step's events (intents included) in one transaction, then performs
    /// the actions: a vCenter call is only ever made after its intent is on disk.
    func perform(_ actions: [SchedulerAction]) async throws {
        guard let scheduler else { return }
        if journal != nil {
            for case .start(let id, let op, _, _) in actions {
                pendingBatch.intents.append(JournalBatch.Intent(job: id, operation: op.methodName, attempt: scheduler.attempts(of: id), at: now))
            }
        }
        try flush()
        forecastIfDue()
        for action in actions {
            switch action {
            case .start(let id, let op, let verifyFirst, let lookFirst):
                // Two fields, not two copies of the whole job.
                let vm = scheduler.vm(of: id), kind = scheduler.kind(of: id)
                await launch { [vcenter, callCount] in
                    await Self.start(id, op, vm: vm, kind: kind, verifyFirst: verifyFirst, lookFirst: lookFirst, on: vcenter, counting: callCount)
                }
            case .findLostTask(let id, let search):
                await launch { [vcenter, callCount] in
                    await Self.find(id, search, on: vcenter, counting: callCount) ?? .lostTaskNotFound(id)
                }
            case .confirmPlacement(let id, let vm):
                await launch { [vcenter, callCount] in
                    callCount.add()
                    return .placementChecked(id, try? await vcenter.refreshVMs([vm]).first)
                }
            case .recommend(let id, let vm, let pod, let spec):
                await launch { [vcenter, callCount] in
                    callCount.add()
                    do {
                        return .recommended(id, try await vcenter.recommendDatastores(vm, pod: pod, spec: spec))
                    } catch {
                        return .recommendationFailed(id, Self.fault(error))
                    }
                }
            case .wake(let at):
                armTimer(at)
            case .finished:
                break
            }
        }
    }

    /// Runs `work` as one outstanding operation whose outcome reaches the inbox once.
    func launch(_ work: @escaping @Sendable () async -> RunnerInbox.Outcome) async {
        outstanding += 1
        let inbox = self.inbox
        if virtual != nil {
            // A simulated backend answers at once and never blocks: no hop to the global
            // pool and back (the loop finds the outcome in the inbox before it next waits).
            inbox.post(.completed(await work()))
        } else {
            Task { inbox.post(.completed(await work())) }
        }
    }

    /// One attempt of a job: check where the VM is (a retried move), look for a lost
    /// call's task, then call vCenter (`SchedulerAction.start`).
    static func start(_ id: JobID, _ op: EngineOperation, vm: MoRef, kind: JobKind, verifyFirst: Bool, lookFirst: TaskSearch?,
                      on vcenter: any VCenter, counting calls: CallCounter) async -> RunnerInbox.Outcome {
        if verifyFirst {
            calls.add()
            // Unreadable: call anyway (the call itself fails if the VM is gone).
            if let info = try? await vcenter.refreshVMs([vm]).first, Scheduler.isOnTarget(kind, vm: info) {
                return .alreadyOnTarget(id, info)
            }
        }
        if let lookFirst {
            // Cannot tell whether the lost call started a task: do not call again now.
            guard let found = await find(id, lookFirst, on: vcenter, counting: calls, failed: .lostTaskNotFound(id)) else {
                return await invoke(id, op, on: vcenter, counting: calls)
            }
            return found
        }
        return await invoke(id, op, on: vcenter, counting: calls)
    }

    /// Runs a lost call's search: `.lostTaskFound` for a match, nil for none, `failed`
    /// when vCenter could not be asked.
    static func find(_ id: JobID, _ search: TaskSearch, on vcenter: any VCenter, counting calls: CallCounter,
                     failed: RunnerInbox.Outcome? = nil) async -> RunnerInbox.Outcome? {
        calls.add()
        do {
            guard let ref = try await search.run(on: vcenter) else { return nil }
            calls.add()
            return .lostTaskFound(id, try await vcenter.task(ref))
        } catch {
            return failed ?? .lostTaskNotFound(id)
        }
    }

    /// Makes the job's vCenter call.
    static func invoke(_ id: JobID, _ op: EngineOperation, on vcenter: any VCenter, counting calls: CallCounter) async -> RunnerInbox.Outcome {
        calls.add()
        do {
            return .started(id, try await invoke(op, on: vcenter))
        } catch {
            return .startFailed(id, fault(error))
        }
    }

    /// A job's task is known (its call returned it, or a search found it): journal its
    /// reference, tell the scheduler (`input`), then watch it.
    func started(_ id: JobID, _ task: LiveTask, _ scheduler: Scheduler, input: (Date) -> [SchedulerAction]) async throws {
        guard scheduler.state(of: id) == .dispatching else { return }
        if journal != nil {
            pendingBatch.taskRefs.append(JournalBatch.TaskRef(job: id, ref: task.ref, attempt: scheduler.attempts(of: id), at: now))
        }
        let actions = input(now)
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

    /// Counts an outside task against the limits and watches it until it ends.
    func adoptExternal(_ info: TaskInfo, scheduler: Scheduler) async {
        // Its event stays with the scheduler until the next flush, after `run-started`.
        guard scheduler.externalTaskStarted(info, now: now) else { return }
        let inbox = self.inbox
        await launch { [vcenter, callCount] in
            callCount.add()
            do {
                let live = try await vcenter.task(info.ref)
                let observation = live.observe { update in
                    if update.state.isTerminal { inbox.post(.externalUpdate(update)) }
                }
                if live.isDone { inbox.post(.externalUpdate(live.info)) }
                return .externalWatched(info.ref, observation)
            } catch {
                // Cannot watch it: treat it as ended rather than block its VM forever.
                var ended = info
                ended.state = .error
                inbox.post(.externalUpdate(ended))
                return .externalWatched(info.ref, nil)
            }
        }
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

    func countCall() { callCount.add() }

    /// Asks for `.timer` at simulated or real time `at`. A backend that runs its own clock
    /// (`clockSpeed`) is waited for in real time scaled by its speed; if the wait ends a
    /// little early, the scheduler simply asks again.
    func armTimer(_ at: Date) {
        timerGeneration &+= 1
        timerTask?.cancel()
        guard !drivesTime else { return }
        let generation = timerGeneration
        let inbox = self.inbox
        let delay: TimeInterval
        if let virtual, let speed = virtual.clockSpeed {
            delay = max(0, at.timeIntervalSince(virtual.now)) / speed
        } else {
            delay = max(0, at.timeIntervalSince(configuration.clock())) / max(configuration.clockSpeed, 1e-9)
        }
        timerTask = Task {
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            if !Task.isCancelled { inbox.post(.timer(generation)) }
        }
    }
}
