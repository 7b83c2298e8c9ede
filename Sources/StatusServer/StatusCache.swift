import Foundation
import MigrationEngine
import Locking

/// The run's status and its JSON, computed at most once per `maxAge` however many clients
/// ask: a snapshot walks every job, so twenty browsers refreshing must not walk them twenty
/// times a second on the run's machine.
final class StatusCache: Sendable {
    private let maxAge: Duration
    private let compute: @Sendable () -> RunStatus
    private let state = Locked<(at: ContinuousClock.Instant, status: RunStatus, json: String)?>(nil)

    init(maxAge: Duration, compute: @escaping @Sendable () -> RunStatus) {
        self.maxAge = maxAge
        self.compute = compute
    }

    /// The status, at most `maxAge` old.
    func status() -> RunStatus { current().status }

    /// Its JSON document.
    func json() -> String { current().json }

    /// The next request computes afresh (the run just ended).
    func invalidate() { state.withLock { $0 = nil } }

    private func current() -> (status: RunStatus, json: String) {
        // Computed under the lock: concurrent requests wait for the one computation.
        state.withLock { s in
            let now = ContinuousClock.now
            if let s, now - s.at < maxAge { return (s.status, s.json) }
            let status = compute()
            let fresh = (at: now, status: status, json: status.json())
            s = fresh
            return (fresh.status, fresh.json)
        }
    }
}

/// A text computed at most once per `maxAge` (the live timeline's JSON).
final class TextCache: Sendable {
    private let maxAge: Duration
    private let compute: @Sendable () -> String
    private let state = Locked<(at: ContinuousClock.Instant, text: String)?>(nil)

    init(maxAge: Duration, compute: @escaping @Sendable () -> String) {
        self.maxAge = maxAge
        self.compute = compute
    }

    /// The text, at most `maxAge` old.
    func value() -> String {
        state.withLock { s in
            let now = ContinuousClock.now
            if let s, now - s.at < maxAge { return s.text }
            let text = compute()
            s = (now, text)
            return text
        }
    }

    /// The next request computes afresh.
    func invalidate() { state.withLock { $0 = nil } }
}
