import Foundation

/// The background thread of a scaled-time simulator: sleeps until the next event is due
/// in real time (or until woken because a new, earlier event may exist), then asks the
/// simulator to apply what is due. Holds the simulator weakly, so dropping the simulator
/// ends the thread.
final class ScaledClockDriver: @unchecked Sendable {
    // `condition` guards `stopped` and `wakeRequested`; that is what makes this class Sendable.
    private let condition = NSCondition()
    private var stopped = false
    private var wakeRequested = false
    /// The longest sleep between checks, real seconds.
    private let maxSleep: TimeInterval = 0.5

    /// Starts the thread for `simulator`.
    func start(_ simulator: SimulatedVCenter) {
        let thread = Thread { [weak simulator, self] in
            self.run { simulator }
        }
        thread.name = "moonmotion.simulator.clock"
        thread.start()
    }

    private func run(_ simulator: () -> SimulatedVCenter?) {
        while true {
            var sleep = maxSleep
            do {
                guard let sim = simulator() else { return }
                sim.applyDueEvents()
                if let wait = sim.realSecondsUntilNextEvent() { sleep = min(max(wait, 0), maxSleep) }
            }
            condition.lock()
            if stopped {
                condition.unlock()
                return
            }
            if !wakeRequested, sleep > 0 {
                _ = condition.wait(until: Date(timeIntervalSinceNow: sleep))
            }
            wakeRequested = false
            condition.unlock()
        }
    }

    /// Makes the thread look again at once (a task was submitted or cancelled).
    func wake() {
        condition.lock()
        wakeRequested = true
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread. Idempotent.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }
}
