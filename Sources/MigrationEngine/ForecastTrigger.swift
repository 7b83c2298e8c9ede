import Foundation

/// When the run re-forecasts its end (`ForecastSimulation`): a synchronous state machine on
/// injected time, like the `Scheduler`. Inputs: each measured rate after a sample
/// (`sampled`), `now`; output: whether a forecast is due (`due(now:)`, which also records
/// that one starts), then `finished` when its result is in.
///
/// Rules (run time, the `now` the scheduler sees):
/// * nothing before the first sample: until a task has ended there is nothing measured,
///   and the forecast would only repeat the plan (the rate-based ETA is shown meanwhile);
/// * never two forecasts less than `minimumInterval` (60 s) apart, and never while one is
///   still being computed (a heavy one runs off the runner's hot path);
/// * a rate that moved by more than `shiftThreshold` (25 %) from its value at the last
///   forecast — or a rate measured for the first time — makes the next forecast due as soon as
///   the minimum interval allows;
/// * otherwise one every `refreshInterval` (10 min): jobs retried, skipped or added change
///   the work left even when no rate moves.
public struct ForecastTrigger: Sendable, Hashable {
    /// Shortest time between two forecasts.
    public var minimumInterval: TimeInterval
    /// Time after which a forecast is made again without a rate shift.
    public var refreshInterval: TimeInterval
    /// Relative change of a rate that counts as a shift (0.25: ±25 %).
    public var shiftThreshold: Double

    /// When the last forecast started.
    public private(set) var lastStart: Date?
    /// Whether a forecast is being computed.
    public private(set) var computing = false
    /// Whether a rate shifted since the last forecast started.
    public private(set) var shifted = false
    /// Whether any rate was measured.
    public private(set) var measured = false
    /// Each rate as the last forecast saw it.
    private var baseline: [RateBook.Key: Double] = [:]
    /// Rates sampled since the last forecast started.
    private var latest: [RateBook.Key: Double] = [:]

    /// A machine with the given thresholds.
    public init(minimumInterval: TimeInterval = 60, refreshInterval: TimeInterval = 600, shiftThreshold: Double = 0.25) {
        self.minimumInterval = minimumInterval
        self.refreshInterval = max(minimumInterval, refreshInterval)
        self.shiftThreshold = shiftThreshold
    }

    /// A sample changed the rate of `key` to `rate`.
    public mutating func sampled(_ key: RateBook.Key, rate: Double) {
        measured = true
        latest[key] = rate
        guard !shifted else { return }
        if let before = baseline[key] {
            if before > 0, abs(rate - before) / before > shiftThreshold { shifted = true }
        } else {
            shifted = true
        }
    }

    /// Whether a forecast is due at `now`; when it is, the machine records that it starts.
    public mutating func due(now: Date) -> Bool {
        guard measured, !computing else { return false }
        if let last = lastStart {
            let since = now.timeIntervalSince(last)
            guard since >= minimumInterval, shifted || since >= refreshInterval else { return false }
        }
        lastStart = now
        computing = true
        shifted = false
        baseline.merge(latest) { _, new in new }
        latest.removeAll()
        return true
    }

    /// The forecast started last has its result (or was dropped).
    public mutating func finished() {
        computing = false
    }

    /// When the next forecast could be due without a new sample (the refresh), if one has run.
    public var nextRefresh: Date? {
        lastStart.map { $0.addingTimeInterval(shifted ? minimumInterval : refreshInterval) }
    }
}
