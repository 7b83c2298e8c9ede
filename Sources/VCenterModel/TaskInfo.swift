import Foundation

/// The state of a vCenter task, as `TaskInfo.state` reports it.
public enum TaskState: String, Sendable, Hashable, CaseIterable {
    case queued, running, success, error

    /// Whether the task has ended (`success` or `error`).
    public var isTerminal: Bool { self == .success || self == .error }
}

/// A snapshot of one vCenter task's `info`, as the poller last saw it.
public struct TaskInfo: Sendable, Hashable {
    /// The task's reference (`Task:task-123`).
    public var ref: MoRef
    /// The operation as `TaskInfo.name` gives it: the method, for example `RelocateVM_Task`.
    /// It stays the same for the task's whole life.
    public var name: String
    /// `TaskInfo.descriptionId`, for example `VirtualMachine.relocate`, when vCenter reported it.
    public var descriptionId: String?
    /// The object the task works on, usually the VM.
    public var entity: MoRef?
    /// The entity's name, when vCenter reports it.
    public var entityName: String?
    public var state: TaskState
    /// Percent done, 0–100, when vCenter reports it.
    public var progress: Int?
    /// The task's result on success (a MoRef, a value, or nothing).
    public var result: PropertyValue?
    /// The fault on error.
    public var error: VCenterFault?
    public var queueTime: Date?
    public var startTime: Date?
    public var completeTime: Date?
    /// Whether `CancelTask` may succeed.
    public var cancelable: Bool

    public init(
        ref: MoRef, name: String, descriptionId: String? = nil, entity: MoRef? = nil, entityName: String? = nil,
        state: TaskState, progress: Int? = nil, result: PropertyValue? = nil,
        error: VCenterFault? = nil, queueTime: Date? = nil, startTime: Date? = nil,
        completeTime: Date? = nil, cancelable: Bool = false
    ) {
        self.ref = ref
        self.name = name
        self.descriptionId = descriptionId
        self.entity = entity
        self.entityName = entityName
        self.state = state
        self.progress = progress
        self.result = result
        self.error = error
        self.queueTime = queueTime
        self.startTime = startTime
        self.completeTime = completeTime
        self.cancelable = cancelable
    }
}
