import Foundation
import HeapModule
import VCenterModel

extension Scheduler {
    /// Moves a job to `state`, keeping the counters and emitting the event.
    func transition(_ j: Int32, to state: JobState, now: Date) {
        let i = Int(j)
        let from = jobs[i].state
        guard from != state else { return }
        if from == .pending { pendingCount -= 1 }
        if from.isActive { activeCount -= 1 }
        if state == .pending { pendingCount += 1 }
        if state.isActive { activeCount += 1 }
        jobs[i].state = state
        if state.isTerminal { jobs[i].finishedAt = now }
        emit(.jobChanged(jobs[i], from: from), now)
    }

    /// Gives back everything an attempt holds and wakes what the freed room can unblock.
    func release(_ j: Int32, success: Bool) {
        let i = Int(j)
        let charges = meta[i].charges
        for c in charges { ledger.release(c, external: false) }
        countRunning(charges, -1)
        meta[i].charges = []
        let leaving = meta[i].leaving
        for (d, bytes) in leaving {
            dsSlots[Int(d)].inflightFrom -= 1
            if success { dsSlots[Int(d)].free += bytes }
        }
        meta[i].leaving = []
        let reserved = meta[i].reserved
        for (t, bytes) in reserved {
            dsSlots[Int(t)].inflightTo -= 1
            if !success { dsSlots[Int(t)].free += bytes }
        }
        meta[i].reserved = []
        meta[i].placed = []
        meta[i].recommendationKey = nil
        meta[i].awaitingRecommendation = false
        vmSlots[Int(meta[i].vm)].active = -1
        for c in charges { freed(c.resource) }
        for (d, _) in leaving { datastoreChanged(d) }
        for (t, _) in reserved { datastoreChanged(t) }
    }

    /// The job's task succeeded (or the VM was found on its target): record where the
    /// VM is now, free the resources, run the VM's next job.
    func succeed(_ j: Int32, now: Date, observed: VMInfo? = nil) {
        let i = Int(j)
        let v = meta[i].vm
        // The few fields needed, not a copy of the whole job.
        let movesStorage = jobs[i].kind.movesStorage, isProactive = jobs[i].parent != nil
        let placed = meta[i].placed
        release(j, success: true)
        if let observed {
            applyLocation(v, observed)
        } else {
            let h = meta[i].destHost >= 0 ? meta[i].destHost : nil
            if (movesStorage && !placed.isEmpty) || h != nil {
                moved(v, host: h, files: movesStorage ? placed : [], format: jobs[i].kind.storage?.format)
            }
        }
        jobs[i].lastError = nil
        jobs[i].lastFault = nil
        jobs[i].progress = 100
        transition(j, to: .done, now: now)
        popHead(v, j)
        scheduleHead(v, now: now)
        // Pro-active vMotions are the engine's own; the strategy hears of the job they served.
        guard !isProactive else {
            proactiveDone(j, now: now)
            return
        }
        do {
            try strategy.onDone(jobs[i])
        } catch {
            emit(.warning("the strategy's on_done hook failed for \(jobs[i].vmName): \(error)", job: jobs[i].id), now)
        }
    }

    /// A call or task of the job failed. The retry policy says whether the engine would
    /// retry (the fault's rule has retries left, `RetryPolicy`); the strategy hears every
    /// failure and may decide otherwise; past `RetryPolicy.attemptLimit` the job fails,
    /// naming its faults. `retriable` overrides `fault.isRetriable` (a call whose outcome is unknown).
    func handleFailure(_ j: Int32, fault: VCenterFault, now: Date, retriable: Bool? = nil) {
        let i = Int(j)
        release(j, success: false)
        jobs[i].lastError = fault.description
        jobs[i].lastFault = fault.code
        meta[i].faults[fault.code, default: 0] += 1
        let attempt = jobs[i].attempts
        if jobs[i].parent != nil {
            // A pro-active vMotion is the engine's own idea: no retry, and the storage move goes on waiting.
            end(j, .failed, now: now)
            return
        }
        let (rule, allowed) = retry.rule(for: fault.code, retriable: retriable ?? fault.isRetriable)
        let used = meta[i].retriesUsed[rule] ?? 0
        let atLimit = attempt >= retry.attemptLimit
        let willRetry = !atLimit && used < allowed
        let failure = JobFailure(fault: fault, attempt: attempt, willRetry: willRetry,
                                 retryAt: willRetry ? now.addingTimeInterval(retry.delay(afterAttempt: max(attempt, 1))) : nil,
                                 rule: rule, retriesUsed: used, retriesAllowed: allowed, atLimit: atLimit)
        let answer: FailureDecision?
        do {
            answer = try strategy.onFailure(jobs[i], failure)
        } catch {
            jobs[i].lastError = "\(fault.description); the strategy's on_failure hook failed: \(error)"
            end(j, .failed, now: now)
            return
        }
        switch answer ?? (willRetry ? .retry : .skip) {
        case .retry:
            guard !atLimit else {
                jobs[i].lastError = "gave up after \(attempt) attempts (\(faultSummary(i))), the most a job gets (retries.limit); last: \(fault.description)"
                end(j, .failed, now: now)
                return
            }
            meta[i].retriesUsed[rule, default: 0] += 1
            scheduleRetry(j, fault: fault, now: now)
        case .skip:
            end(j, .skipped, now: now)
        case .abort:
            end(j, .failed, now: now)
            if stopping == nil { stopping = .aborted("the strategy aborted after \(jobs[i].vmName) failed: \(fault.description)") }
        }
    }

    /// `FileLocked ×3, Timeout ×1` — the faults job `i` met, most frequent first.
    func faultSummary(_ i: Int) -> String {
        meta[i].faults.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.rawValue) ×\($0.value)" }.joined(separator: ", ")
    }

    func scheduleRetry(_ j: Int32, fault: VCenterFault, now: Date) {
        let i = Int(j)
        let at = now.addingTimeInterval(retry.delay(afterAttempt: max(jobs[i].attempts, 1)))
        jobs[i].notBefore = at
        meta[i].verifyNext = jobs[i].kind.movesStorage || jobs[i].kind.movesHost
        // A failure is news: a retried job that is blocked by its host asks on_blocked afresh.
        meta[i].blockedAnswer = nil
        meta[i].blockedHost = -1
        transition(j, to: .pending, now: now)
        timers.insert(TimerEntry(date: at, job: j))
        emit(.retryScheduled(jobs[i], at: at, fault: fault), now)
    }

    /// Fails a job that was being examined (no resources held).
    func failPending(_ j: Int32, _ message: String, now: Date) {
        jobs[Int(j)].lastError = message
        jobs[Int(j)].lastFault = nil
        end(j, .failed, now: now)
    }

    /// Ends a job that holds no resources, and runs its VM's next job.
    func end(_ j: Int32, _ state: JobState, now: Date) {
        let v = meta[Int(j)].vm
        transition(j, to: state, now: now)
        popHead(v, j)
        scheduleHead(v, now: now)
    }

    func popHead(_ v: Int32, _ j: Int32) {
        if vmSlots[Int(v)].queue.first == j {
            vmSlots[Int(v)].queue.removeFirst()
        } else if let k = vmSlots[Int(v)].queue.firstIndex(of: j) {
            vmSlots[Int(v)].queue.remove(at: k)
        }
    }

    /// Ends the run when nothing is left to do (or to wait for).
    func checkFinished(now: Date) {
        guard outcome == nil else { return }
        if let stopping {
            if activeCount == 0 { finish(stopping.outcome, now: now) }
            return
        }
        guard activeCount == 0 else { return }
        if pendingCount == 0 {
            finish(.completed, now: now)
            return
        }
        // Nothing runs, no backoff is pending and no outside task will free anything:
        // what still waits can never get room. Fail it, saying what blocked it.
        guard nextWake == nil, external.isEmpty else { return }
        for i in jobs.indices where jobs[i].state == .pending {
            let r = meta[i].blockedOn
            let why = r >= 0 ? describe(r) : "the VM's earlier jobs"
            jobs[i].lastError = "never got room: \(why), and nothing running would free it"
            transition(Int32(i), to: .failed, now: now)
        }
        for v in vmSlots.indices { vmSlots[v].queue.removeAll() }
        finish(.completed, now: now)
    }

    func finish(_ result: RunOutcome, now: Date) {
        guard outcome == nil else { return }
        outcome = result
        emit(.runFinished(result), now)
        actions.append(.finished(result))
    }
}
