import VCenterModel
import VimXML

/// The properties read for each inventory type and how an `ObjectContent` becomes a
/// record. Pure functions over decoded pieces, so fixtures test them without a server.
enum InventoryDecoding {
    /// VM properties: placement and sizes, snapshots, and the VM's files — its home
    /// (`config.files.vmPathName`), its disks and images (`config.hardware.device`, read with
    /// `deviceSkipRule`), the bytes each file occupies (`layoutEx.file` and `layoutEx.disk`,
    /// not the rest of `layoutEx`) — with what says whether it can move (Fault Tolerance,
    /// connection, VMware Tools) and what a strategy selects by: the folder (`parent`), custom
    /// attributes (`customValue`) and the guest OS.
    static let vmPaths = [
        "name", "runtime.host", "runtime.powerState", "runtime.consolidationNeeded", "datastore", "resourcePool",
        "summary.storage.committed", "summary.storage.uncommitted", "summary.config.memorySizeMB", "config.template", "snapshot",
        "config.files.vmPathName", "config.hardware.device", "layoutEx.file", "layoutEx.disk", "config.ftInfo",
        "runtime.connectionState", "guest.toolsRunningStatus", "parent", "customValue", "config.guestFullName", "config.guestId",
    ]
    /// Host properties, with what `VMotionLink` needs to find the vMotion network's speed.
    static let hostPaths = ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode"] + VMotionLink.paths
    /// Datastore properties; `parent` tells the datastore cluster (a `StoragePod`) it belongs to.
    static let datastorePaths = [
        "summary.name", "summary.capacity", "summary.freeSpace", "summary.type", "summary.accessible", "host", "parent",
    ]
    static let clusterPaths = ["name", "parent", "host"]
    /// Datacenters and folders: names and parents, for the folder paths of VMs (`/dc/vm/prod`).
    static let datacenterPaths = ["name", "parent"]
    static let folderPaths = ["name", "parent"]
    static let resourcePoolPaths = ["name", "owner", "parent"]
    /// Datastore clusters: members, whether Storage DRS runs, and their space.
    static let storagePodPaths = ["name", "childEntity", "podStorageDrsEntry.storageDrsConfig.podConfig.enabled", "summary.capacity", "summary.freeSpace"]

    /// A VM record as decoded, with what only the rest of the inventory turns into `VMInfo`
    /// fields: its parent folder (a path needs the folders' names) and its custom values
    /// (keys that `CustomFieldsManager.field` names). `VMNaming.record` finishes it.
    struct DecodedVM: Sendable {
        var info: VMInfo
        /// `parent`: the VM's folder (nil for a VM in a vApp).
        var folder: MoRef?
        /// `customValue`: (key, value) pairs.
        var customValues: [(key: Int, value: String)] = []
    }

    /// A VM record. Its home datastore (`configDatastore`) is left for `resolveHome`, which
    /// needs datastore names; its folder path and attribute names for `VMNaming`. A VM whose
    /// properties are missing (no permission, orphaned) decodes with what there is: without
    /// devices it has no file layout.
    static func vm(_ object: ObjectContent) -> DecodedVM? {
        guard let ref = object.ref else { return nil }
        var vm = VMInfo(ref: ref, name: ref.value)
        var layout = FileLayout()
        var folder: MoRef?
        var customValues: [(key: Int, value: String)] = []
        object.forEachProperty { name, val in
            switch name {
            case "parent": folder = val.moRef
            case "customValue":
                for item in val.children {
                    if let key = item.child("key")?.int { customValues.append((key, item.child("value")?.text ?? "")) }
                }
            case "config.guestFullName": vm.guestOS = val.text.isEmpty ? nil : val.text
            case "config.guestId": vm.guestId = val.text.isEmpty ? nil : val.text
            case "name": vm.name = val.text
            case "runtime.host": vm.host = val.moRef
            case "runtime.powerState": vm.powerState = val.text
            case "runtime.consolidationNeeded": vm.consolidationNeeded = val.bool ?? false
            case "datastore": vm.datastores = val.children.compactMap(\.moRef)
            case "resourcePool": vm.resourcePool = val.moRef
            case "summary.storage.committed": vm.committedBytes = val.int64 ?? 0
            case "summary.storage.uncommitted": vm.uncommittedBytes = val.int64 ?? 0
            case "summary.config.memorySizeMB": vm.memoryMB = val.int ?? 0
            case "config.template": vm.isTemplate = val.bool ?? false
            case "snapshot": vm.snapshots = snapshots(val)
            case "config.files.vmPathName": vm.vmPathName = val.text
            case "config.hardware.device": devices(val, disks: &vm.disks, media: &vm.media)
            case "layoutEx.file": layoutFiles(val, into: &layout)
            case "layoutEx.disk": layoutDisks(val, into: &layout)
            case "config.ftInfo": vm.faultToleranceRole = val.child("role")?.int
            case "runtime.connectionState": if !val.text.isEmpty { vm.connectionState = val.text }
            case "guest.toolsRunningStatus": vm.toolsRunningStatus = val.text.isEmpty ? nil : val.text
            default: break
            }
        }
        vm.configBytes = layout.apply(to: &vm.disks)
        return DecodedVM(info: vm, folder: folder, customValues: customValues)
    }

    /// The names custom attribute keys stand for: `CustomFieldsManager.field` (every
    /// `CustomFieldDef`'s key and name).
    static func customFieldNames(_ object: ObjectContent) -> [Int: String] {
        var names: [Int: String] = [:]
        object.forEachProperty { path, val in
            guard path == "field" else { return }
            for def in val.children {
                if let key = def.child("key")?.int, let name = def.child("name")?.text { names[key] = name }
            }
        }
        return names
    }

    /// Flattens `VirtualMachineSnapshotInfo.rootSnapshotList` (a tree) in depth-first order.
    static func snapshots(_ info: XMLElement) -> [SnapshotInfo] {
        var out: [SnapshotInfo] = []
        func visit(_ node: XMLElement, parent: MoRef?) {
            var ref: MoRef?
            var name = ""
            var created: XMLElement?
            for child in node.children {
                switch child.name {
                case "snapshot": ref = child.moRef
                case "name": name = child.text
                case "createTime": created = child
                default: break
                }
            }
            guard let ref else { return }
            out.append(SnapshotInfo(ref: ref, name: name, createTime: created?.date, parent: parent))
            for child in node.children where child.name == "childSnapshotList" { visit(child, parent: ref) }
        }
        for root in info.children where root.name == "rootSnapshotList" { visit(root, parent: nil) }
        return out
    }

    static func host(_ object: ObjectContent) -> HostInfo? {
        guard let ref = object.ref else { return nil }
        var host = HostInfo(ref: ref, name: ref.value)
        var link = VMotionLink()
        object.forEachProperty { name, val in
            switch name {
            case "name": host.name = val.text
            case "parent":
                if let parent = val.moRef, parent.type == "ClusterComputeResource" { host.cluster = parent }
            case "runtime.connectionState": host.connectionState = val.text
            case "runtime.inMaintenanceMode": host.inMaintenanceMode = val.bool ?? false
            default: link.add(name, val)
            }
        }
        host.vmotionLinkSpeedMbps = link.speedMbps
        return host
    }

    static func datastore(_ object: ObjectContent) -> DatastoreInfo? {
        guard let ref = object.ref else { return nil }
        var ds = DatastoreInfo(ref: ref, name: ref.value, capacityBytes: 0, freeBytes: 0)
        object.forEachProperty { name, val in
            switch name {
            case "summary.name": ds.name = val.text
            case "summary.capacity": ds.capacityBytes = val.int64 ?? 0
            case "summary.freeSpace": ds.freeBytes = val.int64 ?? 0
            case "summary.type": ds.type = val.text
            case "summary.accessible": ds.accessible = val.bool ?? false
            case "host": ds.hosts = val.children.compactMap { $0.child("key")?.moRef }
            case "parent": if let parent = val.moRef, parent.type == "StoragePod" { ds.datastoreCluster = parent }
            default: break
            }
        }
        return ds
    }

    /// The structure pass: datacenters, folders (for parent chains), clusters, resource pools
    /// and datastore clusters.
    struct Structure {
        var datacenters: [DatacenterInfo] = []
        var clusters: [(info: ClusterInfo, parent: MoRef?)] = []
        var folderParents: [MoRef: MoRef] = [:]
        /// Folders' and datacenters' names, for `folderPaths`.
        var names: [MoRef: String] = [:]
        var resourcePools: [ResourcePoolInfo] = []
        var datastoreClusters: [DatastoreClusterInfo] = []

        mutating func add(_ object: ObjectContent) {
            guard let ref = object.ref else { return }
            switch ref.type {
            case "Datacenter":
                var name = ref.value
                object.forEachProperty { p, val in
                    switch p {
                    case "name": name = val.text
                    case "parent": if let parent = val.moRef { folderParents[ref] = parent }
                    default: break
                    }
                }
                datacenters.append(DatacenterInfo(ref: ref, name: name))
                names[ref] = name
            case "Folder":
                object.forEachProperty { p, val in
                    switch p {
                    case "name": names[ref] = val.text
                    case "parent": if let parent = val.moRef { folderParents[ref] = parent }
                    default: break
                    }
                }
            case "ClusterComputeResource":
                var info = ClusterInfo(ref: ref, name: ref.value)
                var parent: MoRef?
                object.forEachProperty { p, val in
                    switch p {
                    case "name": info.name = val.text
                    case "parent": parent = val.moRef
                    case "host": info.hosts = val.children.compactMap(\.moRef)
                    default: break
                    }
                }
                clusters.append((info, parent))
            case "ResourcePool", "VirtualApp":
                var pool = ResourcePoolInfo(ref: ref, name: ref.value)
                object.forEachProperty { p, val in
                    switch p {
                    case "name": pool.name = val.text
                    case "owner": pool.owner = val.moRef
                    case "parent": if let parent = val.moRef, parent.type == "ResourcePool" || parent.type == "VirtualApp" { pool.parent = parent }
                    default: break
                    }
                }
                resourcePools.append(pool)
            case "StoragePod":
                var pod = DatastoreClusterInfo(ref: ref, name: ref.value)
                object.forEachProperty { p, val in
                    switch p {
                    case "name": pod.name = val.text
                    case "childEntity": pod.datastores = val.children.compactMap(\.moRef).filter { $0.type == "Datastore" }
                    case "podStorageDrsEntry.storageDrsConfig.podConfig.enabled": pod.sdrsEnabled = val.bool ?? false
                    case "summary.capacity": pod.capacityBytes = val.int64 ?? 0
                    case "summary.freeSpace": pod.freeBytes = val.int64 ?? 0
                    case "parent": if let parent = val.moRef { folderParents[ref] = parent }
                    default: break
                    }
                }
                datastoreClusters.append(pod)
            default:
                break
            }
        }

        /// Every folder's inventory path, as govc prints it (`/dc-1/vm/prod/db`): its name after
        /// those of the folders and datacenter above it, up to the root folder, which the
        /// container view does not list and the path leaves out. Each folder is walked once
        /// (parents are memoized), so thousands of VMs in a few folders cost a dictionary look-up
        /// each.
        func folderPaths() -> [MoRef: String] {
            var paths: [MoRef: String] = [:]
            func path(_ ref: MoRef, depth: Int) -> String? {
                if let known = paths[ref] { return known }
                guard let name = names[ref], depth < 64 else { return nil }
                let above = folderParents[ref].flatMap { path($0, depth: depth + 1) } ?? ""
                let full = above + "/" + name
                paths[ref] = full
                return full
            }
            for (ref, _) in names where ref.type != "Datacenter" { _ = path(ref, depth: 0) }
            return paths.filter { $0.key.type != "Datacenter" }
        }

        /// Clusters with their datacenter found by walking up the folder chain.
        func resolvedClusters() -> [ClusterInfo] {
            clusters.map { entry in
                var info = entry.info
                var cursor = entry.parent
                var steps = 0
                while let current = cursor, current.type != "Datacenter", steps < 64 {
                    cursor = folderParents[current]
                    steps += 1
                }
                info.datacenter = cursor?.type == "Datacenter" ? cursor : nil
                return info
            }
        }
    }
}
