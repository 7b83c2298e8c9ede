import Dispatch

/// A serial executor on its own dispatch queue: the default home of a
/// `MigrationRunner` when no executor (such as the Lua executor) is injected.
public final class EngineExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: the only state is an immutable DispatchQueue, which is thread-safe.
    private let queue: DispatchQueue

    /// Creates an executor whose jobs run one at a time on a queue called `label`.
    public init(label: String = "moonmotion.engine") {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { unowned.runSynchronously(on: executor) }
    }

    public func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}
