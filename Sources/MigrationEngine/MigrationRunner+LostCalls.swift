import Foundation
import VCenterModel

// A call that fails in transport — a read timeout, a dropped connection, an unreadable
// answer (`VCenterFault.isOutcomeUnknown`) — may have reached vCenter and started its
// task. Failing the job then would release its resources while the task runs (above the
// limits, and an untracked move). The runner treats it like the crash window of
// Journal.swift's analysis (case 3), while the job still holds its resources:
//
//   1. it looks for the call's task among the VM's recent tasks (`TaskSearch`, as
//      `--resume` does) and, found, adopts it: the job runs on with that task. The match
//      is by operation, VM and start time (vCenter's clock may differ from ours by the
//      clock-skew tolerance), so it could be an earlier task of the VM: when an adopted
//      move succeeds, the VM is read once more, and unless it is on the job's target the
//      task is disowned and the job retried as in 2;
//   2. not found (or the lookup failed too), the job is retried with backoff like a
//      retriable fault (`Scheduler.startLost`; the strategy is asked only once the retries
//      are used up). The retry of a move first re-reads the VM (on its target → done
//      without a call), and every later call of the job first looks for the lost call's
//      task again, since vCenter may list it late. The search excludes every task the run
//      knows, so another job's task on the same VM is never taken for it.
//
// A kill -9 meanwhile: the job is journaled pending with the fault as its last error,
// and `--resume` looks for the task again before the next call.
extension MigrationRunner {
    /// A search for the task of `job`'s lost call, made at `intentAt`.
    func lostSearch(_ job: Job, intentAt: Date) -> TaskSearch {
        TaskSearch(job: job, intentAt: intentAt, tolerance: configuration.clockSkewTolerance, excluding: knownTaskRefs)
    }

    /// An adopted task of a move succeeded: read the VM (one call) to confirm it is on the
    /// job's target before the job is recorded done (`.adoptedChecked`).
    func checkAdopted(_ id: JobID, _ info: TaskInfo, lostAt: Date, _ scheduler: Scheduler) async {
        let job = scheduler.job(id)
        calls += 1
        outstanding += 1
        let inbox = self.inbox
        let vcenter = self.vcenter
        let work: @Sendable () async -> Void = {
            let fresh = try? await vcenter.refreshVMs([job.vm]).first
            let onTarget = fresh.map { Scheduler.isOnTarget(job.kind, vm: $0) } ?? false
            inbox.post(.adoptedChecked(id, info, fresh, onTarget: onTarget, lostAt: lostAt))
        }
        if virtual != nil { await work() } else { Task { await work() } }
    }

    /// The job's call failed with `fault` after vCenter may have received it: look for its
    /// task (step 1 above); the answer comes back as `.started` or `.lostCallHasNoTask`.
    func lookForLostTask(_ id: JobID, _ fault: VCenterFault, _ scheduler: Scheduler) async {
        guard scheduler.state(of: id) == .dispatching else { return }
        // The earliest lost call counts: a later one's intent would hide its task.
        if lostCalls[id] == nil { lostCalls[id] = intentTimes[id] ?? now }
        let job = scheduler.job(id)
        let search = lostSearch(job, intentAt: lostCalls[id] ?? now)
        emitDirect(.warning("the call for \(job.vmName) (\(job.kind.name)) failed after vCenter may have received it (\(fault)); looking for its task among the VM's recent tasks", job: id))
        calls += 1
        outstanding += 1
        let inbox = self.inbox
        let vcenter = self.vcenter
        let work: @Sendable () async -> Void = {
            do {
                if let found = try await search.run(on: vcenter) {
                    inbox.post(.adoptedLost(id, try await vcenter.task(found)))
                    return
                }
            } catch {
                // vCenter cannot be asked now: retry later, looking again first.
            }
            inbox.post(.lostCallHasNoTask(id, fault))
        }
        if virtual != nil { await work() } else { Task { await work() } }
    }
}
