import Foundation
import Testing
import VCenterModel

/// `Inventory.writeJSON` writes the VMs with its own writer, not `JSONEncoder`: its bytes must be
/// `jsonData()`'s (the encoder's) for every kind of field and awkward text, and `plan
/// --inventory`'s reader must read them back as it reads the encoder's.
@Suite struct InventoryJSONWriterTests {
    /// Text the escaping must get right: quotes, backslashes, slashes (not escaped), every
    /// control character (the short escapes and `\u00XX`), DEL, non-ASCII and emoji (left as
    /// UTF-8), a combining accent and a CR LF pair (one Character, two bytes).
    static let awkward: [String] = [
        #"quote " and "quoted""#, #"back\slash \\ \"#, "/vmfs/volumes/ds 1/vm/vm.vmx", "",
        String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{7F}",
        "tab\tnew\nline\r\nform\u{0C}back\u{08}", "café Ünïcødé 日本語 数据", "emoji 🚀👩‍👩‍👧 flag 🇫🇮", "e\u{301} combining",
        "</script> & <tag> 'apostrophe'", "\u{2028}\u{2029} line separators", "\u{FEFF}bom",
    ]

    static let dc = MoRef("Datacenter", "datacenter-1")
    static let cluster = MoRef("ClusterComputeResource", "domain-c7")
    static let hosts = [MoRef("HostSystem", "host-1"), MoRef("HostSystem", "host-2")]
    static let ds = [MoRef("Datastore", "datastore-1"), MoRef("Datastore", "datastore-2"), MoRef("Datastore", "datastore-3")]
    static let pod = MoRef("StoragePod", "group-p1")
    static let pool = MoRef("ResourcePool", "resgroup-8")

    /// An inventory with every VM field absent in one VM and present in another, with the
    /// awkward text in names, paths, attributes and tags.
    static func inventory(createTimes: [Date?] = [Date(timeIntervalSince1970: 1_700_000_000), nil]) -> Inventory {
        var vms: [VMInfo] = []
        // The barest VM: every optional absent, empty lists.
        vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-1"), name: "bare"))
        // Every field present, several disks (flat thin, eager, both RDMs, shared), media,
        // snapshots with and without parents and times, extreme numbers.
        let disks = [
            VirtualDiskInfo(key: 2000, label: "Hard disk 1", fileName: "[ds \"1\"] full/full.vmdk", datastore: ds[0], capacityBytes: Int64.max,
                            usedBytes: 0, thinProvisioned: true),
            VirtualDiskInfo(key: 2001, label: awkward[4], fileName: awkward[2], datastore: ds[1], capacityBytes: 1 << 40,
                            usedBytes: 123_456_789_012, eagerlyScrub: true, sharing: "sharingMultiWriter", diskMode: "independent_persistent"),
            VirtualDiskInfo(key: 2002, fileName: "[ds-2] full/rdm.vmdk", datastore: ds[1], capacityBytes: -1, usedBytes: Int64.min,
                            backing: .rdmPhysical, sharing: "sharingNone", diskMode: "independent_nonpersistent"),
            VirtualDiskInfo(key: -7, label: "", fileName: "", datastore: nil, backing: .rdmVirtual),
        ]
        let media = [
            VirtualMediaInfo(key: 3000, label: "CD/DVD drive 1", fileName: "[ds-3] iso/tools\\win.iso", datastore: ds[2]),
            VirtualMediaInfo(key: Int.max, label: awkward[6], fileName: awkward[7], datastore: nil),
        ]
        let snapshots = [
            SnapshotInfo(ref: MoRef("VirtualMachineSnapshot", "snapshot-1"), name: "before \"patch\"", createTime: createTimes[0]),
            SnapshotInfo(ref: MoRef("VirtualMachineSnapshot", "snapshot-2"), name: awkward[5], createTime: createTimes[1],
                         parent: MoRef("VirtualMachineSnapshot", "snapshot-1")),
        ]
        var attributes: [String: String] = [:]
        // Keys whose UTF-8 order differs from a case-insensitive or numeric one.
        for (i, key) in ["b", "B", "a", "_x", "é", "Z1", "z10", "z9", "😀", "tab\tkey", "quote\"key", ""].enumerated() {
            attributes[key] = awkward[i % awkward.count]
        }
        vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-2"), name: awkward[0], host: hosts[0], cluster: cluster, resourcePool: pool,
                          datastores: [ds[0], ds[1], ds[2]], committedBytes: Int64.max, uncommittedBytes: Int64.min, memoryMB: Int.max,
                          powerState: "suspended", isTemplate: true, snapshots: snapshots, consolidationNeeded: true, configDatastore: ds[0],
                          vmPathName: "[ds \"1\"] full/full.vmx", configBytes: -42, disks: disks, media: media, faultToleranceRole: 1,
                          connectionState: "orphaned", toolsRunningStatus: "guestToolsRunning", folderPath: "/DC \"0\"/vm/prod\\db",
                          customAttributes: attributes, guestOS: awkward[8], guestId: "windows2019srv_64Guest",
                          tags: [VMTag(category: "team", name: "fin"), VMTag(category: "wave \"1\"", name: awkward[6]), VMTag(category: "a", name: "b:/c")]))
        // A secondary, tags read but none, a host outside any cluster, media without disks.
        vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-3"), name: awkward[9], host: hosts[1], datastores: [ds[2]], committedBytes: -5,
                          memoryMB: Int.min, powerState: "poweredOff", media: [media[0]], faultToleranceRole: 2, tags: []))
        // One VM per awkward string, in its name, path and folder.
        for (i, text) in awkward.enumerated() {
            vms.append(VMInfo(ref: MoRef("VirtualMachine", "vm-\(100 + i)"), name: text, host: hosts[0], datastores: [ds[i % 3]],
                              committedBytes: Int64(i) * 1_000_003, memoryMB: i, vmPathName: text, disks: i.isMultiple(of: 2) ? [] : [disks[i % 4]],
                              folderPath: text, customAttributes: [text: text], guestOS: text, tags: [VMTag(category: "c" + text, name: "n" + text)]))
        }
        return Inventory(
            about: AboutInfo(name: "VMware vCenter Server", fullName: "VMware vCenter Server 8.0.2", version: "8.0.2", apiVersion: "8.0.2.0"),
            datacenters: [DatacenterInfo(ref: dc, name: "DC \"0\"")],
            clusters: [ClusterInfo(ref: cluster, name: "cluster/1", datacenter: dc, hosts: [hosts[0]])],
            hosts: [HostInfo(ref: hosts[0], name: "esx-01.example.com", cluster: cluster, vmotionLinkSpeedMbps: 10_000),
                    HostInfo(ref: hosts[1], name: "esx-02 ☃", connectionState: "disconnected", inMaintenanceMode: true)],
            datastores: [DatastoreInfo(ref: ds[0], name: "ds \"1\"", capacityBytes: Int64.max, freeBytes: 0, hosts: hosts),
                         DatastoreInfo(ref: ds[1], name: "ds-2", capacityBytes: 1 << 42, freeBytes: -1, type: "NFS", accessible: false, hosts: [hosts[0]]),
                         DatastoreInfo(ref: ds[2], name: "dś-3 🗄", capacityBytes: 0, freeBytes: 0, type: "vsan", hosts: [hosts[1]])],
            vms: vms,
            resourcePools: [ResourcePoolInfo(ref: pool, name: "Resources", owner: cluster)],
            datastoreClusters: [DatastoreClusterInfo(ref: pod, name: "pod", datastores: [ds[1]], sdrsEnabled: true, capacityBytes: 1 << 42)])
    }

    /// `writeJSON`'s pieces joined, for chunk size `chunk`.
    static func written(_ inv: Inventory, chunk: Int) throws -> Data {
        var out = Data()
        try inv.writeJSON(chunk: chunk) { out.append($0) }
        return out
    }

    @Test(arguments: [1, 100, 1 << 16])
    func writesTheEncodersBytes(chunk: Int) throws {
        for inv in [Self.inventory(), Self.inventory(createTimes: [Date(timeIntervalSince1970: -86_400.75), Date(timeIntervalSince1970: 4_102_444_800.999)])] {
            let expected = try inv.jsonData()
            let actual = try Self.written(inv, chunk: chunk)
            if actual != expected {
                // Name the first difference rather than print two long documents.
                let at = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, expected.count)
                let context = { (d: Data) in String(decoding: d[max(0, at - 60)..<min(d.count, at + 60)], as: UTF8.self) }
                Issue.record("differs at byte \(at) of \(expected.count):\n writer:  \(context(actual))\n encoder: \(context(expected))")
            }
        }
    }

    @Test func anInventoryWithoutVMs() throws {
        let inv = Inventory(clusters: [], hosts: [], datastores: [], vms: [])
        #expect(try Self.written(inv, chunk: 1) == (try inv.jsonData()))
        #expect(String(decoding: try Self.written(inv, chunk: 1), as: UTF8.self).hasSuffix(#""vms":[]}"#))
    }

    /// `plan --inventory` reads the writer's file as it reads the encoder's, and gets the
    /// inventory back (dates in whole seconds: ISO 8601 as written drops the fraction).
    @Test func readsBackEqual() throws {
        let original = Self.inventory()
        let back = try Inventory(jsonData: try Self.written(original, chunk: 100))
        let viaEncoder = try Inventory(jsonData: try original.jsonData())
        #expect(back.vms == viaEncoder.vms)
        #expect(back.vms.count == original.vms.count)
        for (read, vm) in zip(back.vms, original.vms) {
            var vm = vm
            vm.tags = vm.tags?.sorted()  // the reader sorts tags
            if !vm.hasFileLayout { vm.configBytes = 0 }  // written only with a file layout
            #expect(read == vm)
        }
        #expect(back.hosts == original.hosts)
        #expect(back.datastores == original.datastores)
        #expect(back.clusters == original.clusters)
        #expect(back.datastoreClusters == original.datastoreClusters)
        #expect(back.resourcePools == original.resourcePools)
        #expect(back.about == original.about)
    }
}
