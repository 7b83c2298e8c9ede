import CLuaShim
import Synchronization

/// A Lua state with its own executor thread and coroutine scheduler: the host scripts run
/// in. Everything that touches Lua happens on `executor`; other threads use `perform`.
///
/// Scripts run as coroutines (`run`): the main chunk is one, `mm.spawn` starts more, and a
/// Swift function may park its coroutine on native work (`LuaCall.suspend`) while the others
/// keep running. The `moonmotion` module (`require "moonmotion"`) holds `sleep`, `spawn`,
/// `yield`, `now`; other modules extend it with `extendMoonmotionModule`.
public final class LuaRuntime: @unchecked Sendable {
    /// How a runtime is set up.
    public struct Options: Sendable {
        /// Sandbox restrictions and limits.
        public var sandbox: SandboxOptions
        /// Directories searched by `require` right after `MOONMOTION_PATH`: the script's own
        /// (the REPL's working directory). Under the sandbox, also what the script may read.
        public var moduleDirectories: [String]
        /// Set `package.path` (MOONMOTION_PATH, stdlib of the checkout / installation).
        public var configuresModulePath: Bool
        /// Timers on a manual clock (`LuaExecutor(manualClock:)`, moved by
        /// `executor.advanceClock(by:)`): for tests of `mm.sleep` and timeouts on virtual time.
        public var manualClock: Bool

        /// Creates options.
        public init(sandbox: SandboxOptions = .none, moduleDirectories: [String] = [], configuresModulePath: Bool = true,
                    manualClock: Bool = false) {
            self.sandbox = sandbox
            self.moduleDirectories = moduleDirectories
            self.configuresModulePath = configuresModulePath
            self.manualClock = manualClock
        }
    }

    /// The thread that owns the Lua state. Actors may run on it (`unownedExecutor`).
    public let executor: LuaExecutor
    /// The options the runtime was created with.
    public let options: Options
    let state: LuaState
    let scheduler: LuaScheduler
    private let deferredDrain: DeferredDrain
    private let shutDown = Atomic<Bool>(false)
    private var deadlineTimer: LuaTimer?

    /// Creates the executor thread and the state, opens the standard libraries, installs
    /// the `moonmotion` module, sets `package.path` and applies the sandbox.
    public init(options: Options = Options()) throws {
        self.options = options
        executor = LuaExecutor(manualClock: options.manualClock)
        state = LuaState()
        state.transferOwnership(to: executor.threadID)
        scheduler = LuaScheduler(state: state, executor: executor)
        deferredDrain = DeferredDrain(state: state, executor: executor)
        state.scheduler = scheduler
        state.runtime = self
        state.deferredReleaseNotifier = { [deferredDrain] in deferredDrain.request() }
        try performConfined { state in
            if options.configuresModulePath {
                try state.configureModulePath(extraDirectories: options.moduleDirectories)
            }
            try self.installMoonmotionModule(in: state)
            try state.applySandbox(options.sandbox, scriptDirectories: options.moduleDirectories)
            // Ctrl-C reaches a busy coroutine the script created itself.
            mm_install_coroutine_tracking(state.mainThread)
        }
        if let seconds = options.sandbox.timeLimit {
            deadlineTimer = executor.schedule(after: seconds) { [weak self] in
                guard let self, !self.shutDown.load(ordering: .relaxed) else { return }
                self.timeLimitReached()
            }
        }
    }

    deinit {
        shutdown()
    }

    /// The `--timeout` deadline passed while no Lua code ran (the script waits): the run ends
    /// with a time-limit error that says where it waited. On the executor.
    func timeLimitReached() {
        mm_host_mark_deadline(state.host)
        scheduler.stop(.timeLimit)
    }

    /// Cancels whatever runs (cleanups run), closes the Lua state (every `__gc` runs) and
    /// stops the executor thread. Idempotent.
    public func shutdown() {
        guard !shutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        deadlineTimer?.cancel()
        try? performConfined { state in
            self.scheduler.runCompletion = nil
            self.scheduler.abort(LuaError(.interrupted, message: "the Lua runtime shut down"))
            state.close()
            state.scheduler = nil
            state.deferredReleaseNotifier = nil
            self.deferredDrain.detach()
        }
        executor.shutdown()
    }

    // MARK: Running code on the executor

    /// Runs `body` on the executor with the state and returns its result.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (LuaState) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            executor.executeConfined { [state] in
                do {
                    continuation.resume(returning: try body(state))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Runs `body` on the executor and blocks the calling thread until it returned (runs
    /// inline when already on the executor). Never call from a thread the executor waits on.
    public func performSync<T>(_ body: (LuaState) throws -> T) throws -> T {
        try performConfined(body)
    }

    /// Runs `body` with the state when the caller is already on the executor (for actors
    /// that share it). Traps elsewhere.
    public func assumeOnExecutor<T>(_ body: (LuaState) throws -> T) rethrows -> T {
        executor.checkIsolated()
        return try body(state)
    }

    func performConfined<T>(_ body: (LuaState) throws -> T) throws -> T {
        if executor.isCurrent { return try body(state) }
        let box = SyncBox<T>()
        try withoutActuallyEscaping(body) { escapable in
            // The job holds the box, not the closure, and the box drops the closure before
            // signalling: nothing references it once this block returns.
            box.body = escapable
            executor.executeConfined { [state] in box.run(state) }
            try box.wait()
        }
        return try box.result!.get()
    }

    // MARK: Runs

    /// Loads and runs a script file as the main coroutine, with `arguments` as `...`.
    /// Returns the main chunk's results once it and every spawned coroutine finished.
    /// Throws `LuaError` (syntax, file, runtime, interrupted, limits).
    public func run(file path: String, arguments: [LuaValue] = []) async throws -> [LuaRef] {
        let function = try await perform { state in try state.loadFile(path) }
        return try await run(function, arguments: arguments)
    }

    /// Compiles and runs `source` like `run(file:)`.
    public func run(source: String, chunkName: String = "=(script)", arguments: [LuaValue] = []) async throws -> [LuaRef] {
        let function = try await perform { state in try state.load(source, chunkName: chunkName) }
        return try await run(function, arguments: arguments)
    }

    /// Runs `function` as the main coroutine (script mode: the first uncaught error in any
    /// coroutine ends the run and cancels everything pending).
    public func run(_ function: LuaRef, arguments: [LuaValue] = []) async throws -> [LuaRef] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[LuaRef], any Error>) in
            executor.executeConfined { [state, scheduler] in
                guard scheduler.runCompletion == nil else {
                    continuation.resume(throwing: LuaError(message: "a script is already running in this runtime"))
                    return
                }
                if mm_host_interrupt_requested(state.host) != 0 {
                    continuation.resume(throwing: LuaError(.interrupted, message: "interrupted"))
                    return
                }
                scheduler.failsRunOnError = true
                var mainResults: [LuaRef] = []
                scheduler.runCompletion = { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else {
                        continuation.resume(returning: mainResults)
                    }
                }
                LuaRuntime.start(function, arguments, state: state, scheduler: scheduler, isSpawned: false) { outcome in
                    if case .returned(let refs) = outcome { mainResults = refs }
                }
            }
        }
    }

    /// Runs `function` as a coroutine and returns its results when it alone finished
    /// (interactive mode: coroutines it spawned keep running; their uncaught errors go to
    /// `backgroundErrorHandler`). Used by the REPL for each line.
    public func evaluate(_ function: LuaRef, arguments: [LuaValue] = []) async throws -> [LuaRef] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[LuaRef], any Error>) in
            executor.executeConfined { [state, scheduler] in
                scheduler.failsRunOnError = false
                LuaRuntime.start(function, arguments, state: state, scheduler: scheduler, isSpawned: false) { outcome in
                    switch outcome {
                    case .returned(let refs): continuation.resume(returning: refs)
                    case .failed(let error): continuation.resume(throwing: error)
                    }
                }
            }
        }
    }

    private static func start(_ function: LuaRef, _ arguments: [LuaValue], state: LuaState, scheduler: LuaScheduler,
                              isSpawned: Bool, onFinish: @escaping (LuaCoroutine.Outcome) -> Void) {
        let M = state.mainThread
        let base = lua_gettop(M)
        function.push(on: M)
        _ = lua_checkstack(M, Int32(clamping: arguments.count + 2))
        for a in arguments { LuaStack.push(a, on: M) }
        let indices: ClosedRange<Int32>? = arguments.isEmpty ? nil : (base + 2)...(base + 1 + Int32(arguments.count))
        scheduler.spawn(from: M, functionIndex: base + 1, argumentIndices: indices, isSpawned: isSpawned,
                        keepsResults: true, onFinish: onFinish)
        lua_settop(M, base)
    }

    /// Receives uncaught errors of spawned coroutines in interactive mode (on the executor).
    public func setBackgroundErrorHandler(_ handler: @escaping @Sendable (LuaError) -> Void) {
        executor.executeConfined { [scheduler] in scheduler.backgroundErrorHandler = handler }
    }

    /// Number of coroutines that have not finished (executor only).
    public var liveCoroutineCount: Int {
        executor.checkIsolated()
        return scheduler.liveCount
    }

    // MARK: Interrupts

    /// Stops the running script: the Lua code running right now raises "interrupted" at its
    /// next instruction (even a busy loop), and if Lua is idle the run ends at once. Pending
    /// native work is cancelled. Any thread: from another thread than the executor's, the
    /// executor's thread is signalled and sets the hook itself (see CLuaShim). Ignored after
    /// `shutdown()`.
    public func interrupt() {
        guard !shutDown.load(ordering: .acquiring) else { return }   // the state (and its host block) may be gone
        mm_host_interrupt(state.host)
        executor.executeConfined { [state, scheduler] in
            if mm_host_interrupt_requested(state.host) != 0 {
                scheduler.stop(.interrupted)
            }
        }
    }

    /// Clears a handled interrupt so the next run (REPL line) can proceed. Executor only.
    public func clearInterrupt() {
        executor.checkIsolated()
        mm_host_clear_interrupt(state.host, state.mainThread)
    }

    /// `true` while an interrupt is requested and not cleared. Any thread.
    public var isInterruptRequested: Bool { mm_host_interrupt_requested(state.host) != 0 }
}

/// Coalesces deferred `LuaRef` releases into one executor job.
private final class DeferredDrain: @unchecked Sendable {
    private var state: LuaState?
    private let executor: LuaExecutor
    private let scheduled = Atomic<Bool>(false)

    init(state: LuaState, executor: LuaExecutor) {
        self.state = state
        self.executor = executor
    }

    func request() {
        guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        executor.executeConfined { [self] in
            scheduled.store(false, ordering: .releasing)
            state?.drainDeferredReleases()
        }
    }

    /// Breaks the state -> notifier -> drain -> state cycle at shutdown (executor only).
    func detach() {
        state = nil
    }
}

/// A result handed from the executor to a blocked thread.
private final class SyncBox<T>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var done = false
    var result: Result<T, any Error>?
    var body: ((LuaState) throws -> T)?

    func run(_ state: LuaState) {
        let result = Result { try body!(state) }
        body = nil
        lock.lock()
        self.result = result
        done = true
        lock.unlock()
        lock.broadcast()
    }

    func wait() throws {
        lock.lock()
        while !done { lock.wait() }
        lock.unlock()
    }
}
