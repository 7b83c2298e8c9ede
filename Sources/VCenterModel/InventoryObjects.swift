import Foundation

/// What vCenter says about itself (`ServiceContent.about`).
public struct AboutInfo: Sendable, Hashable, Codable {
    public var name: String
    public var fullName: String
    public var version: String
    public var build: String
    public var apiVersion: String
    public var apiType: String
    public var instanceUuid: String

    public init(name: String, fullName: String, version: String, build: String = "", apiVersion: String, apiType: String = "VirtualCenter", instanceUuid: String = "") {
        self.name = name
        self.fullName = fullName
        self.version = version
        self.build = build
        self.apiVersion = apiVersion
        self.apiType = apiType
        self.instanceUuid = instanceUuid
    }
}

/// A datacenter.
public struct DatacenterInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    public init(ref: MoRef, name: String) {
        self.ref = ref
        self.name = name
    }
}

/// A cluster (`ClusterComputeResource`) and its hosts.
public struct ClusterInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    public var datacenter: MoRef?
    public var hosts: [MoRef]
    public init(ref: MoRef, name: String, datacenter: MoRef? = nil, hosts: [MoRef] = []) {
        self.ref = ref
        self.name = name
        self.datacenter = datacenter
        self.hosts = hosts
    }
}

/// An ESXi host (`HostSystem`).
public struct HostInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    /// The cluster the host belongs to, nil for a standalone host.
    public var cluster: MoRef?
    /// `runtime.connectionState`: `connected`, `disconnected` or `notResponding`.
    public var connectionState: String
    /// `runtime.inMaintenanceMode`.
    public var inMaintenanceMode: Bool
    /// The speed of the vMotion network in Mbit/s when known (1 GbE: 4 concurrent vMotions, 10 GbE: 8).
    public var vmotionLinkSpeedMbps: Int?

    public init(ref: MoRef, name: String, cluster: MoRef? = nil, connectionState: String = "connected", inMaintenanceMode: Bool = false, vmotionLinkSpeedMbps: Int? = nil) {
        self.ref = ref
        self.name = name
        self.cluster = cluster
        self.connectionState = connectionState
        self.inMaintenanceMode = inMaintenanceMode
        self.vmotionLinkSpeedMbps = vmotionLinkSpeedMbps
    }

    /// Whether new work may be placed on the host: connected and not in maintenance mode.
    public var isUsable: Bool { connectionState == "connected" && !inMaintenanceMode }
}

/// A datastore.
public struct DatastoreInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    public var capacityBytes: Int64
    public var freeBytes: Int64
    /// `summary.type`: `VMFS`, `NFS`, `vsan`, …
    public var type: String
    public var accessible: Bool
    /// The hosts that mount it.
    public var hosts: [MoRef]

    public init(ref: MoRef, name: String, capacityBytes: Int64, freeBytes: Int64, type: String = "VMFS", accessible: Bool = true, hosts: [MoRef] = []) {
        self.ref = ref
        self.name = name
        self.capacityBytes = capacityBytes
        self.freeBytes = freeBytes
        self.type = type
        self.accessible = accessible
        self.hosts = hosts
    }
}

/// One snapshot of a VM, flattened from `snapshot.rootSnapshotList`.
public struct SnapshotInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    public var createTime: Date?
    /// The parent snapshot, nil for a root.
    public var parent: MoRef?
    public init(ref: MoRef, name: String, createTime: Date? = nil, parent: MoRef? = nil) {
        self.ref = ref
        self.name = name
        self.createTime = createTime
        self.parent = parent
    }
}

/// A virtual machine, with what a migration needs to know about it.
public struct VMInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    /// `runtime.host`.
    public var host: MoRef?
    /// The host's cluster (derived from the host).
    public var cluster: MoRef?
    public var resourcePool: MoRef?
    /// `datastore`: every datastore holding the VM's files.
    public var datastores: [MoRef]
    /// `summary.storage.committed`, in bytes: what a Storage vMotion copies.
    public var committedBytes: Int64
    /// `summary.storage.uncommitted`, in bytes.
    public var uncommittedBytes: Int64
    /// `summary.config.memorySizeMB`.
    public var memoryMB: Int
    /// `runtime.powerState`: `poweredOn`, `poweredOff` or `suspended`.
    public var powerState: String
    /// `config.template`.
    public var isTemplate: Bool
    /// Every snapshot, flattened; empty when the VM has none.
    public var snapshots: [SnapshotInfo]
    /// `runtime.consolidationNeeded`.
    public var consolidationNeeded: Bool

    public init(
        ref: MoRef, name: String, host: MoRef? = nil, cluster: MoRef? = nil, resourcePool: MoRef? = nil,
        datastores: [MoRef] = [], committedBytes: Int64 = 0, uncommittedBytes: Int64 = 0, memoryMB: Int = 0,
        powerState: String = "poweredOn", isTemplate: Bool = false, snapshots: [SnapshotInfo] = [],
        consolidationNeeded: Bool = false
    ) {
        self.ref = ref
        self.name = name
        self.host = host
        self.cluster = cluster
        self.resourcePool = resourcePool
        self.datastores = datastores
        self.committedBytes = committedBytes
        self.uncommittedBytes = uncommittedBytes
        self.memoryMB = memoryMB
        self.powerState = powerState
        self.isTemplate = isTemplate
        self.snapshots = snapshots
        self.consolidationNeeded = consolidationNeeded
    }

    /// Whether the VM has at least one snapshot.
    public var hasSnapshots: Bool { !snapshots.isEmpty }
}
