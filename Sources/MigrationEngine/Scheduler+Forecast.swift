import Foundation
import VCenterModel

extension Scheduler {
    /// What a forecast needs of the live run, copied (values only) so that the forecast can
    /// run on another thread while this scheduler goes on: the inventory with the locations
    /// moves have reached, every job with its rank, each cluster's limits as applied, the
    /// retry policy and the wave scope. Taken on the runner's executor; asks the strategy
    /// nothing.
    public func forecastInput(rates: RateBook, progress: [JobID: TaskProgressMark] = [:], now: Date) -> ForecastInput {
        var clusterLimits: [MoRef: Limits] = [:]
        for slot in clusterSlots { clusterLimits[slot.ref] = slot.limits }
        var configuration = self.configuration
        // The cap the live run applies, whichever of `--max-concurrent`, the strategy or the
        // configuration set it (as a limit, not an override: an override is checked against
        // the range a user may ask for, and a configuration may set more).
        configuration.limits.vcenterMaxJobs = baseLimits.vcenterMaxJobs
        configuration.vcenterMaxJobsOverride = nil
        // The forecast predicts the whole run, across windows.
        configuration.stopAtWindowEnd = false
        return ForecastInput(inventory: inventory, jobs: jobs, ranks: meta.map(\.rank), configuration: configuration,
                             clusterLimits: clusterLimits, retry: retry, waveScope: strategy.waveScope,
                             vmotionWhenBlocked: jobs.contains { $0.parent != nil }, rates: rates,
                             progress: progress, now: now)
    }
}
