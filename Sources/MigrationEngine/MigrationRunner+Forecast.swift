import Foundation
import VCenterModel

// The run's forecast (`RunConfiguration.forecast`): every task that ends well is a rate
// sample (`RateBook`); after each step the `ForecastTrigger` says whether a forecast is due;
// a due forecast copies what it needs of the scheduler (`Scheduler.forecastInput`) and is
// computed by `ForecastSimulation` — inline when the runner drives a virtual clock (nothing
// waits on it there, and a test sees it at once), otherwise on a detached task, off the
// runner's executor (the Lua thread under a Lua strategy), its result coming back through
// the inbox. Each result is an `EngineEvent.forecast`: journaled (type `forecast`) and shown.

/// The forecast's state in a runner: the measured rates and the when-to-forecast machine.
struct RunnerForecasting {
    var rates: RateBook
    var trigger: ForecastTrigger
    /// Each running task's latest progress report.
    var progress: [JobID: TaskProgressMark] = [:]
    var task: Task<Void, Never>?
}

extension MigrationRunner {
    /// Takes the rate samples out of a step's events.
    func observeRates(_ events: [EngineEvent]) {
        guard forecasting != nil else { return }
        for event in events {
            if case .taskProgress(let id, _, let percent) = event.kind {
                forecasting!.progress[id] = TaskProgressMark(percent: percent, at: event.time)
                continue
            }
            guard case .jobChanged(let job, let from) = event.kind else { continue }
            if !job.state.isActive { forecasting!.progress.removeValue(forKey: job.id) }
            guard job.state == .done, from == .running, let started = job.startedAt else { continue }
            let seconds = event.time.timeIntervalSince(started)
            var keys: [RateBook.Key] = []
            if job.kind.movesStorage {
                keys = forecasting!.rates.recordStorageMove(job.moves, seconds: seconds, now: event.time)
            } else if job.kind.movesHost, let host = job.sourceHost {
                keys = forecasting!.rates.recordHostMove(from: host, bytes: job.size, seconds: seconds, now: event.time).map { [$0] } ?? []
            } else {
                keys = forecasting!.rates.recordOther(kind: job.kind.name, bytes: job.size, seconds: seconds, now: event.time).map { [$0] } ?? []
            }
            for key in keys {
                if let rate = forecasting!.rates.rate(of: key) { forecasting!.trigger.sampled(key, rate: rate) }
            }
        }
    }

    /// Starts a forecast when one is due.
    func forecastIfDue() {
        guard forecasting != nil, let scheduler, !scheduler.isFinished else { return }
        let at = now
        guard forecasting!.trigger.due(now: at) else { return }
        let running = forecasting!.progress.map { (job: scheduler.job($0.key), mark: $0.value) }
        let rates = forecasting!.rates.withProgress(of: running)
        let input = scheduler.forecastInput(rates: rates, progress: forecasting!.progress, now: at)
        if drivesTime {
            forecastArrived(ForecastSimulation.run(input))
            return
        }
        let inbox = self.inbox
        forecasting!.task = Task.detached(priority: .utility) {
            let forecast = ForecastSimulation.run(input)
            if !Task.isCancelled { inbox.post(.forecast(forecast)) }
        }
    }

    /// A forecast's result (nil: it could not be made).
    func forecastArrived(_ forecast: RunForecast?) {
        guard forecasting != nil else { return }
        forecasting!.trigger.finished()
        forecasting!.task = nil
        guard let forecast, let scheduler, !scheduler.isFinished else { return }
        emitDirect(.forecast(forecast))
    }

    /// Stops a forecast still being computed (the run is over).
    func cancelForecast() {
        forecasting?.task?.cancel()
    }
}
