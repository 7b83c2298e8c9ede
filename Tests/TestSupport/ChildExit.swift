import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Process {
    /// The child's exit status (or the signal that ended it, as `terminationStatus` gives it)
    /// once it has ended, nil while it runs. It asks the kernel directly (`waitid` with
    /// `WNOWAIT`, which leaves the child for Foundation to reap): Foundation learns of a
    /// child's end late when another child inherited its end of Foundation's watch socket
    /// (processes spawned at the same moment by parallel tests), and a test that trusts
    /// `isRunning` then waits for a process that is already gone — once, 56 tests failed
    /// that way while the cooperative pool sat in such waits.
    public var endStatus: Int32? {
        if !isRunning { return terminationStatus }
        var info = siginfo_t()
        guard waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
              info._sifields._sigchld.si_pid == processIdentifier else { return nil }
        return info._sifields._sigchld.si_status
    }

    /// Whether the child has ended (see `endStatus`), whether or not Foundation noticed yet.
    public var hasEnded: Bool { endStatus != nil }

    /// Blocks the calling thread until the child has ended and returns its `endStatus`.
    /// Not `waitUntilExit` or `terminationHandler`: both wait for Foundation's notice, which
    /// can come late (see `endStatus`). This waits for the kernel's: `waitid` with `WNOWAIT`
    /// sleeps until the child exits and leaves it for Foundation to reap. For plain threads
    /// only — never the cooperative pool (use `ended(within:)` there).
    public func blockUntilEnded() -> Int32 {
        let pid = processIdentifier
        while true {
            if !isRunning { return terminationStatus }
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
                return info._sifields._sigchld.si_status
            }
            // EINTR: wait again. ECHILD: Foundation has reaped it and is about to set
            // `terminationStatus` (it reaps first); give it that moment on this plain thread.
            switch errno {
            case EINTR: continue
            case ECHILD: usleep(1_000)
            default: return endStatus ?? -1
            }
        }
    }

    /// Waits, without holding a thread of the cooperative pool, until the child has ended
    /// or `timeout` seconds have passed; the child's `endStatus`, nil when it still runs.
    /// The end is the kernel's notice (`blockUntilEnded` on a thread of its own), not a poll;
    /// the timeout only bounds a child that never ends (that thread then stays blocked
    /// until the child does end).
    public func ended(within timeout: Double) async -> Int32? {
        if let status = endStatus { return status }
        let once = ResumeOnce()
        return await withCheckedContinuation { (c: CheckedContinuation<Int32?, Never>) in
            once.set(c)
            Thread.detachNewThread { once.resume(self.blockUntilEnded()) }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { once.resume(self.endStatus) }
        }
    }
}

/// A continuation resumed by whichever of several events comes first.
private final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Int32?, Never>?

    func set(_ c: CheckedContinuation<Int32?, Never>) {
        lock.lock()
        continuation = c
        lock.unlock()
    }

    func resume(_ value: Int32?) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: value)
    }
}
