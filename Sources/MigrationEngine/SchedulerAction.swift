import Foundation
import VCenterModel

/// What the scheduler asks its driver to do.
public enum SchedulerAction: Sendable, Hashable {
    /// Start one attempt of a job: journal the intent, call vCenter, then report
    /// `taskStarted` or `startFailed`. When `verifyFirst` is set (a retry of a move),
    /// first refresh the VM and report `alreadyDone` instead if it is on its target.
    case start(JobID, EngineOperation, verifyFirst: Bool)
    /// Ask the datastore cluster's Storage DRS where the job's VM should go
    /// (`VCenter.recommendDatastores`), then report `recommendations` or `startFailed`.
    /// Nothing changes in vCenter yet: no intent is journaled for it.
    case recommend(JobID, vm: MoRef, pod: MoRef, spec: RelocateSpec)
    /// Call `timerFired` at this time (replaces any earlier wake request).
    case wake(at: Date)
    /// The run is over.
    case finished(RunOutcome)
}
