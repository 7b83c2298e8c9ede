import Foundation
import VCenterModel

/// The strategy of a rollback run (`moonmotion rollback`): its jobs are the `RollbackPlan` of
/// the journaled run, made from the inventory the runner reads at start — so the checks
/// ("moved again since", an origin that is gone) are against vCenter as the run finds it, not
/// as it was when the listing was printed. Every other hook is the engine's default: the
/// rollback runs under the same limits, retries and ordering as any run.
public struct RollbackStrategy: Strategy, Sendable {
    /// The journaled run's jobs.
    public let jobs: [Job]

    /// A rollback of the run whose jobs are `jobs`.
    public init(jobs: [Job]) {
        self.jobs = jobs
    }

    public func select(_ inventory: Inventory) throws -> [JobRequest] {
        RollbackPlan.make(jobs: jobs, inventory: inventory).requests
    }
}
