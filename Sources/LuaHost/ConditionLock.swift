#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLuaShim

/// A mutex with one condition variable whose timed waits use the monotonic clock.
final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Wakes one waiter. Call with or without the lock held.
    func signal() { pthread_cond_signal(condition) }
    /// Wakes all waiters.
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits (lock held) until signalled.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits (lock held) until signalled or the monotonic clock passes `deadline` seconds.
    func wait(until deadline: Double) {
        #if os(Linux)
        var ts = timespec()
        let whole = deadline.rounded(.down)
        ts.tv_sec = Int(whole)
        ts.tv_nsec = Int((deadline - whole) * 1e9)
        pthread_cond_timedwait(condition, mutex, &ts)
        #else
        let remaining = max(0, deadline - mm_monotonic_seconds())
        var ts = timespec(tv_sec: Int(remaining), tv_nsec: Int((remaining - remaining.rounded(.down)) * 1e9))
        pthread_cond_timedwait_relative_np(condition, mutex, &ts)
        #endif
    }
}
