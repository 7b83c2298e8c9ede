import Foundation
import MigrationEngine
import Locking
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C during a strategy run: the first stops dispatching and lets running tasks
/// finish, the second leaves them running in vCenter and ends the run (the journal records
/// it), a third — or a run that does not end within 10 s of the second — exits at once.
final class StrategyRunInterrupts: Sendable {
    private let runner: MigrationRunner
    private let display: ProgressDisplay
    private let journaled: Bool
    private let signals = Locked(0)

    init(runner: MigrationRunner, display: ProgressDisplay, journaled: Bool) {
        self.runner = runner
        self.display = display
        self.journaled = journaled
    }

    /// Ctrl-C presses so far.
    var count: Int { signals.withLock { $0 } }

    /// Handles the `count`-th Ctrl-C (on the signal watcher thread).
    func signal(_ count: Int) {
        signals.withLock { $0 = count }
        let running = display.tracker.snapshot().overall.running
        switch count {
        case 1:
            display.note("moonmotion: Ctrl-C: starting no new tasks; waiting for the \(running) running to finish "
                + "(Ctrl-C again leaves them running in vCenter and exits)")
            runner.requestStop(graceful: true)
        case 2:
            let where_ = journaled ? "the journal records them; continue with --resume" : "without a journal, --resume cannot re-attach them"
            display.note("moonmotion: Ctrl-C again: leaving \(running) task(s) running in vCenter (\(where_))")
            runner.requestStop(graceful: false)
            Thread.detachNewThread {
                sleep(10)
                writeStandardError("moonmotion: the run did not end within 10 s of the second Ctrl-C; exiting\n")
                _exit(StrategyRun.interruptedStatus)
            }
        default:
            writeStandardError("moonmotion: interrupted again; exiting\n")
            _exit(StrategyRun.interruptedStatus)
        }
    }
}
