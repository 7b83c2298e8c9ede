import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// `relocate` places each file as vSphere does: home to `spec.datastore`, a disk with a locator
/// to the locator's datastore, a disk without one with the home when it is set; only files
/// whose place or format changes are copied, and only their datastores are charged.
@Suite struct SimulatorFileRelocationTests {
    static let gib = Fixtures.gib

    @Test("locators place disks one by one; a disk whose locator names its datastore stays; only what moves is copied and charged")
    func partialMoveWithLocators() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi()])
        let before = sim.inventorySnapshot
        func free(_ n: String, _ inv: Inventory) -> Int64 { inv.datastore(named: n)!.freeBytes }
        let task = try await sim.relocate("multi", to: "D1", disks: [(2001, "D2", nil), (2002, "F", nil)])
        #expect(task.state == .running)
        // While the copy runs, each destination holds what arrives there.
        #expect(free("D1", sim.inventorySnapshot) == free("D1", before) - 41 * Self.gib)
        #expect(free("D2", sim.inventorySnapshot) == free("D2", before) - 20 * Self.gib)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        // Home 1 GiB + thick 40 GiB + thin 20 GiB = 61 GiB at 100 MB/s after 10 s of setup.
        #expect(abs(task.seconds(\.completeTime)! - (10 + 61 * 1024.0 / 100)) < 1e-6)
        let record = try #require(sim.stats.tasks.first)
        #expect(record.kind == .storageVMotion)
        #expect(record.bytes == 61 * Self.gib)
        #expect(Set(record.copiedFrom) == [FileFixtures.ds("S1"), FileFixtures.ds("S2")])
        #expect(Set(record.copiedTo) == [FileFixtures.ds("D1"), FileFixtures.ds("D2")])

        let vm = sim.vm("multi")
        #expect(vm.configDatastore == FileFixtures.ds("D1"))
        #expect(vm.disks.map(\.datastore) == [FileFixtures.ds("D1"), FileFixtures.ds("D2"), FileFixtures.ds("F")])
        #expect(vm.datastores == [FileFixtures.ds("D1"), FileFixtures.ds("D2"), FileFixtures.ds("F")])
        #expect(vm.committedBytes == 71 * Self.gib)

        let after = sim.inventorySnapshot
        #expect(free("S1", after) == free("S1", before) + 41 * Self.gib)
        #expect(free("S2", after) == free("S2", before) + 20 * Self.gib)
        #expect(free("D1", after) == free("D1", before) - 41 * Self.gib)
        #expect(free("D2", after) == free("D2", before) - 20 * Self.gib)
        #expect(free("F", after) == free("F", before))

        // Storage vMotion costs 16 once on each datastore it reads or writes, none on F.
        for n in ["S1", "S2", "D1", "D2"] { #expect(sim.peakCost(datastore: n) == 16, "\(n)") }
        #expect(sim.peakCost(datastore: "F") == 0)
        #expect(sim.peakCost(datastore: "X") == 0)
        #expect(sim.peakCost(host: "esx-1") == 4)

        let stats = sim.stats
        #expect(stats.fileCopies.map(\.file) == [.config, .disk(2000), .disk(2001)])
        #expect(stats.fileCopies.map(\.bytesWritten) == [1, 40, 20].map { $0 * Self.gib })
        #expect(stats.bytesOutByDatastore == [FileFixtures.ds("S1"): 41 * Self.gib, FileFixtures.ds("S2"): 20 * Self.gib])
        #expect(stats.bytesInByDatastore == [FileFixtures.ds("D1"): 41 * Self.gib, FileFixtures.ds("D2"): 20 * Self.gib])
        #expect(stats.fileCopiesPerVM[vm.ref] == [.config: 1, .disk(2000): 1, .disk(2001): 1])
        #expect(stats.maxCopiesPerFile == 1)
        #expect(stats.bytesMoved == 61 * Self.gib)
    }

    @Test("spec.datastore alone moves the home and every disk, wherever each was")
    func onlySpecDatastoreMovesEveryDisk() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi()])
        let task = try await sim.relocate("multi", to: "D1")
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(abs(task.seconds(\.completeTime)! - (10 + 71 * 1024.0 / 100)) < 1e-6)
        let vm = sim.vm("multi")
        #expect(vm.datastores == [FileFixtures.ds("D1")])
        #expect(vm.disks.allSatisfy { $0.datastore == FileFixtures.ds("D1") })
        for n in ["S1", "S2", "F", "D1"] { #expect(sim.peakCost(datastore: n) == 16, "\(n)") }
        #expect(sim.peakCost(datastore: "D2") == 0)
        #expect(sim.stats.bytesOutByDatastore[FileFixtures.ds("F")] == 10 * Self.gib)
        #expect(sim.datastore("F").freeBytes == FileFixtures.capacity)
    }

    @Test("without spec.datastore, disks without a locator and the home stay; the time follows the bytes that move")
    func durationsFollowMovedBytes() async throws {
        let vms = [FileFixtures.multi(0, "one"), FileFixtures.multi(1, "two"), FileFixtures.multi(2, "all")]
        let sim = try FileFixtures.sim(vms)
        let one = try await sim.relocate("one", to: nil, disks: [(2002, "D2", nil)])
        let two = try await sim.relocate("two", to: nil, disks: [(2001, "D1", nil), (2002, "D1", nil)])
        #expect(one.state == .running && two.state == .running)
        sim.advanceUntilIdle()
        let all = try await sim.relocate("all", to: "D2")
        sim.advanceUntilIdle()
        func copySeconds(_ t: LiveTask) -> Double { t.seconds(\.completeTime)! - t.seconds(\.startTime)! - 10 }
        #expect(abs(copySeconds(one) - 10 * 1024.0 / 100) < 1e-6)
        #expect(abs(copySeconds(two) - 30 * 1024.0 / 100) < 1e-6)
        #expect(abs(copySeconds(all) - 71 * 1024.0 / 100) < 1e-6)
        #expect(sim.vm("one").configDatastore == FileFixtures.ds("S1"))
        #expect(sim.vm("one").disks.map(\.datastore) == [FileFixtures.ds("S1"), FileFixtures.ds("S2"), FileFixtures.ds("D2")])
        #expect(sim.vm("two").datastores == [FileFixtures.ds("S1"), FileFixtures.ds("D1")])
        let stats = sim.stats
        #expect(stats.tasks[0].copiedFrom == [FileFixtures.ds("F")] && stats.tasks[0].copiedTo == [FileFixtures.ds("D2")])
        #expect(stats.tasks[0].bytes == 10 * Self.gib)
        // Nothing read S1 or wrote D1 for `one`; its home's datastore was never charged by it.
        #expect(stats.tasks[1].copiedFrom.sorted { $0.value < $1.value } == [FileFixtures.ds("S2"), FileFixtures.ds("F")])
    }

    @Test("a relocation naming where every file already is copies nothing")
    func nothingMovesWhenEverythingIsInPlace() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi()])
        let task = try await sim.relocate("multi", to: "S1", disks: [(2000, "S1", nil), (2001, "S2", .thin), (2002, "F", nil)])
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(sim.stats.fileCopies.isEmpty)
        #expect(sim.stats.tasks[0].bytes == 0)
        #expect(sim.peakCost(datastore: "S1") == 0)
    }

    @Test("copies share the bandwidth of the datastores they read or write, not of those holding files that stay")
    func bandwidthIsSharedOnTouchedDatastoresOnly() async throws {
        // Bandwidth 200 MB/s per datastore, 150 MB/s per copy, no setup.
        let config = Fixtures.config(rate: 150, overhead: 0) { $0.datastoreBandwidthMBps = 200 }
        let vms = [FileFixtures.multi(0, "a"), FileFixtures.multi(1, "b"), FileFixtures.multi(2, "c") { $0.host = FileFixtures.hosts[1] },
                   FileFixtures.multi(3, "d")]
        let sim = try FileFixtures.sim(vms, config: config)
        // Two 10 GiB disks leave F at once: 100 MB/s each.
        let a = try await sim.relocate("a", to: nil, disks: [(2002, "D1", nil)])
        let b = try await sim.relocate("b", to: nil, disks: [(2002, "D2", nil)])
        sim.advanceUntilIdle()
        #expect(abs(a.seconds(\.completeTime)! - 102.4) < 1e-6)
        #expect(abs(b.seconds(\.completeTime)! - 102.4) < 1e-6)
        // c copies 40 GiB S1 → D2 while d copies its flash disk F → D1: d's home is on S1 too,
        // but d does not read it, so both run at 150 MB/s.
        let c = try await sim.relocate("c", to: nil, disks: [(2000, "D2", nil)])
        let d = try await sim.relocate("d", to: nil, disks: [(2002, "D1", nil)])
        sim.advanceUntilIdle()
        #expect(abs(c.seconds(\.completeTime)! - c.seconds(\.startTime)! - 40 * 1024.0 / 150) < 1e-6)
        #expect(abs(d.seconds(\.completeTime)! - d.seconds(\.startTime)! - 10 * 1024.0 / 150) < 1e-6)
    }

    @Test("a VM's disks moved in two relocations, each once, are not copied twice; the same disk moved again is")
    func copiesAreCountedPerFile() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi()])
        _ = try await sim.relocate("multi", to: nil, disks: [(2001, "D1", nil)])
        sim.advanceUntilIdle()
        _ = try await sim.relocate("multi", to: nil, disks: [(2002, "D1", nil)])
        sim.advanceUntilIdle()
        #expect(sim.stats.maxCopiesPerFile == 1)
        #expect(sim.stats.maxCopiesPerVM == 1)
        _ = try await sim.relocate("multi", to: nil, disks: [(2001, "D2", nil)])
        sim.advanceUntilIdle()
        #expect(sim.stats.maxCopiesPerVM == 2)
        #expect(sim.stats.fileCopiesPerVM[sim.vm("multi").ref] == [.disk(2001): 2, .disk(2002): 1])
    }

    // MARK: Formats

    /// Home on S1; a thin disk using 10 of 50 GiB; a physical RDM (1 MiB mapping, 500 GiB LUN);
    /// a virtual RDM (1 MiB mapping, 200 GiB LUN).
    static func formatVM() -> VMInfo {
        FileFixtures.vm(0, "fmt", disks: [
            FileFixtures.disk(2000, on: "S1", usedGB: 10, capacityGB: 50, thin: true),
            FileFixtures.disk(2001, on: "S1", usedGB: 0, capacityGB: 500, backing: .rdmPhysical, usedBytes: FileFixtures.mib),
            FileFixtures.disk(2002, on: "S1", usedGB: 0, capacityGB: 200, backing: .rdmVirtual, usedBytes: FileFixtures.mib),
        ])
    }

    struct FormatCase: CustomTestStringConvertible, Sendable {
        var key: Int
        var format: DiskFormat?
        var to: String
        var written: Int64
        var space: Int64
        var backing: DiskBacking
        var thin: Bool
        var eager: Bool
        var testDescription: String { "disk \(key) → \(to) as \(format?.rawValue ?? "is")" }
    }

    static let gb = Fixtures.gib, mb = FileFixtures.mib
    static let formatCases: [FormatCase] = [
        // A thin disk copied as it is, or to thin: what it uses.
        FormatCase(key: 2000, format: nil, to: "D1", written: 10 * gb, space: 10 * gb, backing: .flat, thin: true, eager: false),
        FormatCase(key: 2000, format: .thin, to: "D1", written: 10 * gb, space: 10 * gb, backing: .flat, thin: true, eager: false),
        // Lazy-zeroed thick: writes what it uses, takes its capacity.
        FormatCase(key: 2000, format: .thick, to: "D1", written: 10 * gb, space: 50 * gb, backing: .flat, thin: false, eager: false),
        // Eager-zeroed thick: writes (zeroes) its whole capacity.
        FormatCase(key: 2000, format: .eager, to: "D1", written: 50 * gb, space: 50 * gb, backing: .flat, thin: false, eager: true),
        // RDMs: only the mapping file.
        FormatCase(key: 2001, format: nil, to: "D1", written: mb, space: mb, backing: .rdmPhysical, thin: false, eager: false),
        FormatCase(key: 2002, format: nil, to: "D1", written: mb, space: mb, backing: .rdmVirtual, thin: false, eager: false),
        // A virtual RDM given a format becomes a flat disk: the LUN's capacity is copied.
        FormatCase(key: 2002, format: .thin, to: "D1", written: 200 * gb, space: 200 * gb, backing: .flat, thin: true, eager: false),
        FormatCase(key: 2002, format: .thick, to: "D2", written: 200 * gb, space: 200 * gb, backing: .flat, thin: false, eager: false),
        // A format change alone (same datastore) copies too.
        FormatCase(key: 2000, format: .eager, to: "S1", written: 50 * gb, space: 50 * gb, backing: .flat, thin: false, eager: true),
    ]

    @Test(arguments: formatCases)
    func eachFormatsBytesAndSpace(_ c: FormatCase) async throws {
        let sim = try FileFixtures.sim([Self.formatVM()])
        let before = sim.inventorySnapshot
        let old = before.vm(named: "fmt")!.disk(c.key)!
        let task = try await sim.relocate("fmt", to: nil, disks: [(c.key, c.to, c.format)])
        let target = before.datastore(named: c.to)!
        #expect(sim.datastore(c.to).freeBytes == target.freeBytes - c.space)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(abs(task.seconds(\.completeTime)! - (10 + Double(c.written) / (100 * Fixtures.mib))) < 1e-6)
        let stats = sim.stats
        #expect(stats.tasks[0].bytes == c.written)
        #expect(stats.fileCopies.count == 1)
        #expect(stats.fileCopies.first?.spaceTaken == c.space)
        #expect(stats.fileCopies.first?.bytesFreed == old.usedBytes)
        let disk = try #require(sim.vm("fmt").disk(c.key))
        #expect(disk.datastore == FileFixtures.ds(c.to))
        #expect(disk.backing == c.backing)
        #expect(disk.usedBytes == c.space)
        #expect(disk.thinProvisioned == c.thin && disk.eagerlyScrub == c.eager)
        // The destination keeps the space the copy took; the source gets back what the disk occupied.
        #expect(sim.datastore(c.to).freeBytes == target.freeBytes - c.space + (c.to == "S1" ? old.usedBytes : 0))
        if c.to != "S1" { #expect(sim.datastore("S1").freeBytes == before.datastore(named: "S1")!.freeBytes + old.usedBytes) }
        #expect(sim.vm("fmt").committedBytes == before.vm(named: "fmt")!.committedBytes - old.usedBytes + c.space)
    }

    // MARK: What vSphere refuses

    @Test("an unknown disk key, a second locator for a disk or a VM without known disks → InvalidArgument; an unknown datastore → not found")
    func locatorsMustNameKnownDisksAndDatastores() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi()])
        let unknownKey = await sim.fault { _ = try await sim.relocate("multi", to: "D1", disks: [(2009, "D2", nil)]) }
        #expect(unknownKey?.type == "InvalidArgument")
        #expect(unknownKey?.message.contains("2009") == true)
        #expect(await sim.fault { _ = try await sim.relocate("multi", to: nil, disks: [(2000, "D1", nil), (2000, "D2", nil)]) }?.type == "InvalidArgument")
        let spec = RelocateSpec(datastore: nil, disks: [DiskLocator(diskKey: 2000, datastore: MoRef("Datastore", "datastore-999"))])
        #expect(await sim.fault { _ = try await sim.relocateVM(sim.vm("multi").ref, spec: spec, priority: .defaultPriority) }?.type == "ManagedObjectNotFound")
        let legacy = try Fixtures.handmade(sizesGB: [10])
        #expect(await legacy.fault { _ = try await legacy.relocate("a", to: "D1", disks: [(2000, "D2", nil)]) }?.type == "InvalidArgument")
        #expect(sim.stats.tasks.isEmpty && legacy.stats.tasks.isEmpty)
    }

    @Test("a destination the VM's (destination) host does not mount → InvalidArgument; files that stay must be mounted by a new host")
    func unmountedDatastoresAreRefused() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi(), FileFixtures.multi(1, "onX", tweak: { vm in
            vm.disks[2].datastore = FileFixtures.ds("X")
            vm.host = FileFixtures.hosts[1]
            vm.recomputeDatastores()
        })])
        let viaLocator = await sim.fault { _ = try await sim.relocate("multi", to: "D1", disks: [(2001, "X", nil)]) }
        #expect(viaLocator?.type == "InvalidArgument")
        #expect(viaLocator?.message.contains("not mounted on host 'esx-1'") == true)
        #expect(await sim.fault { _ = try await sim.relocate("multi", to: "X") }?.type == "InvalidArgument")
        // With the host changing to esx-2 the same target is fine.
        let both = try await sim.relocate("multi", to: "X", host: "esx-2")
        // A VM keeping a disk on X cannot go to esx-1, which does not mount X …
        let stays = await sim.fault { _ = try await sim.relocate("onX", to: "D1", disks: [(2002, "X", nil)], host: "esx-1") }
        #expect(stays?.type == "InvalidArgument")
        // … unless that disk moves too.
        let moves = try await sim.relocate("onX", to: "D1", host: "esx-1")
        sim.advanceUntilIdle()
        #expect(both.state == .success && moves.state == .success)
        #expect(sim.vm("onX").datastores == [FileFixtures.ds("D1")])
    }

    @Test("a format on a physical-mode RDM → RDMConversionNotSupported")
    func physicalRDMCannotBeConverted() async throws {
        let sim = try FileFixtures.sim([Self.formatVM()])
        let fault = await sim.fault { _ = try await sim.relocate("fmt", to: "D1", disks: [(2001, "D1", .thin)]) }
        #expect(fault?.type == "RDMConversionNotSupported")
        #expect(sim.stats.tasks.isEmpty)
    }

    @Test("a storage change of a powered-on VM with a multi-writer disk → MultiWriterNotSupported; powered off, or host only, it moves")
    func multiWriterDisksBlockStorageVMotion() async throws {
        func shared(_ n: Int, _ name: String, power: String) -> VMInfo {
            FileFixtures.multi(n, name) { vm in
                vm.disks[1].sharing = "sharingMultiWriter"
                vm.disks[1].thinProvisioned = false
                vm.disks[1].eagerlyScrub = true
                vm.powerState = power
            }
        }
        let sim = try FileFixtures.sim([shared(0, "on", power: "poweredOn"), shared(1, "off", power: "poweredOff")])
        let fault = await sim.fault { _ = try await sim.relocate("on", to: "D1", disks: [(2001, "S2", nil)]) }
        #expect(fault?.type == "MultiWriterNotSupported")
        let vMotion = try await sim.migrateVM(sim.vm("on").ref, host: sim.host("esx-2").ref, pool: nil, priority: .defaultPriority)
        let cold = try await sim.relocate("off", to: "D1")
        sim.advanceUntilIdle()
        #expect(vMotion.state == .success && cold.state == .success)
    }

    @Test("a storage change of a Fault Tolerance VM → NotSupported; its vMotion is allowed")
    func faultToleranceBlocksStorageVMotion() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi { $0.faultToleranceRole = 1 }])
        let fault = await sim.fault { _ = try await sim.relocate("multi", to: nil, disks: [(2002, "D1", nil)]) }
        #expect(fault?.type == "NotSupported")
        #expect(fault?.message.contains("Storage vMotion is not supported for a Fault Tolerance VM") == true)
        let vMotion = try await sim.relocate("multi", to: nil, host: "esx-2")
        sim.advanceUntilIdle()
        #expect(vMotion.state == .success)
    }

    @Test("a VM that is not connected → InvalidState; a VM on a disconnected host → HostNotConnected")
    func connectionStatesAreChecked() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi(0, "orphan") { $0.connectionState = "orphaned" }, FileFixtures.multi(1, "onDown") { $0.host = FileFixtures.hosts[1] }],
                                       hostStates: ["connected", "notResponding"])
        #expect(await sim.fault { _ = try await sim.relocate("orphan", to: "D1") }?.type == "InvalidState")
        let down = await sim.fault { _ = try await sim.relocate("onDown", to: "D1") }
        #expect(down?.type == "HostNotConnected")
        #expect(await sim.fault { _ = try await sim.relocate("onDown", to: nil, host: "esx-1") }?.type == "HostNotConnected")
        #expect(sim.stats.tasks.isEmpty)
    }

    @Test("a destination without room for what arrives there fails the task NoDiskSpace and keeps nothing")
    func noDiskSpaceCountsWhatArrives() async throws {
        // D2 has 30 GiB: the 20 GiB thin disk fits, the home and the 40 GiB disk do not.
        let sim = try FileFixtures.sim([FileFixtures.multi(0, "a"), FileFixtures.multi(1, "b")], capacities: ["D2": 30 * Self.gib])
        let fits = try await sim.relocate("a", to: nil, disks: [(2001, "D2", nil)])
        sim.advanceUntilIdle()
        #expect(fits.state == .success)
        let tooBig = try await sim.relocate("b", to: "D1", disks: [(2000, "D2", nil)])
        #expect(tooBig.state == .error)
        #expect(tooBig.info.error?.type == "NoDiskSpace")
        #expect(tooBig.info.error?.message.contains("'D2'") == true)
        #expect(sim.datastore("D1").freeBytes == FileFixtures.capacity)
        #expect(sim.datastore("D2").freeBytes == 10 * Self.gib)
        #expect(sim.vm("b").configDatastore == FileFixtures.ds("S1"))
    }

    // MARK: Invoke

    @Test("RelocateVM_Task through invoke reads spec.disk locators with their backing")
    func invokeReadsDiskLocators() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi()])
        typealias F = PropertyValue.Field
        let locator = PropertyValue.object(type: "VirtualMachineRelocateSpecDiskLocator", fields: [
            F("diskId", .int(2001)), F("datastore", .moRef(FileFixtures.ds("D2"))),
            F("diskBackingInfo", .object(type: "VirtualDiskFlatVer2BackingInfo", fields: [F("thinProvisioned", .bool(false)), F("eagerlyScrub", .bool(true))])),
        ])
        let keep = PropertyValue.object(type: nil, fields: [F("diskId", .string("2002")), F("datastore", .string(FileFixtures.ds("F").value))])
        let spec = PropertyValue.object(type: "VirtualMachineRelocateSpec", fields: [
            F("datastore", .moRef(FileFixtures.ds("D1"))), F("disk", .array([locator, keep])),
        ])
        guard case .task(let task) = try await sim.invoke("RelocateVM_Task", on: sim.vm("multi").ref, arguments: [F("spec", spec)]) else {
            Issue.record("no task")
            return
        }
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        let vm = sim.vm("multi")
        #expect(vm.disks.map(\.datastore) == [FileFixtures.ds("D1"), FileFixtures.ds("D2"), FileFixtures.ds("F")])
        #expect(vm.disk(2001)?.eagerlyScrub == true)
        // Home 1 + 40 GiB, and the thin disk of 100 GiB written whole as eager-zeroed thick.
        #expect(sim.stats.tasks[0].bytes == 141 * Self.gib)
    }
}
