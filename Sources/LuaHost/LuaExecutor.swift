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
    private var stopping = false
    private var finished = false
    // Set once before the thread starts running jobs.
    private var thread = pthread_t(bitPattern: 0)
    private var threadStarted = false

    /// Creates the executor and starts its thread.
    public init() {
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

    /// Runs `action` on the executor after `seconds` (monotonic clock). Any thread.
    @discardableResult
    public func schedule(after seconds: Double, _ action: @escaping () -> Void) -> LuaTimer {
        schedule(at: mm_monotonic_seconds() + max(0, seconds), action)
    }

    /// Runs `action` on the executor when the monotonic clock reaches `deadline`. Any thread.
    @discardableResult
    public func schedule(at deadline: Double, _ action: @escaping () -> Void) -> LuaTimer {
        // At most a century ahead: keeps the condition wait's timespec in range.
        let deadline = min(deadline, mm_monotonic_seconds() + 3.2e9)
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
            if let first = timers.min, first.timer.deadline <= mm_monotonic_seconds() {
                let now = mm_monotonic_seconds()
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
            if let first = timers.min {
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
