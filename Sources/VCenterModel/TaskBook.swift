import Locking

/// The live tasks one connection tracks, one `LiveTask` per task reference.
/// Backends use it so that `getTask("task-1")` twice returns the same live object.
public final class TaskBook: Sendable {
    private let tasks = Locked<[MoRef: LiveTask]>([:])

    public init() {}

    /// The live task for `info.ref`, created from `info` when it is new.
    /// Returns the task and whether it was created by this call.
    public func track(_ info: TaskInfo) -> (task: LiveTask, isNew: Bool) {
        tasks.withLock { map in
            if let existing = map[info.ref] { return (existing, false) }
            let task = LiveTask(info)
            map[info.ref] = task
            return (task, true)
        }
    }

    /// The tracked task for `ref`, if any.
    public func task(_ ref: MoRef) -> LiveTask? { tasks.withLock { $0[ref] } }

    /// Every tracked task that has not ended.
    public var pending: [LiveTask] { tasks.withLock { $0.values.filter { !$0.isDone } } }

    /// Every tracked task.
    public var all: [LiveTask] { tasks.withLock { Array($0.values) } }

    /// Stops tracking `ref` (its `LiveTask` keeps its last state for whoever holds it).
    public func forget(_ ref: MoRef) { _ = tasks.withLock { $0.removeValue(forKey: ref) } }
}
