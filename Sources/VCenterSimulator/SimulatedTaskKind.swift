/// The kinds of task the simulator runs; injected failures and delays select tasks by kind.
public enum SimulatedTaskKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `RelocateVM_Task` with only a datastore: Storage vMotion.
    case storageVMotion
    /// `RelocateVM_Task` with only a host, or `MigrateVM_Task`: vMotion.
    case vMotion
    /// `RelocateVM_Task` with a host and a datastore: vMotion and Storage vMotion at once.
    case hostAndStorageVMotion
    /// `ConsolidateVMDisks_Task`.
    case consolidateDisks
    /// `RemoveAllSnapshots_Task` or `RemoveSnapshot_Task`.
    case removeSnapshot
    /// `PowerOffVM_Task` or `PowerOnVM_Task`.
    case power

    /// Whether the task moves the VM (counted in `SimulatorStats.movesPerVM`).
    public var isMove: Bool { self == .storageVMotion || self == .vMotion || self == .hostAndStorageVMotion }

    /// Whether the task copies disks (Storage vMotion part): shares datastore bandwidth.
    public var copiesDisks: Bool { self == .storageVMotion || self == .hostAndStorageVMotion }

    public var description: String { rawValue }
}
