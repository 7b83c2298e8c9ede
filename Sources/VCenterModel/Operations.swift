/// Where `RelocateVM_Task` should put a VM. Any combination: storage only
/// (Storage vMotion), host only (vMotion), or both at once.
///
/// vSphere's rule for files: `datastore` is where the VM's home (configuration) goes; a disk
/// with a locator in `disks` goes to the locator's datastore; a disk without one follows
/// `datastore` when it is set and stays otherwise. So to move some disks and leave others,
/// name every disk that must stay with a locator on its current datastore.
public struct RelocateSpec: Sendable, Hashable {
    public var datastore: MoRef?
    public var host: MoRef?
    public var pool: MoRef?
    /// Disk locators (`VirtualMachineRelocateSpecDiskLocator`), one per placed disk.
    public var disks: [DiskLocator]

    public init(datastore: MoRef? = nil, host: MoRef? = nil, pool: MoRef? = nil, disks: [DiskLocator] = []) {
        self.datastore = datastore
        self.host = host
        self.pool = pool
        self.disks = disks
    }

    /// Whether the spec moves nothing.
    public var isEmpty: Bool { datastore == nil && host == nil && pool == nil && disks.isEmpty }
}

/// `VirtualMachineRelocateSpecDiskLocator`: where one disk goes, and optionally the format it
/// is converted to on the way (the locator's `diskBackingInfo`).
public struct DiskLocator: Sendable, Hashable {
    /// The disk's device key (`diskId`).
    public var diskKey: Int
    public var datastore: MoRef
    /// The format to convert to (nil: as it is).
    public var format: DiskFormat?

    public init(diskKey: Int, datastore: MoRef, format: DiskFormat? = nil) {
        self.diskKey = diskKey
        self.datastore = datastore
        self.format = format
    }
}

/// One recommendation of Storage DRS for a relocation (`ClusterRecommendation` from
/// `StorageResourceManager.RecommendDatastores`): apply it by its key.
public struct StorageRecommendation: Sendable, Hashable {
    /// The key `ApplyStorageDrsRecommendation_Task` takes.
    public var key: String
    /// Where the VM's home goes (`StoragePlacementAction.destination`).
    public var destination: MoRef
    /// The disks the recommendation places elsewhere than `destination`.
    public var disks: [DiskLocator]
    /// `rating` (1–5, 5 best).
    public var rating: Int

    public init(key: String, destination: MoRef, disks: [DiskLocator] = [], rating: Int = 1) {
        self.key = key
        self.destination = destination
        self.disks = disks
        self.rating = rating
    }
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
