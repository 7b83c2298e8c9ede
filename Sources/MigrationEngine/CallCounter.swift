import Synchronization

/// Counts the vCenter calls a runner makes, from whichever thread makes them.
final class CallCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// One more call (or `n`).
    func add(_ n: Int = 1) { value.add(n, ordering: .relaxed) }

    /// The calls so far.
    var count: Int { value.load(ordering: .relaxed) }
}
