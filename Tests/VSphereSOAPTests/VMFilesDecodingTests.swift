import Testing
import VCenterModel
import VimXML
@testable import VSphereSOAP

/// A VM's files from a captured-style `RetrievePropertiesEx` response (`retrieve-vms-files.xml`):
/// disks on several datastores, snapshot chains, RDMs in both modes, multi-writer sharing,
/// thin / thick / eager disks, images, Fault Tolerance, an orphaned VM, a VM without `layoutEx`.
@Suite struct VMFilesDecodingTests {
    /// The fixture's VMs as the client decodes them (the reader with the device skip rule,
    /// then `InventoryDecoding.vm`), by name.
    static func decoded(names: [MoRef: String] = [:]) throws -> [String: VMInfo] {
        let (_, pieces) = try SOAPResponseParser.parse(
            Fixtures.bytes("retrieve-vms-files.xml"), granularity: .returnValueMembers, skipping: InventoryDecoding.deviceSkipRule)
        var out: [String: VMInfo] = [:]
        let known = InventoryDecoding.DatastoreNames(names)
        for piece in pieces where piece.name == "objects" {
            guard var vm = InventoryDecoding.vm(ObjectContent(element: piece))?.info else { continue }
            InventoryDecoding.resolveHome(&vm, names: known)
            out[vm.name] = vm
        }
        return out
    }

    static let ds11 = MoRef("Datastore", "datastore-11")
    static let ds12 = MoRef("Datastore", "datastore-12")
    static let ds13 = MoRef("Datastore", "datastore-13")

    @Test func disksOnSeveralDatastoresWithASnapshotChain() throws {
        let db = try #require(try Self.decoded()["db-01"])
        #expect(db.vmPathName == "[legacy-01] db-01/db-01.vmx")
        // The home is resolved from the disks' own paths: no datastore names needed.
        #expect(db.configDatastore == Self.ds11)
        #expect(db.disks.map(\.key) == [2000, 2001])
        let d1 = db.disks[0], d2 = db.disks[1]
        #expect(d1.label == "Hard disk 1")
        // The running snapshot's delta is the backing; its parent (the base) is not read as the disk.
        #expect(d1.fileName == "[legacy-01] db-01/db-01-000001.vmdk")
        #expect(d1.datastore == Self.ds11)
        #expect(d1.capacityBytes == 42_949_672_960)
        #expect(d1.backing == .flat && !d1.thinProvisioned && !d1.eagerlyScrub && d1.format == .thick)
        #expect(d1.sharing == "sharingNone" && !d1.isMultiWriter)
        #expect(d1.diskMode == "persistent")
        // Base descriptor + extent, and the snapshot's descriptor + delta.
        #expect(d1.usedBytes == 600 + 20_000_000_000 + 400 + 1_000_000_000)
        #expect(d2.datastore == Self.ds12 && d2.fileName == "[legacy-02] db-01/db-01_1.vmdk")
        // capacityInKB only: × 1024.
        #expect(d2.capacityBytes == 104_857_600 * 1024)
        #expect(d2.thinProvisioned && d2.format == .thin)
        #expect(d2.diskMode == "independent_persistent" && d2.isIndependent)
        #expect(d2.usedBytes == 30_000_000_550)
        // Everything outside the disk chains is the home: vmx, nvram, log, vmsd, vmsn, swap.
        #expect(db.configBytes == 3000 + 8684 + 250_000 + 500 + 30_000 + 8_589_934_592)
        // The ISO stays on its datastore; the host floppy is no image.
        #expect(db.media == [VirtualMediaInfo(key: 3002, label: "CD/DVD drive 1", fileName: "[iso-store] iso/win2019.iso", datastore: Self.ds13)])
        #expect(db.faultToleranceRole == nil)
        #expect(db.connectionState == "connected" && db.toolsRunningStatus == "guestToolsRunning")
        #expect(db.hasFileLayout)
        #expect(db.files.map(\.bytes) == [db.configBytes, d1.usedBytes, d2.usedBytes])
        // The properties read before stay as they were.
        #expect(db.host == MoRef("HostSystem", "host-21") && db.powerState == "poweredOn" && db.committedBytes == 59_589_929_000)
        #expect(db.datastores == [Self.ds11, Self.ds12, Self.ds13])
    }

    @Test func rdmsInBothModesMultiWriterAndFaultTolerance() throws {
        let vm = try #require(try Self.decoded()["rdm-01"])
        #expect(vm.configDatastore == Self.ds12)
        #expect(vm.faultToleranceRole == 1)
        #expect(vm.toolsRunningStatus == "guestToolsNotRunning")
        let (eager, physical, virtual) = (vm.disks[0], vm.disks[1], vm.disks[2])
        #expect(eager.backing == .flat && eager.eagerlyScrub && !eager.thinProvisioned && eager.format == .eager)
        #expect(eager.isMultiWriter)
        #expect(eager.usedBytes == 500 + 10_737_418_240)
        #expect(physical.backing == .rdmPhysical && physical.backing.isRDM && physical.format == nil)
        #expect(physical.diskMode == "independent_persistent")
        #expect(physical.capacityBytes == 1_099_511_627_776)
        // The mapping file reports the LUN's size; only the descriptor counts.
        #expect(physical.usedBytes == 520)
        #expect(virtual.backing == .rdmVirtual)
        // The descriptor, and the snapshot delta above the mapping (real data).
        #expect(virtual.usedBytes == 530 + 300 + 5_000_000)
        #expect(vm.configBytes == 2000)
        #expect(vm.media.isEmpty)
    }

    @Test func anOrphanedVMWithoutConfigStillDecodes() throws {
        let vm = try #require(try Self.decoded()["orphan-01"])
        #expect(vm.connectionState == "orphaned")
        #expect(vm.powerState == "poweredOff")
        #expect(vm.disks.isEmpty && vm.media.isEmpty && !vm.hasFileLayout)
        #expect(vm.vmPathName.isEmpty && vm.configDatastore == nil && vm.configBytes == 0)
        #expect(vm.toolsRunningStatus == nil)
    }

    @Test func sparseDiskFloppyImageAndNoLayout() throws {
        let vm = try #require(try Self.decoded()["sparse-01"])
        let disk = try #require(vm.disks.first)
        #expect(disk.backing == .flat && disk.thinProvisioned && disk.format == .thin)
        #expect(disk.capacityBytes == 2_097_152 * 1024)
        #expect(disk.datastore == MoRef("Datastore", "datastore-42"))
        // No layoutEx: the whole capacity, never a disk that looks free to move.
        #expect(disk.usedBytes == disk.capacityBytes)
        #expect(vm.configBytes == 0)
        #expect(vm.media == [VirtualMediaInfo(key: 8000, label: "Floppy drive 1", fileName: "[local-01] floppy/drivers.flp", datastore: MoRef("Datastore", "datastore-41"))])
        // The home is found through the floppy image's path.
        #expect(vm.configDatastore == MoRef("Datastore", "datastore-41"))
    }

    @Test func nonDiskDevicesNeverBecomeNodes() throws {
        let bytes = Fixtures.bytes("retrieve-vms-files.xml")
        let (_, all) = try SOAPResponseParser.parse(bytes, granularity: .returnValueMembers)
        let (_, skipped) = try SOAPResponseParser.parse(bytes, granularity: .returnValueMembers, skipping: InventoryDecoding.deviceSkipRule)
        func devices(_ piece: XMLElement) -> [String] {
            ObjectContent(element: piece).properties["config.hardware.device"]?.children.compactMap(\.xsiType) ?? []
        }
        #expect(devices(all[0]) == ["VirtualIDEController", "ParaVirtualSCSIController", "VirtualMachineVideoCard", "VirtualDisk", "VirtualDisk", "VirtualCdrom", "VirtualVmxnet3", "VirtualFloppy"])
        #expect(devices(skipped[0]) == ["VirtualDisk", "VirtualDisk", "VirtualCdrom", "VirtualFloppy"])
        func count(_ e: XMLElement) -> Int { 1 + e.children.reduce(0) { $0 + count($1) } }
        #expect(count(skipped[0]) < count(all[0]) - 40)
        // Same records either way.
        for (a, b) in zip(all, skipped) {
            #expect(InventoryDecoding.vm(ObjectContent(element: a))?.info == InventoryDecoding.vm(ObjectContent(element: b))?.info)
        }
    }

    @Test func anRDMMappingFileCountsOnlyWhenItReportsItsOwnSize() {
        var layout = InventoryDecoding.FileLayout()
        layout.hasFiles = true
        layout.files = [1: ("diskDescriptor", 500), 2: ("diskExtent", 1 << 40), 3: ("diskDescriptor", 0), 4: ("diskExtent", 4096), 5: ("config", 100)]
        layout.chains = [2000: [[1, 2]], 2001: [[3, 4]]]
        var disks = [
            VirtualDiskInfo(key: 2000, capacityBytes: 1 << 40, backing: .rdmPhysical),
            VirtualDiskInfo(key: 2001, capacityBytes: 1 << 30, backing: .rdmVirtual),
            VirtualDiskInfo(key: 2002, capacityBytes: 7, backing: .flat),
        ]
        #expect(layout.apply(to: &disks) == 100)
        // The LUN-sized mapping file is not data on the datastore; a 4 KiB one is what it occupies.
        #expect(disks.map(\.usedBytes) == [500, 4096, 7])
    }

    @Test func locatorsForEachFormat() throws {
        var w = XMLWriter()
        let spec = RelocateSpec(datastore: Self.ds11, disks: [
            DiskLocator(diskKey: 2000, datastore: Self.ds12),
            DiskLocator(diskKey: 2001, datastore: Self.ds12, format: .thin),
            DiskLocator(diskKey: 2002, datastore: Self.ds13, format: .thick),
            DiskLocator(diskKey: 2003, datastore: Self.ds13, format: .eager),
        ])
        OperationEncoding.relocateSpec(&w, "spec", spec, diskModes: [2003: "independent_nonpersistent"])
        func backing(_ mode: String, _ thin: Bool, _ eager: Bool) -> String {
            #"<diskBackingInfo xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName><diskMode>\#(mode)</diskMode><thinProvisioned>\#(thin)</thinProvisioned><eagerlyScrub>\#(eager)</eagerlyScrub></diskBackingInfo>"#
        }
        let expected = #"<spec><datastore type="Datastore">datastore-11</datastore>"#
            + #"<disk><diskId>2000</diskId><datastore type="Datastore">datastore-12</datastore></disk>"#
            + #"<disk><diskId>2001</diskId><datastore type="Datastore">datastore-12</datastore>"# + backing("persistent", true, false) + "</disk>"
            + #"<disk><diskId>2002</diskId><datastore type="Datastore">datastore-13</datastore>"# + backing("persistent", false, false) + "</disk>"
            + #"<disk><diskId>2003</diskId><datastore type="Datastore">datastore-13</datastore>"# + backing("independent_nonpersistent", false, true) + "</disk>"
            + "</spec>"
        #expect(String(decoding: w.bytes, as: UTF8.self) == expected)
        // What the encoder writes, the recommendation decoder reads back.
        let (_, pieces) = try SOAPResponseParser.parse(Array((#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><R><returnval><action xsi:type="StoragePlacementAction"><relocateSpec>"#
            + String(decoding: w.bytes, as: UTF8.self).dropFirst("<spec>".count).dropLast("</spec>".count)
            + #"</relocateSpec><destination type="Datastore">datastore-11</destination></action></returnval></R></soapenv:Body></soapenv:Envelope>"#).utf8))
        let decoded = StorageDRSDecoding.action(pieces[0].child("action")!, vm: MoRef("VirtualMachine", "vm-1"))
        #expect(decoded?.destination == Self.ds11)
        #expect(decoded?.disks == spec.disks)
    }

    // MARK: The home datastore by name

    static let dc1Legacy = MoRef("Datastore", "datastore-101")
    static let dc2Legacy = MoRef("Datastore", "datastore-201")
    static let dc1New = MoRef("Datastore", "datastore-102")

    @Test func aHomeIsResolvedAmongTheVMsOwnDatastoresFirst() {
        // Two datacenters each have a `legacy-01`: the VM's own list decides.
        let names = InventoryDecoding.DatastoreNames([Self.dc1Legacy: "legacy-01", Self.dc2Legacy: "legacy-01", Self.dc1New: "new-01"])
        var vm = VMInfo(ref: MoRef("VirtualMachine", "vm-1"), name: "a", datastores: [Self.dc2Legacy, Self.dc1New], vmPathName: "[legacy-01] a/a.vmx")
        InventoryDecoding.resolveHome(&vm, names: names)
        #expect(vm.configDatastore == Self.dc2Legacy)
        // Not among its own (a VM whose `datastore` was not readable): only a globally unique name answers.
        var ambiguous = VMInfo(ref: MoRef("VirtualMachine", "vm-2"), name: "b", vmPathName: "[legacy-01] b/b.vmx")
        InventoryDecoding.resolveHome(&ambiguous, names: names)
        #expect(ambiguous.configDatastore == nil)
        var unique = VMInfo(ref: MoRef("VirtualMachine", "vm-3"), name: "c", vmPathName: "[new-01] c/c.vmx")
        InventoryDecoding.resolveHome(&unique, names: names)
        #expect(unique.configDatastore == Self.dc1New)
        // A name the VM's own list knows but under another datastore does not fall back globally.
        var elsewhere = VMInfo(ref: MoRef("VirtualMachine", "vm-4"), name: "d", datastores: [Self.dc1New], vmPathName: "[legacy-01] d/d.vmx")
        InventoryDecoding.resolveHome(&elsewhere, names: names)
        #expect(elsewhere.configDatastore == nil)
        #expect(InventoryDecoding.datastoreName(inPath: "[legacy-01] d/d.vmx") == "legacy-01")
        #expect(InventoryDecoding.datastoreName(inPath: "[] /vmimages/tools-isoimages/linux.iso") == nil)
        #expect(InventoryDecoding.datastoreName(inPath: "") == nil)
    }

    @Test func unnamedDatastoresAreThoseOfUnresolvedHomes() {
        let resolved = VMInfo(ref: MoRef("VirtualMachine", "vm-1"), name: "a", datastores: [Self.dc1Legacy], configDatastore: Self.dc1Legacy, vmPathName: "[legacy-01] a/a.vmx")
        let open = VMInfo(ref: MoRef("VirtualMachine", "vm-2"), name: "b", datastores: [Self.dc1New, Self.dc2Legacy], vmPathName: "[x] b/b.vmx")
        let noPath = VMInfo(ref: MoRef("VirtualMachine", "vm-3"), name: "c", datastores: [Self.dc1Legacy])
        #expect(InventoryDecoding.unnamedDatastores(of: [resolved, open, noPath], names: [Self.dc1New: "new-01"]) == [Self.dc2Legacy])
    }
}

extension ObjectContent {
    /// Each property's value by path (tests only).
    var properties: [String: XMLElement] {
        var out: [String: XMLElement] = [:]
        forEachProperty { out[$0] = $1 }
        return out
    }
}
