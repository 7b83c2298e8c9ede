/// A timer the executor fires once at `deadline` (monotonic seconds) unless cancelled.
public final class LuaTimer: @unchecked Sendable {
    /// Monotonic time in seconds when the timer fires.
    public let deadline: Double
    fileprivate let sequence: UInt64
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

/// A binary min-heap of timers ordered by deadline, then creation order.
struct TimerHeap {
    private var items: [LuaTimer] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: LuaTimer? { items.first }

    private static func less(_ a: LuaTimer, _ b: LuaTimer) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }

    mutating func insert(_ timer: LuaTimer) {
        items.append(timer)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard TimerHeap.less(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() -> LuaTimer? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, TimerHeap.less(items[left], items[smallest]) { smallest = left }
            if right < items.count, TimerHeap.less(items[right], items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    mutating func removeAll() { items.removeAll() }
}
