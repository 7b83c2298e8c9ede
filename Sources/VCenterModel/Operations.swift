/// Where `RelocateVM_Task` should put a VM. Any combination: storage only
/// (Storage vMotion), host only (vMotion), or both at once.
public struct RelocateSpec: Sendable, Hashable {
    public var datastore: MoRef?
    public var host: MoRef?
    public var pool: MoRef?

    public init(datastore: MoRef? = nil, host: MoRef? = nil, pool: MoRef? = nil) {
        self.datastore = datastore
        self.host = host
        self.pool = pool
    }

    /// Whether the spec moves nothing.
    public var isEmpty: Bool { datastore == nil && host == nil && pool == nil }
}

/// `VirtualMachineMovePriority`.
public enum MovePriority: String, Sendable, Hashable, CaseIterable {
    case defaultPriority, highPriority, lowPriority
}

/// Which snapshot `removeSnapshot` removes.
public enum SnapshotSelector: Sendable, Hashable {
    /// Every snapshot (`RemoveAllSnapshots_Task`).
    case all
    /// The snapshot with this name (the first match in the tree).
    case named(String)
    /// A snapshot by reference.
    case ref(MoRef)
}

/// The result of `VCenter.invoke`: a task to watch, or a plain value.
public enum InvokeResult: Sendable {
    case task(LiveTask)
    case value(PropertyValue)
}

/// What `VCenter.recentTasks` should return.
public struct TaskQuery: Sendable, Hashable {
    /// Only tasks on this entity (a VM's own `recentTask` list).
    public var entity: MoRef?
    /// Only tasks in these states; empty means every state.
    public var states: Set<TaskState>
    public init(entity: MoRef? = nil, states: Set<TaskState> = []) {
        self.entity = entity
        self.states = states
    }
}
