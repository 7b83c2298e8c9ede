#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLuaShim
import HeapModule

/// The one thread that owns a `lua_State`: a serial job queue plus a timer heap.
///
/// It is a `SerialExecutor`, so an actor can run on it (`unownedExecutor`) and call Lua
/// synchronously, and a `TaskExecutor`, so a caller can keep nonisolated async work on this
/// thread too (the migration runner does under virtual time, where hops would dominate). Jobs run in the order enqueued; due timers run between job batches.
public final class LuaExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private enum Job {
        case swift(UnownedJob)
        case closure(() -> Void)
    }

    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var jobs: [Job] = []
    private var timers = Heap<ScheduledTimer>()
    private var nextTimerSequence: UInt64 = 0
    private var scriptSpeed: Double = 1
    /// Seconds on the manual clock (`manualClock`); guarded by `lock`.
    private var manualNow: Double = 0
    /// Whether timers run on a manual clock that only `advanceClock(by:)` moves.
    public let manualClock: Bool
    private var stopping = false
    private var finished = false
    // Set once before the thread starts running jobs.
    private var thread = pthread_t(bitPattern: 0)
    private var threadStarted = false

    /// Creates the executor and starts its thread. `manualClock`: its timers (`mm.sleep`,
    /// wait timeouts, the `--timeout` deadline) run on a clock that starts at 0 and moves only
    /// through `advanceClock(by:)`, so tests of timers run on virtual time, deterministically
    /// and without sleeping; otherwise the monotonic clock.
    public init(manualClock: Bool = false) {
        self.manualClock = manualClock
        let box = Unmanaged.passRetained(ThreadStart(executor: self))
        lock.lock()
        var t = pthread_t(bitPattern: 0)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 16 << 20)  // deep Lua/Swift recursion
        let result = pthread_create(&t, &attributes, { raw in
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            start.executor.runLoop()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attributes)
        precondition(result == 0, "LuaExecutor: cannot create its thread (error \(result))")
        thread = t
        threadStarted = true
        lock.unlock()
    }

    private final class ThreadStart {
        let executor: LuaExecutor
        init(executor: LuaExecutor) { self.executor = executor }
    }

    /// The executor's thread id.
    public var threadID: pthread_t { lock.withLock { thread } }

    /// `true` when called on the executor's thread.
    public var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    // MARK: SerialExecutor

    /// Enqueues a Swift concurrency job.
    public func enqueue(_ job: consuming ExecutorJob) {
        push(.swift(UnownedJob(job)))
    }

    /// This executor as an unowned serial executor (for `unownedExecutor`).
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Traps unless called on the executor's thread.
    public func checkIsolated() {
        precondition(isCurrent, "not on the Lua executor thread")
    }

    // MARK: Closures and timers

    /// Runs `body` on the executor thread, after the jobs already queued. Any thread.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        push(.closure(body))
    }

    /// Like `execute`, for closures that capture executor-confined state; the caller
    /// promises they only touch it on the executor.
    func executeConfined(_ body: @escaping () -> Void) {
        push(.closure(body))
    }

    private func push(_ job: Job) {
        lock.lock()
        let wasIdle = jobs.isEmpty
        jobs.append(job)
        lock.unlock()
        if wasIdle { lock.signal() }
    }

    /// Seconds of the scripts' clock per real second: 1, or a simulated vCenter's speed (its
    /// clock runs 100× faster; `mm.now()` reads it). `mm.sleep` and wait timeouts count
    /// script seconds, so that `mm.sleep(60)` waits a simulated minute, as `mm.now()` says —
    /// not an hour of simulated time. Wall-clock limits (`--timeout`) do not scale.
    public var scriptClockSpeed: Double {
        get { lock.withLock { scriptSpeed } }
        set { lock.withLock { scriptSpeed = newValue.isFinite && newValue > 0 ? newValue : 1 } }
    }

    /// Runs `action` after `seconds` of the scripts' clock (`scriptClockSpeed`). Any thread.
    @discardableResult
    public func schedule(afterScriptSeconds seconds: Double, _ action: @escaping () -> Void) -> LuaTimer {
        schedule(after: seconds / scriptClockSpeed, action)
    }

    /// The timers' clock now: monotonic seconds, or the manual clock's.
    public var clockNow: Double { manualClock ? lock.withLock { manualNow } : mm_monotonic_seconds() }

    /// Moves the manual clock forward by `seconds` and returns once every timer due by then
    /// has fired, each at its own deadline (the clock stands there while it fires), in
    /// deadline order, and the jobs each queued have run — so a coroutine woken at 100 that
    /// sleeps 100 again is woken at 200 within the same advance, as on a real clock.
    /// Only for an executor created with `manualClock`.
    public func advanceClock(by seconds: Double) async {
        precondition(manualClock, "LuaExecutor.advanceClock: not a manual clock")
        let target = lock.withLock { manualNow } + max(0, seconds)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            executeConfined { [self] in advanceStep(to: target, c) }
        }
    }

    /// One step of `advanceClock`, on the executor: fires the first timer due by `target`,
    /// then queues the next step behind the jobs it queued.
    private func advanceStep(to target: Double, _ c: CheckedContinuation<Void, Never>) {
        lock.lock()
        if let t = timers.min?.timer, t.deadline <= target {
            timers.removeMin()
            manualNow = max(manualNow, t.deadline)
            let action = t.takeAction()
            lock.unlock()
            action?()
            executeConfined { [self] in advanceStep(to: target, c) }
        } else {
            manualNow = max(manualNow, target)
            lock.unlock()
            executeConfined { c.resume() }
        }
    }

    /// Runs `action` on the executor after `seconds` of the timers' clock. Any thread.
    @discardableResult
    public func schedule(after seconds: Double, _ action: @escaping () -> Void) -> LuaTimer {
        schedule(at: clockNow + max(0, seconds), action)
    }

    /// Runs `action` on the executor when the timers' clock (`clockNow`) reaches `deadline`. Any thread.
    @discardableResult
    public func schedule(at deadline: Double, _ action: @escaping () -> Void) -> LuaTimer {
        // At most a century ahead: keeps the condition wait's timespec in range.
        let deadline = min(deadline, clockNow + 3.2e9)
        lock.lock()
        nextTimerSequence += 1
        let timer = LuaTimer(deadline: deadline, sequence: nextTimerSequence, executor: self, action: action)
        let becomesFirst = timers.min.map { deadline < $0.timer.deadline } ?? true
        timers.insert(ScheduledTimer(timer: timer))
        lock.unlock()
        if becomesFirst && !isCurrent { lock.signal() }
        return timer
    }

    func cancel(_ timer: LuaTimer) {
        lock.lock()
        let action = timer.takeAction()
        lock.unlock()
        _ = action  // released outside the lock
    }

    /// Number of timers not yet fired or cancelled-and-collected (for tests).
    var pendingTimerCount: Int { lock.withLock { timers.count } }

    /// Stops the thread after the queued jobs ran and waits for it (not from the executor
    /// thread itself). Timers not yet due are dropped.
    public func shutdown() {
        lock.lock()
        if stopping {
            lock.unlock()
            return
        }
        stopping = true
        lock.unlock()
        lock.signal()
        if !isCurrent {
            pthread_join(thread, nil)
        } else {
            pthread_detach(thread)
        }
    }

    // MARK: The loop

    private func runLoop() {
        var batch: [Job] = []
        var due: [() -> Void] = []
        lock.lock()
        while true {
            if !jobs.isEmpty {
                swap(&batch, &jobs)
                lock.unlock()
                for job in batch {
                    switch job {
                    case .swift(let j): j.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
                    case .closure(let c): c()
                    }
                }
                batch.removeAll(keepingCapacity: true)
                lock.lock()
                continue
            }
            let now = manualClock ? manualNow : mm_monotonic_seconds()
            if let first = timers.min, first.timer.deadline <= now {
                while let t = timers.min?.timer, t.deadline <= now {
                    timers.removeMin()
                    if let action = t.takeAction() { due.append(action) }
                }
                lock.unlock()
                for action in due { action() }
                due.removeAll(keepingCapacity: true)
                lock.lock()
                continue
            }
            if stopping { break }
            if let first = timers.min, !manualClock {
                lock.wait(until: first.timer.deadline)
            } else {
                lock.wait()
            }
        }
        timers = Heap()
        finished = true
        lock.unlock()
    }
}
