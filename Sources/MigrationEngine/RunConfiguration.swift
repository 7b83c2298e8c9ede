import Foundation

/// How a `MigrationRunner` runs: the scheduler's configuration plus what the journal
/// records about the run and how a resume reconciles with vCenter.
public struct RunConfiguration: Sendable {
    /// Limits, costs, retries, priority.
    public var scheduler = SchedulerConfiguration()
    /// The strategy's name, for the journal and displays (a script path, for example).
    public var strategyName = "strategy"
    /// The strategy's parameters (`name=value` on the command line), journaled with the run.
    public var parameters: [String: String] = [:]
    /// Continue the journal's unfinished run (a journal with no run starts a new one).
    public var resume = false
    /// The clock for a real backend (a virtual backend's own `now` is used otherwise).
    public var clock: @Sendable () -> Date = { Date() }
    /// Seconds of `clock` per real second (1: a real vCenter). More for a test vCenter whose
    /// clock runs scaled (`MOONMOTION_CLOCK_SPEED`): timers wait (T − now) ÷ speed real seconds.
    public var clockSpeed: Double = 1
    /// When looking for a task started just before a crash or by a lost call, accept tasks
    /// whose start time is up to this much before the intent (`scheduler.clockSkewTolerance`).
    public var clockSkewTolerance: TimeInterval {
        get { scheduler.clockSkewTolerance }
        set { scheduler.clockSkewTolerance = newValue }
    }
    /// Read the vCenter's queued and running tasks at start and count them against the limits.
    public var countExistingTasks = true
    /// On a backend that runs on virtual time (the simulator): the run ends `.timeLimit` when
    /// simulated time passes this many seconds from its start. Nil: no limit.
    public var simulatedTimeLimit: TimeInterval?

    /// The defaults.
    /// When to forecast the run's end from the rates it measures (`ForecastTrigger`,
    /// MigrationRunner+Forecast); nil: no forecast (`plan`, tests that do not ask for one).
    public var forecast: ForecastTrigger?
    /// The half-life of the forecast's rate samples (`RateBook`), seconds of run time.
    public var forecastHalfLife: TimeInterval = 1800

    public init() {}
}
