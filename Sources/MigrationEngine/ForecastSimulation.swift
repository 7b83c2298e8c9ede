import Foundation
import HeapModule
import VCenterModel

/// What a forecast starts from (`Scheduler.forecastInput`): values only, so it can be
/// computed on another thread.
public struct ForecastInput: Sendable {
    /// The inventory with the locations moves have reached so far.
    public var inventory: Inventory
    /// Every job of the run as it is now (ids dense, in order).
    public var jobs: [Job]
    /// Each job's rank in the strategy's order.
    public var ranks: [Int]
    /// The live scheduler's configuration (its vCenter cap made explicit).
    public var configuration: SchedulerConfiguration
    /// Each cluster's limits as the live scheduler applied them.
    public var clusterLimits: [MoRef: Limits]
    /// The retry policy in force.
    public var retry: RetryPolicy
    /// The strategy's wave scope.
    public var waveScope: WaveScope
    /// Whether the live strategy has answered a blocked job with a pro-active vMotion (the
    /// forecast answers the same for every blocked job then, else waits).
    public var vmotionWhenBlocked: Bool
    /// The rates measured so far.
    public var rates: RateBook
    /// The latest progress each running task reported, and when.
    public var progress: [JobID: TaskProgressMark]
    /// The run time the forecast is made at.
    public var now: Date
}

/// The run's end re-predicted from what it has measured: the jobs still to run are handed to
/// a fresh `Scheduler` exactly as `--resume` hands a journal's jobs (`restore`: ranks kept,
/// running jobs holding their resources, pending ones waiting their turn), with a strategy
/// that answers without Lua (`ForecastStrategy`), and driven on virtual time: each task the
/// scheduler starts ends after the duration the `RateBook` predicts for it (its bytes at the
/// measured rate of each of its source → destination pairs, plus the setup time), each
/// running task after what is left of it (`timeLeft`). Nothing fails in a
/// forecast. The last end overall and per cluster is the forecast (`RunForecast`).
///
/// Costs what the scheduler costs for the remaining jobs (`scripts/bench/forecast`), so the
/// runner computes it off its executor on a real clock (MigrationRunner+Forecast).
public enum ForecastSimulation {
    /// Simulated time after which a forecast gives up (a strategy holding jobs forever).
    public static let horizon: TimeInterval = 400 * 86_400

    /// The forecast for `input`; nil when the scheduler cannot be rebuilt.
    public static func run(_ input: ForecastInput) -> RunForecast? {
        let strategy = ForecastStrategy(clusterLimits: input.clusterLimits, retry: input.retry, waveScope: input.waveScope,
                                        vmotionWhenBlocked: input.vmotionWhenBlocked)
        guard let scheduler = try? Scheduler(inventory: input.inventory, strategy: strategy, configuration: input.configuration) else {
            return nil
        }
        scheduler.recordsEvents = false
        let now = input.now
        let rates = input.rates
        var remaining = 0
        var ends = Heap<ForecastEnd>()
        var clusters: [MoRef: Date] = [:]
        var last = now

        // A job never ranked (skipped when created: `cannotMove`) has rank Int.max; restore
        // counts ranks on from the highest.
        let ranks = input.ranks.map { min($0, Int.max / 4) }
        var queue = scheduler.restore(input.jobs, ranks: ranks, now: now)
        for job in input.jobs where !job.state.isTerminal {
            remaining += 1
            guard job.state == .running else { continue }
            let left = timeLeft(job, mark: input.progress[job.id], rates: rates, now: now)
            ends.insert(ForecastEnd(at: now.addingTimeInterval(left), job: Int32(job.id.rawValue)))
        }
        var wake: Date?
        var clock = now
        var finished = false
        while true {
            // Perform every action at the current instant (a start may dispatch more).
            var k = 0
            while k < queue.count {
                switch queue[k] {
                case .start(let id, _, _, _):
                    let more = scheduler.taskStarted(id, task: MoRef("Task", "forecast-\(id.rawValue)"), now: clock)
                    let job = scheduler.job(id)
                    ends.insert(ForecastEnd(at: clock.addingTimeInterval(max(1, rates.duration(of: job))), job: Int32(id.rawValue)))
                    queue.append(contentsOf: more)
                case .findLostTask(let id, _):
                    queue.append(contentsOf: scheduler.lostTaskNotFound(id, now: clock))
                case .confirmPlacement(let id, _):
                    queue.append(contentsOf: scheduler.placementChecked(id, vm: nil, now: clock))
                case .recommend(let id, _, _, _):
                    // Storage DRS answers only in vCenter: the forecast leaves such a job out.
                    queue.append(contentsOf: scheduler.recommendationFailed(
                        id, fault: VCenterFault(.notSupported, "Storage DRS is not simulated by the forecast"), now: clock))
                case .wake(let at):
                    wake = at
                case .finished:
                    finished = true
                }
                k += 1
            }
            queue.removeAll(keepingCapacity: true)
            if finished { break }
            guard let next = [ends.min?.at, wake].compactMap({ $0 }).min(), next.timeIntervalSince(now) < horizon else { break }
            clock = max(clock, next)
            while let top = ends.min, top.at <= clock {
                ends.removeMin()
                let id = JobID(Int(top.job))
                let job = scheduler.job(id)
                let info = TaskInfo(ref: job.taskRef ?? MoRef("Task", "forecast-\(top.job)"), name: "forecast", entity: job.vm, state: .success)
                queue.append(contentsOf: scheduler.taskFinished(id, info: info, now: clock))
                last = max(last, clock)
                if let c = job.cluster { clusters[c] = max(clusters[c] ?? clock, clock) }
            }
            if let w = wake, w <= clock {
                wake = nil
                queue.append(contentsOf: scheduler.timerFired(now: clock))
            }
        }
        let complete = scheduler.jobs.allSatisfy { $0.state.isTerminal }
        return RunForecast(madeAt: now, end: last, clusters: clusters, jobs: remaining, complete: complete)
    }

    /// What is left of a running job at `now`: once it has reported 10 %, its own pace
    /// (the time to its last report ÷ the share done then, less the time since), else its
    /// predicted duration less the time it has run; at least a second.
    static func timeLeft(_ job: Job, mark: TaskProgressMark?, rates: RateBook, now: Date) -> TimeInterval {
        let started = job.startedAt ?? now
        if let mark, mark.percent >= 10, mark.percent < 100, mark.at > started {
            let toMark = mark.at.timeIntervalSince(started)
            let left = toMark * Double(100 - mark.percent) / Double(mark.percent) - now.timeIntervalSince(mark.at)
            return max(1, left)
        }
        return max(1, rates.duration(of: job) - max(0, now.timeIntervalSince(started)))
    }
}

/// A running task's latest reported progress and when it came (the runner keeps them from
/// the `taskProgress` events: the percent alone says nothing of how old it is).
public struct TaskProgressMark: Sendable, Hashable {
    /// Percent done.
    public var percent: Int
    /// When it was reported.
    public var at: Date

    /// A mark.
    public init(percent: Int, at: Date) {
        self.percent = percent
        self.at = at
    }
}

/// A task's end in the forecast's virtual time.
struct ForecastEnd: Comparable {
    var at: Date
    var job: Int32
    static func < (a: ForecastEnd, b: ForecastEnd) -> Bool { a.at != b.at ? a.at < b.at : a.job < b.job }
}
