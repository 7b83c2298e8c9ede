import CLuaShim
import Locking
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LuaRuntime {
    /// Makes Ctrl-C (SIGINT) stop this runtime's script: the Lua code running at that moment
    /// raises "interrupted" at its next instruction (even a busy loop), and `onSignal` runs on
    /// a watcher thread with the number of signals since installation. The default
    /// `onSignal` calls `interrupt()` (so waits end too) and exits the process with status
    /// 130 at the second Ctrl-C if the first did not stop it.
    public func installInterruptSignalHandler(onSignal: (@Sendable (Int) -> Void)? = nil) {
        let handler = onSignal ?? { [weak self] count in
            if count >= 2 {
                let message = "\nmoonmotion: interrupted again; exiting\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
                _exit(130)
            }
            self?.interrupt()
        }
        InterruptSignal.shared.install(target: state.host, handler: handler)
    }

    /// Hands Ctrl-C to `handler` alone (for the migration engine: first signal a graceful
    /// stop, second leave tasks running and exit). Lua is no longer interrupted directly;
    /// call `interrupt()` from the handler to do so.
    public func takeOverInterruptSignal(_ handler: @escaping @Sendable (Int) -> Void) {
        InterruptSignal.shared.install(target: nil, handler: handler)
    }

    /// Restores the default SIGINT disposition (the process dies on Ctrl-C).
    public func removeInterruptSignalHandler() {
        InterruptSignal.shared.remove()
    }
}

/// The process-wide SIGINT plumbing: a C handler (direct interrupt + self-pipe) and one
/// watcher thread that calls the current Swift handler.
final class InterruptSignal: Sendable {
    static let shared = InterruptSignal()

    private struct State {
        var handler: (@Sendable (Int) -> Void)?
        var baseCount = 0
        var watcherStarted = false
        var lastCount = 0
    }
    private let state = Locked(State())

    func install(target: OpaquePointer?, handler: @escaping @Sendable (Int) -> Void) {
        mm_sigint_set_direct_target(target)
        let startWatcher = state.withLock { s -> Bool in
            s.handler = handler
            s.baseCount = s.lastCount
            defer { s.watcherStarted = true }
            return !s.watcherStarted
        }
        mm_sigint_install()
        if startWatcher { startWatcherThread() }
    }

    func remove() {
        mm_sigint_restore()
        state.withLock { $0.handler = nil }
    }

    private func startWatcherThread() {
        var thread = pthread_t(bitPattern: 0)
        let result = pthread_create(&thread, nil, { _ in
            while true {
                let total = Int(mm_sigint_wait())
                if total < 0 { return nil }
                let (handler, count) = InterruptSignal.shared.state.withLock { s -> ((@Sendable (Int) -> Void)?, Int) in
                    guard total > s.lastCount else { return (nil, 0) }
                    s.lastCount = total
                    return (s.handler, total - s.baseCount)
                }
                if let handler, count > 0 { handler(count) }
            }
        }, nil)
        if result == 0 { pthread_detach(thread) }
    }
}
