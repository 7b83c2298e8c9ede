import Foundation
import VCenterModel

// A call that fails in transport — a read timeout, a dropped connection, an unreadable
// answer (`VCenterFault.isOutcomeUnknown`) — may have reached vCenter and started its
// task. Failing the job then would release its resources while the task runs (above the
// limits, and an untracked move). The scheduler treats it like the crash window of
// Journal.swift's analysis (case 3), while the job still holds its resources:
//
//   1. `startFailed` with such a fault asks the driver to look for the call's task among
//      the VM's recent tasks (`.findLostTask`, a `TaskSearch`, as `--resume` does). Found
//      (`lostTaskFound`), it is adopted: the job runs on with that task. The match is by
//      operation, VM and start time (vCenter's clock may differ from ours by the clock-skew
//      tolerance), so it could be an earlier task of the VM: when an adopted move
//      succeeds, the VM is read once more (`.confirmPlacement`), and unless it is on the
//      job's target (`placementChecked`) the task is disowned and the job retried as in 2;
//   2. not found, or the search failed (`lostTaskNotFound`), the job is retried with
//      backoff like a retriable fault, without asking the strategy until the retries are
//      used up. The retry of a move first re-reads the VM (on its target → done without a
//      call), and every later call of the job first looks for the lost call's task again
//      (`.start(lookFirst:)`), since vCenter may list it late. The search excludes every
//      task the run knows (`knownTasks`), so another job's task on the same VM is never
//      taken for it.
//
// A kill -9 meanwhile: the job is journaled pending with the fault as its last error,
// and `--resume` hands the lost call back through `restore(calls:)`.
//
// Everything a job's calls need is here, beside its state (`JobMeta.call`): the driver
// only performs the searches and reads and reports what it saw.
extension Scheduler {
    /// The job's call failed. With a fault whose outcome is unknown the call may have
    /// started a task: the answer is `.findLostTask` (step 1 above). Otherwise no task
    /// exists: the fault is handled like a task's (retry, or the strategy decides).
    public func startFailed(_ id: JobID, fault: VCenterFault, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .dispatching else { return finishStep(now: now) }
        if fault.isOutcomeUnknown {
            // The earliest lost call counts: a later one's intent would hide its task.
            let lostAt = meta[j].call.lostAt ?? meta[j].call.intentAt ?? now
            meta[j].call.lostAt = lostAt
            meta[j].call.lostFault = fault
            emit(.warning("the call for \(jobs[j].vmName) (\(jobs[j].kind.name)) failed after vCenter may have received it (\(fault)); looking for its task among the VM's recent tasks", job: id), now)
            actions.append(.findLostTask(id, lostSearch(Int32(j), intentAt: lostAt)))
            return finishStep(now: now)
        }
        meta[j].call.intentAt = nil
        handleFailure(Int32(j), fault: fault, now: now)
        return finishStep(now: now)
    }

    /// A task of the VM matching a lost call (`TaskSearch`) was found: the job runs on with
    /// it. A move's success is then confirmed by the VM's place (`.confirmPlacement`).
    public func lostTaskFound(_ id: JobID, task: TaskInfo, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .dispatching else { return finishStep(now: now) }
        let lostAt = meta[j].call.lostAt ?? meta[j].call.intentAt ?? now
        meta[j].call = CallState()
        if jobs[j].kind.movesStorage || jobs[j].kind.movesHost { meta[j].call.adoptedFor = lostAt }
        emit(.warning("adopted \(task.ref.value) (\(task.name), \(task.state.rawValue)) as the task of the lost call for \(jobs[j].vmName)", job: id), now)
        return taskStarted(id, task: task.ref, now: now)
    }

    /// No task of the lost call was found (or vCenter could not be asked): the job is
    /// retried with backoff like a retriable fault; its next call looks for the task first.
    public func lostTaskNotFound(_ id: JobID, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .dispatching else { return finishStep(now: now) }
        if meta[j].call.lostAt == nil { meta[j].call.lostAt = meta[j].call.intentAt ?? now }
        let fault = meta[j].call.lostFault ?? VCenterFault(.connectionClosed, "the call's outcome is unknown and its task could not be looked for")
        meta[j].call.intentAt = nil
        handleFailure(Int32(j), fault: fault, now: now, retriable: true)
        return finishStep(now: now)
    }

    /// The VM after an adopted task succeeded (nil: it could not be read). On the job's
    /// target: the job is done. Otherwise the task was not this job's: it is disowned and
    /// the job retried with backoff (its resources are released; its next call looks for
    /// the lost call's task again, this one excluded).
    public func placementChecked(_ id: JobID, vm: VMInfo?, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .running, let info = meta[j].call.confirming else { return finishStep(now: now) }
        let lostAt = meta[j].call.adoptedFor
        meta[j].call = CallState()
        if let vm, isOnTarget(id, vm: vm) {
            if jobs[j].taskRef == nil { jobs[j].taskRef = info.ref }
            succeed(Int32(j), now: now)
            return finishStep(now: now)
        }
        meta[j].call.lostAt = lostAt ?? now
        let why = vm == nil ? "the VM could not be read to confirm it" : "the VM is not on the job's target"
        let fault = VCenterFault(.taskNotConfirmed, "\(info.ref.value), taken for the lost call, succeeded but \(why); retrying")
        meta[j].call.lostFault = fault
        handleFailure(Int32(j), fault: fault, now: now, retriable: true)
        return finishStep(now: now)
    }

    /// Storage DRS could not be asked. Lost in transport: retried with backoff (a read
    /// changes nothing in vCenter, so there is no task to look for); otherwise like a task's fault.
    public func recommendationFailed(_ id: JobID, fault: VCenterFault, now: Date) -> [SchedulerAction] {
        let j = id.rawValue
        guard jobs.indices.contains(j), jobs[j].state == .dispatching else { return finishStep(now: now) }
        meta[j].awaitingRecommendation = false
        handleFailure(Int32(j), fault: fault, now: now, retriable: fault.isOutcomeUnknown ? true : nil)
        return finishStep(now: now)
    }

    /// Whether the job's finished task was adopted for a lost call and must be confirmed
    /// by the VM's place first; if so the `.confirmPlacement` action is queued.
    func needsConfirmation(_ j: Int, info: TaskInfo) -> Bool {
        if meta[j].call.confirming != nil { return true }  // already being confirmed
        guard meta[j].call.adoptedFor != nil else { return false }
        guard info.state == .success else {
            meta[j].call.adoptedFor = nil
            return false
        }
        meta[j].call.confirming = info
        actions.append(.confirmPlacement(jobs[j].id, vm: jobs[j].vm))
        return true
    }

    /// The search for the task of job `j`'s call made at `intentAt`.
    func lostSearch(_ j: Int32, intentAt: Date) -> TaskSearch {
        TaskSearch(job: jobs[Int(j)], intentAt: intentAt, tolerance: configuration.clockSkewTolerance, excluding: knownTasks)
    }

    /// The search the next call of job `j` makes first, when an earlier call was lost.
    func searchBeforeCall(_ j: Int32) -> TaskSearch? {
        meta[Int(j)].call.lostAt.map { lostSearch(j, intentAt: $0) }
    }
}

/// What `--resume`'s reconciliation learned about the calls of the jobs it hands to
/// `Scheduler.restore`.
public struct RestoredCalls: Sendable {
    /// Pending jobs whose last call was lost in transport, with that call's intent time:
    /// their next call looks for its task first.
    public var lost: [JobID: Date] = [:]
    /// Running jobs whose task was found by search, not by reference, with the intent time
    /// of the call it was taken for: a move's success is confirmed by the VM's place.
    public var adopted: [JobID: Date] = [:]
    /// Every task reference the run ever had (never taken for a lost call's).
    public var knownTasks: Set<MoRef> = []

    /// Nothing learned (a fresh start).
    public init() {}
}
