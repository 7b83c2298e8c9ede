import NIOConcurrencyHelpers

/// A value guarded by a lock that ThreadSanitizer can see.
///
/// The project used `Synchronization.Mutex`. On Linux that Mutex takes its lock with
/// `FUTEX_LOCK_PI` when contended: the kernel, not instrumented code, sets the owner, so
/// ThreadSanitizer never learns the happens-before edge and reports every contended access
/// as a race (`scripts/sanitizers/run.sh thread` halted on one inside
/// `SimulatedVCenter.runEvents`, BENCHMARKS.md). `NIOLock` is a `pthread_mutex_t`, which
/// ThreadSanitizer intercepts, so a report from a `Locked` value is a real one. The cost of an
/// uncontended lock is the same order (tens of nanoseconds).
///
/// `Locked` is a class: store it in a `let` and share it; `withLock` gives the body exclusive
/// `inout` access for its duration.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only read or written inside `lock.withLock`.
    private let lock = NIOLock()
    private var value: Value

    /// Creates the lock holding `initialValue`.
    public init(_ initialValue: Value) {
        self.value = initialValue
    }

    /// Runs `body` with exclusive access to the value and returns its result.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&value) }
    }
}
