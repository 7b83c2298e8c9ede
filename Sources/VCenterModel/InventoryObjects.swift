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
    /// The datastore cluster (`StoragePod`) it belongs to, if any.
    public var datastoreCluster: MoRef?

    public init(ref: MoRef, name: String, capacityBytes: Int64, freeBytes: Int64, type: String = "VMFS", accessible: Bool = true, hosts: [MoRef] = [],
                datastoreCluster: MoRef? = nil) {
        self.ref = ref
        self.name = name
        self.capacityBytes = capacityBytes
        self.freeBytes = freeBytes
        self.type = type
        self.accessible = accessible
        self.hosts = hosts
        self.datastoreCluster = datastoreCluster
    }
}

/// A datastore cluster (`StoragePod`): a folder of datastores that Storage DRS may place VMs on.
public struct DatastoreClusterInfo: Sendable, Hashable {
    public var ref: MoRef
    public var name: String
    /// Its member datastores (`childEntity`).
    public var datastores: [MoRef]
    /// `podStorageDrsEntry.storageDrsConfig.podConfig.enabled`: whether Storage DRS runs on it
    /// (`RecommendDatastores` answers only for an enabled cluster).
    public var sdrsEnabled: Bool
    /// `summary.capacity` and `summary.freeSpace` (the members' sums).
    public var capacityBytes: Int64
    public var freeBytes: Int64

    public init(ref: MoRef, name: String, datastores: [MoRef] = [], sdrsEnabled: Bool = false, capacityBytes: Int64 = 0, freeBytes: Int64 = 0) {
        self.ref = ref
        self.name = name
        self.datastores = datastores
        self.sdrsEnabled = sdrsEnabled
        self.capacityBytes = capacityBytes
        self.freeBytes = freeBytes
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
    /// The datastore of the VM's home (`config.files.vmPathName`): `.vmx`, `.nvram`, logs, swap.
    /// Nil when vCenter did not say (then `files` treats the first of `datastores` as home).
    public var configDatastore: MoRef?
    /// `config.files.vmPathName`: `[legacy-01] db-01/db-01.vmx`.
    public var vmPathName: String
    /// The bytes of the VM's home files (everything in `layoutEx` that belongs to no disk).
    public var configBytes: Int64
    /// The virtual disks, in device order. Empty when vCenter did not say (an older inventory
    /// file): the VM then moves as one piece of `committedBytes`.
    public var disks: [VirtualDiskInfo]
    /// Connected CD/DVD and floppy images (files that stay where they are when the VM moves).
    public var media: [VirtualMediaInfo]
    /// `config.ftInfo.role` when the VM is protected by Fault Tolerance (1: primary), else nil.
    public var faultToleranceRole: Int?
    /// `runtime.connectionState`: `connected`, `disconnected`, `orphaned`, `inaccessible` or `invalid`.
    public var connectionState: String
    /// `guest.toolsRunningStatus`: `guestToolsRunning`, `guestToolsNotRunning`, … (nil: unknown).
    public var toolsRunningStatus: String?
    /// The inventory path of the VM's folder, as govc prints it: `/DC1/vm/Finance/Prod` — the
    /// datacenter (behind any folders holding it) and its VM folder (`vm`) included, the root
    /// folder (`Datacenters`) not; names as vCenter stores them (`/` in a name is `%2f`). The
    /// VM's own name is not part of it. Nil when unknown (an older inventory file, a VM in a
    /// vApp, whose parent is no folder).
    public var folderPath: String?
    /// Custom attributes (`customValue`, named by `CustomFieldsManager.field`): name → value.
    /// Only attributes with a value on this VM; empty in an older inventory file.
    public var customAttributes: [String: String]
    /// The guest operating system the VM is configured for, as vSphere names it
    /// (`config.guestFullName`: `Microsoft Windows Server 2019 (64-bit)`); nil when unknown.
    public var guestOS: String?
    /// `config.guestId`: `windows2019srv_64Guest`, `rhel9_64Guest`, …; nil when unknown.
    public var guestId: String?
    /// The vSphere tags attached to the VM, sorted; empty when it has none. Nil when they were
    /// not read — the vCenter's Automation (REST) API did not answer (`Inventory.tagsUnread`
    /// says why), an ESXi host, an inventory file saved without them — so "no tags" is never
    /// confused with "tags unknown".
    public var tags: [VMTag]?

    public init(
        ref: MoRef, name: String, host: MoRef? = nil, cluster: MoRef? = nil, resourcePool: MoRef? = nil,
        datastores: [MoRef] = [], committedBytes: Int64 = 0, uncommittedBytes: Int64 = 0, memoryMB: Int = 0,
        powerState: String = "poweredOn", isTemplate: Bool = false, snapshots: [SnapshotInfo] = [],
        consolidationNeeded: Bool = false, configDatastore: MoRef? = nil, vmPathName: String = "", configBytes: Int64 = 0,
        disks: [VirtualDiskInfo] = [], media: [VirtualMediaInfo] = [], faultToleranceRole: Int? = nil,
        connectionState: String = "connected", toolsRunningStatus: String? = nil,
        folderPath: String? = nil, customAttributes: [String: String] = [:], guestOS: String? = nil, guestId: String? = nil,
        tags: [VMTag]? = nil
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
        self.configDatastore = configDatastore
        self.vmPathName = vmPathName
        self.configBytes = configBytes
        self.disks = disks
        self.media = media
        self.faultToleranceRole = faultToleranceRole
        self.connectionState = connectionState
        self.toolsRunningStatus = toolsRunningStatus
        self.folderPath = folderPath
        self.customAttributes = customAttributes
        self.guestOS = guestOS
        self.guestId = guestId
        self.tags = tags
    }

    /// Whether the VM has at least one snapshot.
    public var hasSnapshots: Bool { !snapshots.isEmpty }

    /// Whether the record knows where each file is (its home and its disks), so a move can
    /// place them one by one. Without it the VM moves as one piece.
    public var hasFileLayout: Bool { !disks.isEmpty }

    /// Whether the VM is not running (powered off, suspended, or a template): moving it is a
    /// cold migration, which vSphere charges as a provisioning operation, not a Storage vMotion.
    public var isCold: Bool { isTemplate || powerState != "poweredOn" }

    /// The VM's movable files: its home, then each disk, with where each is and its bytes. A
    /// record without a file layout gives one piece: its home on the first datastore holding all
    /// of `committedBytes`.
    public var files: [VMFile] {
        let home = configDatastore ?? datastores.first
        guard hasFileLayout else {
            return [VMFile(id: .config, label: "config", datastore: home, bytes: committedBytes)]
        }
        var out = [VMFile(id: .config, label: "config", datastore: home, bytes: configBytes)]
        out.reserveCapacity(disks.count + 1)
        for d in disks { out.append(VMFile(id: .disk(d.key), label: d.label, datastore: d.datastore, bytes: d.usedBytes)) }
        return out
    }

    /// The disk with device key `key`.
    public func disk(_ key: Int) -> VirtualDiskInfo? { disks.first { $0.key == key } }

    /// Records that `file` now lives on `datastore` (after a move), keeping `datastores` (every
    /// datastore holding a file or an image) in step.
    public mutating func place(_ file: VMFileID, on datastore: MoRef, format: DiskFormat? = nil) {
        switch file {
        case .config:
            configDatastore = datastore
        case .disk(let key):
            guard let i = disks.firstIndex(where: { $0.key == key }) else { return }
            disks[i].datastore = datastore
            if let format, disks[i].backing == .flat || disks[i].backing == .rdmVirtual {
                let copy = disks[i].copy(to: format)
                disks[i].backing = .flat
                disks[i].thinProvisioned = format == .thin
                disks[i].eagerlyScrub = format == .eager
                disks[i].usedBytes = copy.space
            }
        }
        recomputeDatastores()
    }

    /// Recomputes `datastores` from the home, the disks and the images (in that order, without repeats).
    public mutating func recomputeDatastores() {
        guard hasFileLayout else { return }
        var seen: [MoRef] = []
        for ds in [configDatastore] + disks.map(\.datastore) + media.map(\.datastore) {
            if let ds, !seen.contains(ds) { seen.append(ds) }
        }
        datastores = seen
        committedBytes = configBytes + disks.reduce(0) { $0 + $1.usedBytes }
    }
}
