import CLuaShim

/// A coroutine run by the scheduler: the main chunk, a REPL line, or one `mm.spawn`ed.
/// Executor-confined.
final class LuaCoroutine {
    enum Status: Equatable {
        /// Created, not started: the function and `argumentCount` arguments are on its stack.
        case created(argumentCount: Int32)
        /// In the ready queue.
        case ready
        /// Being resumed right now.
        case running
        /// Waiting for native work in a Swift function's continuation.
        case parked
        /// Finished (returned or failed).
        case finished
    }

    /// How the coroutine ended.
    enum Outcome {
        case returned([LuaRef])
        case failed(LuaError)
    }

    let thread: OpaquePointer
    /// Registry slot anchoring the thread object while the scheduler runs it.
    @exclusivity(unchecked) var anchor: Int32
    @exclusivity(unchecked) var status: Status
    /// The native operation it is parked on.
    @exclusivity(unchecked) var operation: LuaPendingOperation?
    /// Whether its results are kept for `join` (spawned coroutines with a live handle).
    var keepsResults: Bool
    var outcome: Outcome?
    /// Coroutines parked in `join` on this one.
    var joiners: [LuaPendingOperation] = []
    /// Called once when it finishes (main chunk / REPL line).
    var onFinish: ((Outcome) -> Void)?
    /// A spawned coroutine (its uncaught error is reported as a background error in
    /// interactive sessions).
    let isSpawned: Bool
    let id: Int

    init(thread: OpaquePointer, anchor: Int32, argumentCount: Int32, isSpawned: Bool, keepsResults: Bool, id: Int) {
        self.thread = thread
        self.anchor = anchor
        self.status = .created(argumentCount: argumentCount)
        self.isSpawned = isSpawned
        self.keepsResults = keepsResults
        self.id = id
    }

    var isFinished: Bool { status == .finished }
}

/// How a ready coroutine is resumed.
enum LuaResumption {
    /// First resume: the function's arguments are already on its stack.
    case start(argumentCount: Int32)
    /// Parked in a Swift function's continuation (e.g. `mm.yield`): resume with no results.
    case continueEmpty
    /// Parked in a continuation: resume with these results.
    case values([LuaValue])
    /// Parked in a continuation: push the results on its stack (runs on the executor).
    case pushing((LuaCall) throws -> LuaReturn)
    /// Parked in a continuation: raise this error in it.
    case error(any Error)
    /// It called plain `coroutine.yield` (no continuation of ours): resume with no values.
    case bareYield
}
