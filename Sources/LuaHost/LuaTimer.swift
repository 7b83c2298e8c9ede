/// A timer the executor fires once at `deadline` (monotonic seconds) unless cancelled.
public final class LuaTimer: @unchecked Sendable {
    /// When the timer fires, in seconds on its executor's clock (`LuaExecutor.clockNow`).
    public let deadline: Double
    /// Creation order, the tie-break between timers with the same deadline.
    let sequence: UInt64
    // Guarded by the executor's lock.
    fileprivate var action: (() -> Void)?
    private unowned let executor: LuaExecutor

    init(deadline: Double, sequence: UInt64, executor: LuaExecutor, action: @escaping () -> Void) {
        self.deadline = deadline
        self.sequence = sequence
        self.executor = executor
        self.action = action
    }

    /// Cancels the timer (the action is dropped). Safe from any thread, idempotent.
    public func cancel() {
        executor.cancel(self)
    }

    /// Takes the action (executor lock held); nil once fired or cancelled.
    func takeAction() -> (() -> Void)? {
        defer { action = nil }
        return action
    }
}

/// A pending timer as an element of the executor's `Heap`: ordered by deadline, then by
/// creation order, so timers due at the same instant fire in the order they were scheduled.
struct ScheduledTimer: Comparable {
    let timer: LuaTimer

    static func < (a: ScheduledTimer, b: ScheduledTimer) -> Bool {
        a.timer.deadline < b.timer.deadline
            || (a.timer.deadline == b.timer.deadline && a.timer.sequence < b.timer.sequence)
    }
    static func == (a: ScheduledTimer, b: ScheduledTimer) -> Bool { a.timer === b.timer }
}
