import Foundation
import VCenterModel

/// What the scheduler asks its driver to do. The driver performs each action and feeds
/// the outcome back as the input named here; it decides nothing itself.
public enum SchedulerAction: Sendable, Hashable {
    /// Start one attempt of a job: journal the intent, then
    /// 1. when `verifyFirst` is set (a retry of a move), refresh the VM and report
    ///    `alreadyDone` instead if it is on its target;
    /// 2. when `lookFirst` is set (an earlier call of the job was lost in transport), run
    ///    that search among the VM's recent tasks and report `lostTaskFound` for a match
    ///    (`lostTaskNotFound` when the search itself fails);
    /// 3. otherwise call vCenter and report `taskStarted` or `startFailed`.
    case start(JobID, EngineOperation, verifyFirst: Bool, lookFirst: TaskSearch?)
    /// The job's call failed after vCenter may have received it: run the search and report
    /// `lostTaskFound` or `lostTaskNotFound` (also when the search fails).
    case findLostTask(JobID, TaskSearch)
    /// A task adopted for a lost call succeeded: read the VM once and report
    /// `placementChecked` (nil when it cannot be read).
    case confirmPlacement(JobID, vm: MoRef)
    /// Ask the datastore cluster's Storage DRS where the job's VM should go
    /// (`VCenter.recommendDatastores`), then report `recommendations` or
    /// `recommendationFailed`. Nothing changes in vCenter yet: no intent is journaled for it.
    case recommend(JobID, vm: MoRef, pod: MoRef, spec: RelocateSpec)
    /// Call `timerFired` at this time (replaces any earlier wake request).
    case wake(at: Date)
    /// The run is over.
    case finished(RunOutcome)
}
