import Locking

/// A vCenter task whose `info` is always current: the backend's poller applies
/// every update to it, and any number of waiters and observers see the change.
///
/// One `LiveTask` exists per task reference per connection (see `TaskBook`), so
/// several coroutines waiting on the same task share it. Thread-safe.
public final class LiveTask: Sendable {
    /// The task's reference.
    public let ref: MoRef

    private struct State {
        var info: TaskInfo
        var waiters: [UInt64: CheckedContinuation<TaskInfo, any Error>] = [:]
        var observers: [UInt64: @Sendable (TaskInfo) -> Void] = [:]
        var nextID: UInt64 = 0
        /// Set when nothing watches the task any more (its connection closed) before it ended.
        var abandoned: VCenterFault?
    }
    private let state: Locked<State>

    /// Creates a live task from its first known `info`.
    public init(_ info: TaskInfo) {
        self.ref = info.ref
        self.state = Locked(State(info: info))
    }

    /// The latest `info` the poller applied.
    public var info: TaskInfo { state.withLock { $0.info } }

    /// Whether the task has ended.
    public var isDone: Bool { info.state.isTerminal }

    /// Why this task can no longer be followed, when its connection stopped watching it
    /// before it ended (`ConnectionClosed`); nil while it is watched or once it ended.
    /// The task itself may still be running in vCenter.
    public var abandonment: VCenterFault? { state.withLock { $0.abandoned } }

    /// Ends every wait on a task that will no longer be followed (its connection closed):
    /// `completion()` throws `fault`, now and later, and every observer is called once more
    /// with the last `info` (observers tell it from an end by `abandonment`). Does nothing
    /// when the task already ended or was already abandoned.
    public func abandon(_ fault: VCenterFault) {
        let (observers, waiters, info): ([@Sendable (TaskInfo) -> Void], [CheckedContinuation<TaskInfo, any Error>], TaskInfo?) =
            state.withLock { s in
                if s.info.state.isTerminal || s.abandoned != nil { return ([], [], nil) }
                s.abandoned = fault
                defer { s.waiters.removeAll() }
                return (Array(s.observers.values), Array(s.waiters.values), s.info)
            }
        guard let info else { return }
        for observer in observers { observer(info) }
        for waiter in waiters { waiter.resume(throwing: fault) }
    }

    /// Applies a newer `info`. Observers run after the change, outside the lock;
    /// on a terminal state every waiter resumes. Updates after the task ended are ignored,
    /// so a late or replayed update cannot bring a finished task back to life.
    public func apply(_ newInfo: TaskInfo) {
        let (observers, waiters, changed): ([@Sendable (TaskInfo) -> Void], [CheckedContinuation<TaskInfo, any Error>], Bool) =
            state.withLock { s in
                if s.info.state.isTerminal { return ([], [], false) }
                if s.info == newInfo { return ([], [], false) }
                s.info = newInfo
                var resumed: [CheckedContinuation<TaskInfo, any Error>] = []
                if newInfo.state.isTerminal {
                    resumed = Array(s.waiters.values)
                    s.waiters.removeAll()
                }
                return (Array(s.observers.values), resumed, true)
            }
        guard changed else { return }
        for observer in observers { observer(newInfo) }
        for waiter in waiters { waiter.resume(returning: newInfo) }
    }

    /// Updates `info` in place through `body` (for partial property changes) and applies the result.
    public func update(_ body: (inout TaskInfo) -> Void) {
        var copy = info
        body(&copy)
        apply(copy)
    }

    /// Waits until the task ends and returns its final `info`. Throws `CancellationError`
    /// when the waiting Swift task is cancelled, and the `abandonment` fault when the
    /// connection stops watching the task first; the vCenter task itself goes on.
    public func completion() async throws -> TaskInfo {
        let id = state.withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<TaskInfo, any Error>) in
                enum Outcome { case finished(TaskInfo), abandoned(VCenterFault), cancelled, registered }
                let outcome: Outcome = state.withLock { s in
                    if s.info.state.isTerminal { return .finished(s.info) }
                    if let fault = s.abandoned { return .abandoned(fault) }
                    if Task.isCancelled { return .cancelled }
                    s.waiters[id] = continuation
                    return .registered
                }
                switch outcome {
                case .finished(let info): continuation.resume(returning: info)
                case .abandoned(let fault): continuation.resume(throwing: fault)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .registered: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Calls `observer` with every change of `info` from now on (on the poller's thread:
    /// hop to your own executor inside). Keep the returned token; `cancel` it to stop.
    @discardableResult
    public func observe(_ observer: @escaping @Sendable (TaskInfo) -> Void) -> Observation {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            s.observers[s.nextID] = observer
            return s.nextID
        }
        return Observation { [weak self] in
            _ = self?.state.withLock { $0.observers.removeValue(forKey: id) }
        }
    }

    /// A registration made by `observe`; `cancel()` removes it.
    public final class Observation: Sendable {
        private let onCancel: Locked<(@Sendable () -> Void)?>
        init(_ onCancel: @escaping @Sendable () -> Void) { self.onCancel = Locked(onCancel) }
        /// Stops the observation. Idempotent.
        public func cancel() {
            let action = onCancel.withLock { value -> (@Sendable () -> Void)? in
                defer { value = nil }
                return value
            }
            action?()
        }
    }
}
