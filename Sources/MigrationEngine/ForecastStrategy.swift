import Foundation
import VCenterModel

/// The strategy a forecast's scheduler runs with: the live strategy's answers as far as they
/// are known, and no Lua — a strategy's hooks may keep state, and Lua runs on one executor
/// the forecast must not occupy.
///
/// * limits: each cluster's limits as the live scheduler applied them (pacing by throughput
///   excepted: a paced cluster is forecast without its pacer, at vSphere's limits);
/// * order: the live ranks (handed to `restore`, so `order` is never asked);
/// * waves: the wave each job was given; the live wave scope;
/// * targets: a dispatched job keeps the placement it got (`restore` holds it); a job not yet
///   dispatched goes where it went on an earlier attempt, else to the candidate with the most
///   free space (the default `target`) — the live strategy's answer cannot be known without
///   calling it;
/// * blocked: a pro-active vMotion once the live strategy has asked for one (it is asked again
///   for each job and the answer is its own; one seen is the best guess), else wait;
/// * failures: skip (the forecast never fails a task).
struct ForecastStrategy: Strategy {
    var clusterLimits: [MoRef: Limits]
    var retry: RetryPolicy
    var waveScope: WaveScope
    var vmotionWhenBlocked: Bool

    func limits(_ cluster: ClusterInfo) throws -> LimitOverrides {
        guard let l = clusterLimits[cluster.ref] else { return .none }
        return LimitOverrides(hostMaxCost: l.hostMaxCost, datastoreMaxCost: l.datastoreMaxCost,
                              networkMaxCost: l.networkMaxCost1GbE == l.networkMaxCost10GbE ? l.networkMaxCost1GbE : nil,
                              maxConcurrent: l.clusterMaxJobs, storageMovesPerHost: l.storageMovesPerHost,
                              storageMovesPerDatastore: l.storageMovesPerDatastore, minFree: l.minFree)
    }

    func retryPolicy(_ base: RetryPolicy) throws -> RetryPolicy { retry }

    func target(_ job: Job, candidates: [DatastoreInfo]) throws -> MoRef? {
        if let earlier = job.target, candidates.contains(where: { $0.ref == earlier }) { return earlier }
        return DefaultOrder.mostFreeSpace(candidates)
    }

    func wave(_ job: Job) throws -> Int? { job.wave }

    func onBlocked(_ job: Job, _ info: BlockedInfo) throws -> BlockedDecision { vmotionWhenBlocked ? .vmotion : .wait }

    func onFailure(_ job: Job, _ failure: JobFailure) throws -> FailureDecision? { .skip }
}
