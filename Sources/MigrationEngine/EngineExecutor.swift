import Dispatch

/// A serial executor on its own dispatch queue: the default home of a
/// `MigrationRunner` when no executor (such as the Lua executor) is injected.
///
/// It is also a `TaskExecutor`: the runner prefers it for the nonisolated async calls it
/// makes (the backend's methods), so under virtual time those calls run on the same
/// queue instead of hopping to the global pool and back for every call.
public final class EngineExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // @unchecked: the only state is an immutable DispatchQueue, which is thread-safe.
    private let queue: DispatchQueue

    /// Creates an executor whose jobs run one at a time on a queue called `label`.
    public init(label: String = "moonmotion.engine") {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let serial = asUnownedSerialExecutor()
        let task = asUnownedTaskExecutor()
        queue.async { unowned.runSynchronously(isolatedTo: serial, taskExecutor: task) }
    }

    public func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}
