import Foundation
import Locking
import VCenterModel

/// What reaches the runner from outside its executor: call results, task updates
/// (posted by `LiveTask` observers on the poller's thread, or inside a virtual
/// backend's `advance`), timers and stop requests. Thread-safe.
final class RunnerInbox: Sendable {
    enum Item: Sendable {
        /// An operation the runner launched (`MigrationRunner.launch`) has its outcome:
        /// one operation less is outstanding.
        case completed(Outcome)
        /// A watched task of a job changed.
        case taskUpdate(JobID, TaskInfo)
        /// A watched outside task ended.
        case externalUpdate(TaskInfo)
        case timer(UInt64)
        case stop(graceful: Bool)
        /// A forecast computed off the runner's executor (nil: it could not be made).
        case forecast(RunForecast?)
    }

    /// What a launched operation saw, reported to the scheduler as the input of that name.
    enum Outcome: Sendable {
        case started(JobID, LiveTask)
        case startFailed(JobID, VCenterFault)
        case lostTaskFound(JobID, LiveTask)
        case lostTaskNotFound(JobID)
        case alreadyOnTarget(JobID, VMInfo)
        case placementChecked(JobID, VMInfo?)
        case recommended(JobID, [StorageRecommendation])
        case recommendationFailed(JobID, VCenterFault)
        /// An outside task is watched (nil: it could not be; it is taken as ended).
        case externalWatched(MoRef, LiveTask.Observation?)
    }

    private struct State {
        var items: [Item] = []
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Locked(State())

    func post(_ item: Item) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.items.append(item)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    func takeAll() -> [Item] {
        state.withLock { s in
            let items = s.items
            s.items = []
            return items
        }
    }

    var isEmpty: Bool { state.withLock { $0.items.isEmpty } }

    /// Returns when at least one item is waiting.
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if !s.items.isEmpty { return true }
                s.waiter = c
                return false
            }
            if ready { c.resume() }
        }
    }
}
