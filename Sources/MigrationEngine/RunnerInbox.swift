import Foundation
import Synchronization
import VCenterModel

/// What reaches the runner from outside its executor: call results, task updates
/// (posted by `LiveTask` observers on the poller's thread, or inside a virtual
/// backend's `advance`), timers and stop requests. Thread-safe.
final class RunnerInbox: Sendable {
    enum Item: Sendable {
        case started(JobID, LiveTask)
        case startFailed(JobID, VCenterFault)
        /// The call failed in transport after vCenter may have received it.
        case callLost(JobID, VCenterFault)
        /// No task of a lost call was found among the VM's recent tasks (or the lookup failed).
        case lostCallHasNoTask(JobID, VCenterFault)
        /// A task found among the VM's recent tasks, taken as a lost call's.
        case adoptedLost(JobID, LiveTask)
        /// The VM after an adopted task succeeded: on the job's target or not (nil: unreadable).
        case adoptedChecked(JobID, TaskInfo, VMInfo?, onTarget: Bool, lostAt: Date)
        case alreadyOnTarget(JobID, VMInfo)
        /// Storage DRS's answer for a job that asked it.
        case recommended(JobID, [StorageRecommendation])
        case verified(JobID)
        case taskUpdate(JobID, TaskInfo)
        case externalWatched(MoRef, LiveTask.Observation?)
        case externalUpdate(TaskInfo)
        case timer(UInt64)
        case stop(graceful: Bool)
    }

    private struct State {
        var items: [Item] = []
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

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
