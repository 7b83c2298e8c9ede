import Foundation
import MigrationEngine
import Testing
import VCenterModel

/// Real VMs: a home and disks on several datastores, moved file by file.
@Suite("Per-file storage moves")
struct FileMoveTests {
    static let gib: Int64 = 1 << 30

    /// One cluster of `hosts` hosts; datastores old-0, old-1, flash-0, new-0, new-1 mounted
    /// everywhere (new ones `newCapacity`); `vms` VMs on the first host, each with its home and
    /// disk 2000 on old-0, disk 2001 on old-1 and disk 2002 on flash-0 (10, 20, 30 GiB used, home 1 GiB).
    static func inventory(vms: Int = 1, hosts: Int = 2, newCapacity: Int64 = 1 << 50, edit: (inout VMInfo, Int) -> Void = { _, _ in }) -> Inventory {
        let cluster = MoRef("ClusterComputeResource", "domain-c1")
        let hostInfos = (0..<hosts).map { HostInfo(ref: MoRef("HostSystem", "host-\($0)"), name: "esx-\($0)", cluster: cluster) }
        let all = hostInfos.map(\.ref)
        func ds(_ name: String, capacity: Int64 = 1 << 50) -> DatastoreInfo {
            DatastoreInfo(ref: MoRef("Datastore", "datastore-\(name)"), name: name, capacityBytes: capacity, freeBytes: capacity / 2, hosts: all)
        }
        let datastores = [ds("old-0"), ds("old-1"), ds("flash-0"), ds("new-0", capacity: newCapacity), ds("new-1", capacity: newCapacity)]
            .map { d -> DatastoreInfo in
                var d = d
                if d.name.hasPrefix("new") { d.freeBytes = d.capacityBytes }
                return d
            }
        func ref(_ name: String) -> MoRef { MoRef("Datastore", "datastore-\(name)") }
        var vmInfos: [VMInfo] = []
        for i in 0..<vms {
            var vm = VMInfo(ref: MoRef("VirtualMachine", "vm-\(i)"), name: "db-\(i)", host: hostInfos[0].ref, cluster: cluster, memoryMB: 4096,
                            configDatastore: ref("old-0"), vmPathName: "[old-0] db-\(i)/db-\(i).vmx", configBytes: gib,
                            disks: [
                                VirtualDiskInfo(key: 2000, label: "Hard disk 1", datastore: ref("old-0"), capacityBytes: 40 * gib, usedBytes: 10 * gib, thinProvisioned: true),
                                VirtualDiskInfo(key: 2001, label: "Hard disk 2", datastore: ref("old-1"), capacityBytes: 50 * gib, usedBytes: 20 * gib, thinProvisioned: true),
                                VirtualDiskInfo(key: 2002, label: "Hard disk 3", datastore: ref("flash-0"), capacityBytes: 30 * gib, usedBytes: 30 * gib),
                            ])
            vm.recomputeDatastores()
            edit(&vm, i)
            vm.recomputeDatastores()
            vmInfos.append(vm)
        }
        return Inventory(clusters: [ClusterInfo(ref: cluster, name: "cl", hosts: all)], hosts: hostInfos, datastores: datastores, vms: vmInfos)
    }

    static func ds(_ inv: Inventory, _ name: String) -> MoRef { inv.datastore(named: name)!.ref }
    static func evacuate(_ inv: Inventory, keepTogether: Bool = true, format: DiskFormat? = nil) -> [JobRequest] {
        let move = StorageMove(targets: [ds(inv, "new-0"), ds(inv, "new-1")], sources: [ds(inv, "old-0"), ds(inv, "old-1")],
                               keepTogether: keepTogether, format: format)
        return inv.vms.map { JobRequest.storageMove($0.ref, move) }
    }

    func relocateSpec(_ op: EngineOperation) -> RelocateSpec? {
        if case .relocate(_, let spec, _) = op { return spec }
        return nil
    }

    @Test("only the files on the source datastores move, together; the flash disk stays (a locator on its datastore)")
    func evacuationKeepsOtherFiles() throws {
        let inv = Self.inventory()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(Self.evacuate(inv))
        #expect(h.starts.count == 1)
        let job = h.scheduler.job(h.starts[0].job)
        #expect(job.size == 31 * Self.gib)
        #expect(Set(job.moves.map(\.file)) == [.config, .disk(2000), .disk(2001)])
        let target = try #require(job.target)
        #expect(job.moves.allSatisfy { $0.to == target })
        let spec = try #require(relocateSpec(h.starts[0].op))
        #expect(spec.datastore == target)
        #expect(spec.disks.count == 3)
        #expect(spec.disks.first { $0.diskKey == 2002 }?.datastore == Self.ds(inv, "flash-0"))
        #expect(spec.disks.filter { $0.diskKey != 2002 }.allSatisfy { $0.datastore == target && $0.format == nil })
        #expect(h.run() == .completed)
        let vm = h.scheduler.inventory.vm(inv.vms[0].ref)!
        #expect(vm.configDatastore == target && vm.disk(2002)?.datastore == Self.ds(inv, "flash-0"))
        #expect(Set(vm.datastores) == [target, Self.ds(inv, "flash-0")])
        #expect(h.auditProblems.isEmpty)
    }

    @Test("a whole-VM move to one datastore needs no locators (every disk follows the home)")
    func wholeVMWithoutLocators() throws {
        let inv = Self.inventory()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add([JobRequest.storageMove(inv.vms[0].ref, to: [Self.ds(inv, "new-0")])])
        let spec = try #require(relocateSpec(h.starts[0].op))
        #expect(spec.datastore == Self.ds(inv, "new-0") && spec.disks.isEmpty)
        #expect(h.scheduler.job(h.starts[0].job).size == 61 * Self.gib)
    }

    @Test("keep_together = false: each file goes to its own datastore, each placed by the strategy")
    func filesApart() throws {
        let inv = Self.inventory()
        let new0 = Self.ds(inv, "new-0"), new1 = Self.ds(inv, "new-1")
        final class Placer: Strategy {
            var calls: [[VMFileID]] = []
            func select(_ inventory: Inventory) throws -> [JobRequest] { [] }
            func place(_ job: Job, files: [VMFile], candidates: [DatastoreInfo]) throws -> TargetAnswer {
                calls.append(files.map(\.id))
                let want = files[0].id == .disk(2001) ? "new-1" : "new-0"
                return candidates.first { $0.name == want }.map { .together($0.ref) } ?? .wait
            }
        }
        let placer = Placer()
        let h = try SchedulerHarness(inventory: inv, strategy: placer)
        try h.add(Self.evacuate(inv, keepTogether: false))
        #expect(placer.calls == [[.config], [.disk(2000)], [.disk(2001)]])
        let job = h.scheduler.job(h.starts[0].job)
        #expect(job.moves.first { $0.file == .disk(2001) }?.to == new1)
        #expect(job.moves.filter { $0.file != .disk(2001) }.allSatisfy { $0.to == new0 })
        let spec = try #require(relocateSpec(h.starts[0].op))
        #expect(spec.datastore == new0)
        #expect(spec.disks.first { $0.diskKey == 2001 }?.datastore == new1)
        #expect(h.run() == .completed)
        #expect(h.auditProblems.isEmpty)
    }

    @Test("map sends each source's files to its own targets; a per-file answer places them one by one")
    func mapAndPerFileAnswers() throws {
        let inv = Self.inventory()
        let new0 = Self.ds(inv, "new-0"), new1 = Self.ds(inv, "new-1")
        var move = StorageMove(targets: [new0, new1], sources: [Self.ds(inv, "old-0"), Self.ds(inv, "old-1")])
        move.map = [SourceMapping(source: Self.ds(inv, "old-0"), targets: [new0]), SourceMapping(source: Self.ds(inv, "old-1"), targets: [new1])]
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add([JobRequest.storageMove(inv.vms[0].ref, move)])
        let job = h.scheduler.job(h.starts[0].job)
        #expect(job.moves.first { $0.file == .disk(2001) }?.to == new1)
        #expect(job.moves.filter { $0.file != .disk(2001) }.allSatisfy { $0.to == new0 })

        final class PerFile: Strategy {
            func select(_ inventory: Inventory) throws -> [JobRequest] { [] }
            func place(_ job: Job, files: [VMFile], candidates: [DatastoreInfo]) throws -> TargetAnswer {
                var map: [VMFileID: MoRef] = [:]
                for f in files { map[f.id] = candidates[f.id == .disk(2000) ? 1 : 0].ref }
                return .perFile(map)
            }
        }
        let h2 = try SchedulerHarness(inventory: inv, strategy: PerFile())
        try h2.add(Self.evacuate(inv))
        let job2 = h2.scheduler.job(h2.starts[0].job)
        #expect(Set(job2.moves.map(\.to)).count == 2)
        #expect(job2.moves.first { $0.file == .disk(2000) }?.to != job2.moves.first { $0.file == .config }?.to)

        final class Partial: Strategy {
            func select(_ inventory: Inventory) throws -> [JobRequest] { [] }
            func place(_ job: Job, files: [VMFile], candidates: [DatastoreInfo]) throws -> TargetAnswer {
                .perFile([.config: candidates[0].ref])
            }
        }
        let h3 = try SchedulerHarness(inventory: inv, strategy: Partial())
        try h3.add(Self.evacuate(inv))
        #expect(h3.starts.isEmpty)
        let failed = h3.jobs(in: .failed)
        #expect(failed.first?.lastError?.contains("placed some files but not disk 1") == true, "\(failed.first?.lastError ?? "")")
    }

    @Test("a VM whose only file on the sources is its home moves the home alone; one with nothing there needs nothing")
    func homeAlone() throws {
        let inv = Self.inventory(vms: 2) { vm, i in
            for k in vm.disks.indices { vm.disks[k].datastore = MoRef("Datastore", "datastore-flash-0") }
            if i == 1 { vm.configDatastore = MoRef("Datastore", "datastore-flash-0") }
        }
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(Self.evacuate(inv))
        #expect(h.starts.count == 1)
        let job = h.scheduler.job(h.starts[0].job)
        #expect(job.vm == inv.vms[0].ref && job.moves.map(\.file) == [.config] && job.size == Self.gib)
        let spec = try #require(relocateSpec(h.starts[0].op))
        #expect(spec.disks.count == 3 && spec.disks.allSatisfy { $0.datastore == Self.ds(inv, "flash-0") })
        #expect(h.scheduler.jobs[1].state == .done)
    }

    @Test("every datastore a move touches is charged once; a datastore holding only files that stay is not")
    func chargesEveryTouchedDatastore() throws {
        let inv = Self.inventory(vms: 4, hosts: 4) { vm, i in vm.host = MoRef("HostSystem", "host-\(i)") }
        let strategy = ClosureStrategy(limits: { _ in LimitOverrides(datastoreMaxCost: 32) })
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(Self.evacuate(inv))
        // old-0 and old-1 are sources of every move: 32 / 16 = two moves at once; flash-0 stays untouched.
        #expect(h.starts.count == 2)
        let usage = h.scheduler.resourceUsage()
        #expect(usage.first { $0.object == Self.ds(inv, "flash-0") && $0.kind == .datastoreCost }?.used == 0)
        #expect(usage.first { $0.object == Self.ds(inv, "old-1") && $0.kind == .datastoreCost }?.used == 32)
        #expect(h.run() == .completed)
        #expect(h.auditProblems.isEmpty)
    }

    @Test("a powered-off VM or a template moves cold: host cost 1, no datastore cost (vSphere's provisioning costs)")
    func coldMoves() throws {
        let inv = Self.inventory(vms: 8) { vm, i in
            vm.powerState = "poweredOff"
            vm.isTemplate = i == 7
        }
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(Self.evacuate(inv))
        #expect(h.starts.count == 8)
        let usage = h.scheduler.resourceUsage()
        #expect(usage.first { $0.object == inv.hosts[0].ref && $0.kind == .hostCost }?.used == 8)
        #expect(usage.filter { $0.kind == .datastoreCost }.allSatisfy { $0.used == 0 })
        let warm = Self.inventory(vms: 8)
        let h2 = try SchedulerHarness(inventory: warm, strategy: ClosureStrategy())
        try h2.add(Self.evacuate(warm))
        #expect(h2.starts.count == 2)
    }

    @Test("format: thin → eager writes each disk's capacity; the locators carry the format; the home has none")
    func formatConversion() throws {
        let inv = Self.inventory()
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(Self.evacuate(inv, format: .eager))
        let job = h.scheduler.job(h.starts[0].job)
        #expect(job.size == Self.gib + 40 * Self.gib + 50 * Self.gib)
        let spec = try #require(relocateSpec(h.starts[0].op))
        #expect(spec.disks.filter { $0.diskKey != 2002 }.allSatisfy { $0.format == .eager })
        #expect(spec.disks.first { $0.diskKey == 2002 }?.format == nil)
        #expect(h.run() == .completed)
        let vm = h.scheduler.inventory.vm(inv.vms[0].ref)!
        #expect(vm.disk(2000)?.format == .eager && vm.disk(2000)?.usedBytes == 40 * Self.gib && vm.disk(2002)?.format == .thick)
    }

    @Test("VMs that cannot move as asked are skipped before anything starts, each with its reason and what to do")
    func cannotMove() throws {
        let flash = MoRef("Datastore", "datastore-flash-0")
        let inv = Self.inventory(vms: 8) { vm, i in
            switch i {
            case 0: vm.disks[1].backing = .rdmPhysical
            case 1: vm.disks[2].sharing = "sharingMultiWriter"
            case 2: vm.faultToleranceRole = 1
            case 3: vm.media = [VirtualMediaInfo(key: 3000, label: "CD/DVD drive 1", fileName: "[old-1] iso/win.iso", datastore: MoRef("Datastore", "datastore-old-1"))]
            case 4: vm.connectionState = "orphaned"
            case 5: vm.disks[1].sharing = "sharingMultiWriter"; vm.powerState = "poweredOff"  // cold: movable
            case 6: vm.media = [VirtualMediaInfo(key: 3000, label: "CD/DVD drive 1", fileName: "[flash-0] iso/win.iso", datastore: flash)]
            default: break
            }
        }
        final class NoTools: Strategy {
            func select(_ inventory: Inventory) throws -> [JobRequest] { [] }
            func check(_ job: Job, vm: VMInfo) throws -> String? { vm.name == "db-7" ? "VMware Tools are not running — start them first" : nil }
        }
        let h = try SchedulerHarness(inventory: inv, strategy: NoTools())
        try h.add(Self.evacuate(inv))
        let blocked = Dictionary(uniqueKeysWithValues: h.scheduler.jobs.filter(\.cannotMove).map { ($0.vmName, $0.lastError ?? "") })
        #expect(Set(blocked.keys) == ["db-0", "db-1", "db-2", "db-3", "db-4", "db-7"], "\(blocked)")
        #expect(blocked["db-0"]?.contains("Hard disk 2 is a physical-mode RDM") == true)
        #expect(blocked["db-1"]?.contains("Hard disk 3 is shared (multi-writer)") == true)
        #expect(blocked["db-2"]?.contains("Fault Tolerance") == true)
        #expect(blocked["db-3"]?.contains("[old-1] iso/win.iso") == true)
        #expect(blocked["db-4"]?.contains("orphaned") == true)
        #expect(blocked["db-7"]?.contains("VMware Tools") == true)
        #expect(blocked.values.allSatisfy { $0.hasPrefix("cannot move: ") && $0.contains(" — ") })
        #expect(h.scheduler.jobs.filter(\.cannotMove).allSatisfy { $0.state == .skipped && $0.attempts == 0 })
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).map(\.vmName).sorted() == ["db-5", "db-6"])
    }

    @Test("destinations keep min_free (10% by default, or the strategy's fraction or bytes); a VM no target could ever hold is skipped up front")
    func headroom() throws {
        // new-* hold 100 GiB; the VM moves 31 GiB: with 10% kept it fits, with 75% kept it never does.
        let inv = Self.inventory(newCapacity: 100 * Self.gib)
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(Self.evacuate(inv))
        #expect(h.starts.count == 1)
        let tight = ClosureStrategy(limits: { _ in LimitOverrides(minFree: .fraction(0.75)) })
        let h2 = try SchedulerHarness(inventory: inv, strategy: tight)
        try h2.add(Self.evacuate(inv))
        #expect(h2.starts.isEmpty)
        let job = h2.scheduler.jobs[0]
        #expect(job.cannotMove && job.lastError?.contains("no target datastore can take config, disk 1 and disk 2") == true, "\(job.lastError ?? "") \(job.state)")
        let bytes = ClosureStrategy(limits: { _ in LimitOverrides(minFree: .bytes(80 * Self.gib)) })
        let h3 = try SchedulerHarness(inventory: inv, strategy: bytes)
        try h3.add(Self.evacuate(inv))
        #expect(h3.starts.isEmpty && h3.scheduler.jobs[0].cannotMove)
    }

    @Test("two VMs that fit one target only one after the other: the second waits for free space, never overfills")
    func spaceIsReservedPerDestination() throws {
        // 100 GiB targets keep 10 GiB: two moves of 61 GiB never share one.
        let inv = Self.inventory(vms: 3, newCapacity: 100 * Self.gib)
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try h.add(inv.vms.map { JobRequest.storageMove($0.ref, to: [Self.ds(inv, "new-0"), Self.ds(inv, "new-1")]) })
        #expect(h.starts.count == 2)
        #expect(Set(h.starts.map { h.scheduler.job($0.job).target }).count == 2)
        #expect(h.run() == .completed)
        // The third can never find room (each target now holds 61 GiB of its 100): failed with why.
        #expect(h.jobs(in: .done).count == 2)
        #expect(h.jobs(in: .failed).first?.lastError?.contains("no target datastore has") == true, "\(h.jobs(in: .failed).first?.lastError ?? "")")
        #expect(h.auditProblems.isEmpty)
    }

    @Test("sdrs: Storage DRS's first recommendation that fits is applied; none fits: the job waits; none at all: it fails as a task would")
    func storageDRS() throws {
        var inv = Self.inventory(vms: 2)
        let pod = MoRef("StoragePod", "group-p1")
        let new0 = Self.ds(inv, "new-0"), new1 = Self.ds(inv, "new-1")
        inv = Inventory(clusters: inv.clusters, hosts: inv.hosts, datastores: inv.datastores, vms: inv.vms,
                        datastoreClusters: [DatastoreClusterInfo(ref: pod, name: "new-pod", datastores: [new0, new1], sdrsEnabled: true)])
        let move = StorageMove(targets: [new0, new1], sources: [Self.ds(inv, "old-0"), Self.ds(inv, "old-1")], storageDRS: pod)
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        // A recommendation outside the cluster is ignored; the next one is taken.
        h.recommend = { _, _ in [StorageRecommendation(key: "1", destination: Self.ds(inv, "flash-0")), StorageRecommendation(key: "2", destination: new1)] }
        try h.add([JobRequest.storageMove(inv.vms[0].ref, move)])
        #expect(h.recommendationsAsked.map(\.pod) == [pod])
        #expect(h.starts.count == 1)
        guard case .applyStorageRecommendation(_, let key) = h.starts[0].op else {
            Issue.record("expected ApplyStorageDrsRecommendation_Task, got \(h.starts[0].op)")
            return
        }
        #expect(key == "2")
        let job = h.scheduler.job(h.starts[0].job)
        #expect(job.target == new1 && job.moves.count == 3 && job.moves.allSatisfy { $0.to == new1 })
        #expect(h.run() == .completed)
        #expect(h.scheduler.inventory.vm(inv.vms[0].ref)?.configDatastore == new1)
        #expect(h.auditProblems.isEmpty)

        let h2 = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        h2.recommend = { _, _ in [] }
        try h2.add([JobRequest.storageMove(inv.vms[1].ref, move)])
        #expect(h2.run() == .completed)
        #expect(h2.jobs(in: .skipped).first?.lastError?.contains("NoStorageRecommendation: Storage DRS of new-pod recommends no datastore for db-1") == true)
        #expect(h2.auditProblems.isEmpty)
    }
}
