import Foundation

/// The JSON form of an inventory, as `moonmotion inventory --json` writes it and
/// `moonmotion plan --inventory` reads it back. References appear twice: by name
/// (`"host": "esx-01"`) for people and by id (`"host_moref": "host-12"`) for exact reloads.
/// When the `_moref` keys are missing (a hand-written file), names are resolved instead.
///
/// Field names are the Lua fields' (`power`, `committed`, `tools`, `home`, a disk's
/// `capacity` — `vm.power` in a script is `"power"` in the file). Files written before
/// that used `power_state`, `committed_bytes`, …: the reader still accepts those names
/// (`InventoryDocument`'s `legacy` fields), the writer never writes them.
extension Inventory {
    /// Encodes the inventory as one JSON document (sorted keys, pretty-printed when asked).
    public func jsonData(pretty: Bool = false) throws -> Data {
        try Self.jsonEncoder(pretty: pretty).encode(InventoryDocument(self))
    }

    /// Writes the same document as `jsonData()` (compact) to `write`, in pieces of about
    /// `chunk` bytes: everything but the VMs first (through `JSONEncoder`), then each VM written
    /// straight from its record by `InventoryJSONWriter`, which writes the encoder's bytes
    /// without its per-VM tree of boxed values: for 10,000 VMs with their disks, the encoder
    /// was a fifth of `moonmotion inventory --json`'s CPU. Only one chunk is held at a time,
    /// not the whole document (10–15 MB for 10,000 VMs).
    public func writeJSON(chunk: Int = 1 << 16, to write: (Data) throws -> Void) throws {
        let head = try Self.jsonEncoder(pretty: false).encode(InventoryDocument(self, withVMs: false))
        // Keys are sorted and `vms` sorts last: the document ends `"vms":[]}`; the VMs go
        // between the brackets. (Should the encoder ever order keys otherwise, the document is
        // written whole, still correct.)
        let tail = Data(#""vms":[]}"#.utf8)
        guard head.count >= tail.count, head.suffix(tail.count).elementsEqual(tail) else {
            try write(try jsonData())
            return
        }
        var out = InventoryJSONWriter(reservingCapacity: chunk + chunk / 4)
        out.bytes.append(contentsOf: head.dropLast(3))  // up to `"vms":`
        out.beginArray()
        for vm in vms {
            out.vm(vm, in: self)
            if out.bytes.count >= chunk {
                try write(Data(out.bytes))
                out.bytes.removeAll(keepingCapacity: true)
            }
        }
        out.endArray()
        out.endObject()
        try write(Data(out.bytes))
    }

    /// The encoder of both forms: sorted keys (so the document diffs well), ISO 8601 dates.
    static func jsonEncoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Decodes an inventory from `moonmotion inventory --json` output.
    /// Throws an error naming the first reference that cannot be resolved.
    public init(jsonData data: Data) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let doc = try decoder.decode(InventoryDocument.self, from: data)
        self = try doc.inventory()
    }
}

/// An inventory that could not be read back from JSON.
public struct InventoryDecodingError: Error, CustomStringConvertible {
    public var description: String
}

struct InventoryDocument: Codable {
    struct Datacenter: Codable { var name: String; var moref: String }
    struct Cluster: Codable {
        var name: String; var moref: String; var datacenter: String?; var hosts: [String]
    }
    struct Host: Codable {
        var name: String; var moref: String; var cluster: String?; var cluster_moref: String?
        var connection_state: String?; var maintenance: Bool?; var vmotion_link_speed_mbps: Int?
        // legacy (read only)
        var in_maintenance_mode: Bool?
    }
    struct Datastore: Codable {
        var name: String; var moref: String; var capacity: Int64?; var free: Int64?
        var type: String?; var accessible: Bool?; var hosts: [String]?; var host_morefs: [String]?
        var vm_count: Int?; var committed: Int64?
        var datastore_cluster: String?; var datastore_cluster_moref: String?
        // legacy (read only)
        var capacity_bytes: Int64?; var free_bytes: Int64?; var committed_bytes: Int64?
    }
    struct DatastoreCluster: Codable {
        var name: String; var moref: String; var datastores: [String]; var datastore_morefs: [String]?
        var sdrs_enabled: Bool?; var capacity: Int64?; var free: Int64?
        // legacy (read only)
        var capacity_bytes: Int64?; var free_bytes: Int64?
    }
    struct Disk: Codable {
        var key: Int; var label: String?; var file: String?; var datastore: String?; var datastore_moref: String?
        var capacity: Int64?; var used: Int64?; var backing: String?; var thin: Bool?; var eager_scrub: Bool?
        var sharing: String?; var mode: String?
        // legacy (read only)
        var capacity_bytes: Int64?; var used_bytes: Int64?
    }
    struct Media: Codable {
        var key: Int; var label: String?; var file: String; var datastore: String?; var datastore_moref: String?
    }
    struct Snapshot: Codable { var name: String; var moref: String; var create_time: Date?; var parent: String? }
    struct VM: Codable {
        var name: String; var moref: String
        var host: String?; var host_moref: String?
        var cluster: String?; var cluster_moref: String?
        var pool: String?
        var folder: String?
        var datastores: [String]?; var datastore_morefs: [String]?
        var committed: Int64?; var uncommitted: Int64?; var memory_mb: Int?
        var power: String?; var template: Bool?; var snapshots: [Snapshot]?
        var consolidation_needed: Bool?
        var home: String?; var home_moref: String?; var vm_path: String?; var config_bytes: Int64?
        var disks: [Disk]?; var media: [Media]?; var fault_tolerance: String?; var connection_state: String?
        var tools: String?
        var guest_os: String?; var guest_id: String?
        var attributes: [String: String]?
        /// `category:tag`, as Lua's `vm.tags`; absent when tags were not read, `[]` for none.
        var tags: [String]?
        // legacy (read only)
        var resource_pool: String?; var committed_bytes: Int64?; var uncommitted_bytes: Int64?; var power_state: String?
        var config_datastore: String?; var config_datastore_moref: String?; var fault_tolerance_role: Int?
        var tools_running_status: String?
    }
    struct ResourcePool: Codable { var name: String; var moref: String; var owner_moref: String?; var parent_moref: String? }
    var about: AboutInfo?
    var datacenters: [Datacenter]?
    var resource_pools: [ResourcePool]?
    var clusters: [Cluster]
    var hosts: [Host]
    var datastores: [Datastore]
    var datastore_clusters: [DatastoreCluster]?
    var vms: [VM]
    /// `Inventory.tagsUnread`.
    var tags_unread: String?

    /// The document of `inv`; without its VMs (`vms` empty) when `withVMs` is false.
    init(_ inv: Inventory, withVMs: Bool = true) {
        about = inv.about
        datacenters = inv.datacenters.map { Datacenter(name: $0.name, moref: $0.ref.value) }
        resource_pools = inv.resourcePools.isEmpty ? nil : inv.resourcePools.map {
            ResourcePool(name: $0.name, moref: $0.ref.value, owner_moref: $0.owner?.description, parent_moref: $0.parent?.value)
        }
        clusters = inv.clusters.map { c in
            Cluster(name: c.name, moref: c.ref.value, datacenter: c.datacenter.map { inv.name(of: $0) }, hosts: c.hosts.map { inv.name(of: $0) })
        }
        hosts = inv.hosts.map { h in
            Host(name: h.name, moref: h.ref.value, cluster: h.cluster.map { inv.name(of: $0) }, cluster_moref: h.cluster?.value,
                 connection_state: h.connectionState, maintenance: h.inMaintenanceMode, vmotion_link_speed_mbps: h.vmotionLinkSpeedMbps)
        }
        var vmCount: [MoRef: Int] = [:]
        var committed: [MoRef: Int64] = [:]
        for vm in inv.vms {
            for ds in vm.datastores {
                vmCount[ds, default: 0] += 1
                committed[ds, default: 0] += vm.committedBytes / Int64(max(vm.datastores.count, 1))
            }
        }
        datastores = inv.datastores.map { d in
            Datastore(name: d.name, moref: d.ref.value, capacity: d.capacityBytes, free: d.freeBytes, type: d.type,
                      accessible: d.accessible, hosts: d.hosts.map { inv.name(of: $0) }, host_morefs: d.hosts.map(\.value),
                      vm_count: vmCount[d.ref] ?? 0, committed: committed[d.ref] ?? 0,
                      datastore_cluster: d.datastoreCluster.map { inv.name(of: $0) }, datastore_cluster_moref: d.datastoreCluster?.value)
        }
        datastore_clusters = inv.datastoreClusters.isEmpty ? nil : inv.datastoreClusters.map { c in
            DatastoreCluster(name: c.name, moref: c.ref.value, datastores: c.datastores.map { inv.name(of: $0) }, datastore_morefs: c.datastores.map(\.value),
                             sdrs_enabled: c.sdrsEnabled, capacity: c.capacityBytes, free: c.freeBytes)
        }
        vms = withVMs ? inv.vms.map { VM($0, in: inv) } : []
        tags_unread = inv.tagsUnread
    }

    func inventory() throws -> Inventory {
        let dcs = (datacenters ?? []).map { DatacenterInfo(ref: MoRef("Datacenter", $0.moref), name: $0.name) }
        let hostByName = Dictionary(hosts.map { ($0.name, MoRef("HostSystem", $0.moref)) }, uniquingKeysWith: { a, _ in a })
        let clusterByName = Dictionary(clusters.map { ($0.name, MoRef("ClusterComputeResource", $0.moref)) }, uniquingKeysWith: { a, _ in a })
        let dsByName = Dictionary(datastores.map { ($0.name, MoRef("Datastore", $0.moref)) }, uniquingKeysWith: { a, _ in a })
        func resolve(_ name: String?, _ moref: String?, _ type: String, _ byName: [String: MoRef], _ what: String) throws -> MoRef? {
            if let moref { return MoRef(type, moref) }
            guard let name else { return nil }
            guard let ref = byName[name] else { throw InventoryDecodingError(description: "inventory JSON: \(what) refers to unknown name '\(name)'") }
            return ref
        }
        let cl = try clusters.map { c in
            ClusterInfo(ref: MoRef("ClusterComputeResource", c.moref), name: c.name,
                        datacenter: c.datacenter.flatMap { n in dcs.first(where: { $0.name == n })?.ref },
                        hosts: try c.hosts.map { n in
                            guard let r = hostByName[n] else { throw InventoryDecodingError(description: "inventory JSON: cluster '\(c.name)' lists unknown host '\(n)'") }
                            return r
                        })
        }
        let hs = try hosts.map { h in
            HostInfo(ref: MoRef("HostSystem", h.moref), name: h.name,
                     cluster: try resolve(h.cluster, h.cluster_moref, "ClusterComputeResource", clusterByName, "host '\(h.name)'"),
                     connectionState: h.connection_state ?? "connected", inMaintenanceMode: h.maintenance ?? h.in_maintenance_mode ?? false,
                     vmotionLinkSpeedMbps: h.vmotion_link_speed_mbps)
        }
        let podByName = Dictionary((datastore_clusters ?? []).map { ($0.name, MoRef("StoragePod", $0.moref)) }, uniquingKeysWith: { a, _ in a })
        let ds = try datastores.map { d in
            DatastoreInfo(ref: MoRef("Datastore", d.moref), name: d.name, capacityBytes: d.capacity ?? d.capacity_bytes ?? 0,
                          freeBytes: d.free ?? d.free_bytes ?? 0,
                          type: d.type ?? "VMFS", accessible: d.accessible ?? true,
                          hosts: try d.host_morefs.map { $0.map { MoRef("HostSystem", $0) } } ?? (d.hosts ?? []).map { n in
                              guard let r = hostByName[n] else { throw InventoryDecodingError(description: "inventory JSON: datastore '\(d.name)' lists unknown host '\(n)'") }
                              return r
                          },
                          datastoreCluster: try resolve(d.datastore_cluster, d.datastore_cluster_moref, "StoragePod", podByName, "datastore '\(d.name)'"))
        }
        let pods = try (datastore_clusters ?? []).map { c in
            DatastoreClusterInfo(ref: MoRef("StoragePod", c.moref), name: c.name,
                                 datastores: try c.datastore_morefs.map { $0.map { MoRef("Datastore", $0) } } ?? c.datastores.map { n in
                                     guard let r = dsByName[n] else { throw InventoryDecodingError(description: "inventory JSON: datastore cluster '\(c.name)' lists unknown datastore '\(n)'") }
                                     return r
                                 },
                                 sdrsEnabled: c.sdrs_enabled ?? false, capacityBytes: c.capacity ?? c.capacity_bytes ?? 0,
                                 freeBytes: c.free ?? c.free_bytes ?? 0)
        }
        func datastore(_ name: String?, _ moref: String?, _ what: String) throws -> MoRef? {
            try resolve(name, moref, "Datastore", dsByName, what)
        }
        let vs = try vms.map { v in
            let dsRefs: [MoRef] = try v.datastore_morefs.map { $0.map { MoRef("Datastore", $0) } } ?? (v.datastores ?? []).map { n in
                guard let r = dsByName[n] else { throw InventoryDecodingError(description: "inventory JSON: VM '\(v.name)' is on unknown datastore '\(n)'") }
                return r
            }
            return VMInfo(
                ref: MoRef("VirtualMachine", v.moref), name: v.name,
                host: try resolve(v.host, v.host_moref, "HostSystem", hostByName, "VM '\(v.name)'"),
                cluster: try resolve(v.cluster, v.cluster_moref, "ClusterComputeResource", clusterByName, "VM '\(v.name)'"),
                resourcePool: (v.pool ?? v.resource_pool).map { MoRef("ResourcePool", $0) },
                datastores: dsRefs, committedBytes: v.committed ?? v.committed_bytes ?? 0, uncommittedBytes: v.uncommitted ?? v.uncommitted_bytes ?? 0,
                memoryMB: v.memory_mb ?? 0, powerState: try VM.powerState(v.power ?? v.power_state, vm: v.name), isTemplate: v.template ?? false,
                snapshots: (v.snapshots ?? []).map { SnapshotInfo(ref: MoRef("VirtualMachineSnapshot", $0.moref), name: $0.name, createTime: $0.create_time, parent: $0.parent.map { MoRef("VirtualMachineSnapshot", $0) }) },
                consolidationNeeded: v.consolidation_needed ?? false,
                configDatastore: try datastore(v.home ?? v.config_datastore, v.home_moref ?? v.config_datastore_moref, "VM '\(v.name)' home"),
                vmPathName: v.vm_path ?? "", configBytes: v.config_bytes ?? 0,
                disks: try (v.disks ?? []).map { d in
                    guard let backing = DiskBacking(rawValue: d.backing ?? "flat") else {
                        throw InventoryDecodingError(description: "inventory JSON: VM '\(v.name)' disk \(d.key) has unknown backing '\(d.backing ?? "")' (flat, rdm_virtual or rdm_physical)")
                    }
                    return VirtualDiskInfo(key: d.key, label: d.label ?? "", fileName: d.file ?? "",
                                           datastore: try datastore(d.datastore, d.datastore_moref, "VM '\(v.name)' disk \(d.key)"),
                                           capacityBytes: d.capacity ?? d.capacity_bytes ?? d.used ?? d.used_bytes ?? 0,
                                           usedBytes: d.used ?? d.used_bytes ?? d.capacity ?? d.capacity_bytes ?? 0,
                                           backing: backing, thinProvisioned: d.thin ?? false, eagerlyScrub: d.eager_scrub ?? false,
                                           sharing: d.sharing, diskMode: d.mode ?? "persistent")
                },
                media: try (v.media ?? []).map { m in
                    VirtualMediaInfo(key: m.key, label: m.label ?? "CD/DVD drive", fileName: m.file,
                                     datastore: try datastore(m.datastore, m.datastore_moref, "VM '\(v.name)' media \(m.key)"))
                },
                faultToleranceRole: try v.fault_tolerance.map { try VM.faultToleranceRole($0, vm: v.name) } ?? v.fault_tolerance_role,
                connectionState: v.connection_state ?? "connected", toolsRunningStatus: v.tools ?? v.tools_running_status,
                folderPath: v.folder, customAttributes: v.attributes ?? [:], guestOS: v.guest_os, guestId: v.guest_id,
                tags: try v.tags.map { list in
                    try list.map { text in
                        guard let tag = VMTag(parsing: text) else {
                            throw InventoryDecodingError(description: "inventory JSON: VM '\(v.name)' has tag '\(text)', not \"category:tag\"")
                        }
                        return tag
                    }.sorted()
                })
        }
        let pools = (resource_pools ?? []).map { p in
            ResourcePoolInfo(ref: MoRef("ResourcePool", p.moref), name: p.name, owner: p.owner_moref.flatMap { MoRef(parsing: $0) },
                             parent: p.parent_moref.map { MoRef("ResourcePool", $0) })
        }
        var inventory = Inventory(about: about, datacenters: dcs, clusters: cl, hosts: hs, datastores: ds, vms: vs, resourcePools: pools,
                                  datastoreClusters: pods)
        inventory.tagsUnread = tags_unread
        return inventory
    }
}

extension InventoryDocument.VM {
    /// The JSON form of `v`, references named from `inv`.
    init(_ v: VMInfo, in inv: Inventory) {
        self.init(name: v.name, moref: v.ref.value,
            host: v.host.map { inv.name(of: $0) }, host_moref: v.host?.value,
            cluster: v.cluster.map { inv.name(of: $0) }, cluster_moref: v.cluster?.value,
            pool: v.resourcePool?.value, folder: v.folderPath,
            datastores: v.datastores.map { inv.name(of: $0) }, datastore_morefs: v.datastores.map(\.value),
            committed: v.committedBytes, uncommitted: v.uncommittedBytes, memory_mb: v.memoryMB,
            power: v.powerState, template: v.isTemplate,
            snapshots: v.snapshots.map { InventoryDocument.Snapshot(name: $0.name, moref: $0.ref.value, create_time: $0.createTime, parent: $0.parent?.value) },
            consolidation_needed: v.consolidationNeeded,
            home: v.configDatastore.map { inv.name(of: $0) }, home_moref: v.configDatastore?.value,
            vm_path: v.vmPathName.isEmpty ? nil : v.vmPathName, config_bytes: v.hasFileLayout ? v.configBytes : nil,
            disks: v.disks.isEmpty ? nil : v.disks.map { d in
                InventoryDocument.Disk(key: d.key, label: d.label, file: d.fileName, datastore: d.datastore.map { inv.name(of: $0) }, datastore_moref: d.datastore?.value,
                    capacity: d.capacityBytes, used: d.usedBytes, backing: d.backing.rawValue, thin: d.thinProvisioned,
                    eager_scrub: d.eagerlyScrub, sharing: d.sharing, mode: d.diskMode)
            },
            media: v.media.isEmpty ? nil : v.media.map { m in
                InventoryDocument.Media(key: m.key, label: m.label, file: m.fileName, datastore: m.datastore.map { inv.name(of: $0) }, datastore_moref: m.datastore?.value)
            },
            fault_tolerance: v.faultToleranceRole.map(Self.faultTolerance(role:)), connection_state: v.connectionState, tools: v.toolsRunningStatus,
            guest_os: v.guestOS, guest_id: v.guestId, attributes: v.customAttributes.isEmpty ? nil : v.customAttributes,
            tags: v.tags.map { $0.map(\.description) })
    }

    /// `"primary"` / `"secondary"`, as `vm.fault_tolerance` says it in Lua.
    static func faultTolerance(role: Int) -> String {
        role == 1 ? "primary" : "secondary"
    }

    /// The role number `VMInfo.faultToleranceRole` holds (vSphere's: 1 primary, 2 and up
    /// secondaries).
    static func faultToleranceRole(_ text: String, vm: String) throws -> Int {
        switch text {
        case "primary": return 1
        case "secondary": return 2
        default: throw InventoryDecodingError(description: "inventory JSON: VM '\(vm)' has fault_tolerance '\(text)' (primary or secondary)")
        }
    }

    /// vSphere's spelling of a power state, from the file's (either spelling `VMPowerState`
    /// accepts: `poweredOff`, `PoweredOff`, `off`); absent: powered on, as before.
    static func powerState(_ text: String?, vm: String) throws -> String {
        guard let text else { return "poweredOn" }
        guard let state = VMPowerState(text) else {
            throw InventoryDecodingError(description: "inventory JSON: VM '\(vm)' has power '\(text)' (\(VMPowerState.accepted))")
        }
        return state.rawValue
    }
}
