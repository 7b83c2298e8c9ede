import Locking

/// Native work a coroutine is parked on. Started on the executor by `LuaCall.suspend`,
/// completed once from any thread through its `LuaCompletion`, or cancelled (run failed,
/// interrupted) — then its cancel handler runs on the executor.
final class LuaPendingOperation: @unchecked Sendable {
    private enum State { case pending, completed, cancelled }
    private let state = Locked(State.pending)
    private let executor: LuaExecutor
    private let scheduler: LuaScheduler
    /// The parked coroutine (executor-confined).
    let coroutine: LuaCoroutine
    /// Runs if the operation is cancelled (executor-confined).
    var onCancel: (() -> Void)?

    init(executor: LuaExecutor, scheduler: LuaScheduler, coroutine: LuaCoroutine) {
        self.executor = executor
        self.scheduler = scheduler
        self.coroutine = coroutine
    }

    var isCancelled: Bool { state.withLock { $0 == .cancelled } }
    var isPending: Bool { state.withLock { $0 == .pending } }

    /// Completes the operation (first call wins); the coroutine resumes on the executor.
    func complete(_ resumption: LuaResumption) {
        let won = state.withLock { s -> Bool in
            guard s == .pending else { return false }
            s = .completed
            return true
        }
        guard won else { return }
        if executor.isCurrent {
            scheduler.deliver(self, resumption)
        } else {
            let payload = UncheckedBox(resumption)
            executor.executeConfined { [scheduler] in
                scheduler.deliver(self, payload.value)
            }
        }
    }

    /// Cancels the operation if still pending and runs its cancel handler. Executor only.
    func cancel() {
        let won = state.withLock { s -> Bool in
            guard s == .pending else { return false }
            s = .cancelled
            return true
        }
        let handler = onCancel
        onCancel = nil
        if won { handler?() }
    }
}

/// Resumes a coroutine parked by `LuaCall.suspend`. Thread-safe; only the first resume
/// counts (later ones, and resumes after cancellation, are ignored).
public struct LuaCompletion: Sendable {
    let operation: LuaPendingOperation

    /// Resumes with no results.
    public func resume() { operation.complete(.continueEmpty) }

    /// Resumes with plain results.
    public func resume(returning values: [LuaValue]) { operation.complete(.values(values)) }

    /// Resumes by raising `error` in the coroutine: a `LuaError`/`LuaRaise` message as is,
    /// anything else prefixed with the location of the Lua caller that waited.
    public func resume(throwing error: any Error) { operation.complete(.error(error)) }

    /// Resumes with results pushed by `body` on the executor (for userdata or references).
    /// `body` receives a `LuaCall` on the coroutine's thread; if it throws, the error is
    /// raised in the coroutine.
    public func resume(pushing body: @escaping @Sendable (LuaCall) throws -> LuaReturn) {
        operation.complete(.pushing(body))
    }

    /// `true` once the operation was cancelled (the coroutine will not resume).
    public var isCancelled: Bool { operation.isCancelled }
}

/// Carries a non-Sendable value to the executor, where it is used exclusively.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
