import VCenterModel

/// What a job does to its VM.
public enum JobKind: Sendable, Hashable {
    /// Storage vMotion (`RelocateVM_Task` with a datastore and disk locators): the VM's files
    /// the `StorageMove` covers go to its targets. With one target the destination is fixed;
    /// with several, `Strategy.place` picks at dispatch among those with room and free space.
    /// A powered-off VM or a template moves cold (a provisioning operation for vSphere).
    case storageMove(StorageMove)
    /// vMotion to `host` (`RelocateVM_Task` with a host, or `MigrateVM_Task`).
    case hostMove(host: MoRef, pool: MoRef?, method: HostMoveMethod)
    /// Host and storage at once (vMotion without shared storage): one `RelocateVM_Task`.
    case storageAndHostMove(StorageMove, host: MoRef, pool: MoRef?)
    /// `ConsolidateVMDisks_Task`.
    case consolidate
    /// `RemoveSnapshot_Task` / `RemoveAllSnapshots_Task`.
    case removeSnapshot(SnapshotSelector, removeChildren: Bool, consolidate: Bool)
    /// Any other task-returning method, with its declared cost.
    case custom(CustomTask)

    /// Whether the job copies the VM's disks (counts toward "bytes moved").
    public var movesStorage: Bool {
        switch self {
        case .storageMove, .storageAndHostMove: true
        default: false
        }
    }

    /// Whether the job changes the VM's host.
    public var movesHost: Bool {
        switch self {
        case .hostMove, .storageAndHostMove: true
        default: false
        }
    }

    /// The storage part of a storage move, nil for other kinds.
    public var storage: StorageMove? {
        switch self {
        case .storageMove(let m), .storageAndHostMove(let m, _, _): m
        default: nil
        }
    }

    /// Every datastore a storage move may put a file on, empty for other kinds.
    public var candidates: [MoRef] { storage?.allTargets ?? [] }

    /// The destination host of a host move, nil for other kinds.
    public var destinationHost: MoRef? {
        switch self {
        case .hostMove(let h, _, _), .storageAndHostMove(_, let h, _): h
        default: nil
        }
    }

    /// A short name for displays and the journal: `storage`, `host`, `storage+host`,
    /// `consolidate`, `remove-snapshot`, or the custom method's name.
    public var name: String {
        switch self {
        case .storageMove: "storage"
        case .hostMove: "host"
        case .storageAndHostMove: "storage+host"
        case .consolidate: "consolidate"
        case .removeSnapshot: "remove-snapshot"
        case .custom(let c): c.method
        }
    }
}

/// Which vSphere method performs a host move.
public enum HostMoveMethod: String, Sendable, Hashable, Codable {
    /// `RelocateVM_Task` with only `spec.host` (and `spec.pool`) set.
    case relocate
    /// `MigrateVM_Task`.
    case migrate
}
