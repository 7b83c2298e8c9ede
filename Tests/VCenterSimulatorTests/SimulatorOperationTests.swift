import Foundation
import Locking
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct SimulatorOperationTests {
    @Test func displayNameSaysSimulated() throws {
        let sim = try SimulatedVCenter(generating: "clusters=3,hosts=8,vms=3000", configuration: Fixtures.config())
        #expect(sim.displayName == "simulated vCenter (generated: 3 clusters, 24 hosts, 3000 VMs)")
        #expect(sim.isVirtualTime)
        #expect(sim.now == Fixtures.start)
        #expect(sim.nextEventTime == nil)
    }

    @Test func identityIsNeverTheRealVCentersOfItsInventory() async throws {
        var inventory = try InventoryGenerator.generate(GenerateSpec(parsing: "clusters=1,hosts=2,vms=4"), referenceDate: Fixtures.start)
        inventory.about = AboutInfo(name: "VMware vCenter Server", fullName: "vCenter", version: "8.0.2", apiVersion: "8.0.2.0",
                                    instanceUuid: "0b8d4b4c-1a2b-4c3d-9e8f-0123456789ab")
        let loaded = try SimulatedVCenter(inventory: inventory, configuration: Fixtures.config())
        // A journal of a run on this simulator must not pass for one of that vCenter's on --resume.
        #expect(try await loaded.about().instanceUuid == "simulated:0b8d4b4c-1a2b-4c3d-9e8f-0123456789ab")
        inventory.about = nil
        #expect(try await SimulatedVCenter(inventory: inventory, configuration: Fixtures.config()).about().instanceUuid == "simulated")
    }

    @Test func storageVMotionTakesOverheadPlusSizeOverRateAndMovesTheVM() async throws {
        // 100 GiB at 100 MB/s + 10 s setup = 1,034 s.
        let sim = try Fixtures.handmade(sizesGB: [100])
        let before = sim.inventorySnapshot
        let task = try await sim.move("a", to: "D1")
        #expect(task.state == .running)
        #expect(task.info.name == "RelocateVM_Task" && task.info.descriptionId == "VirtualMachine.relocate")
        #expect(task.info.entity == sim.vm("a").ref)
        #expect(task.info.entityName == "a")
        #expect(task.info.cancelable)
        #expect(task.info.ref.type == "Task" && task.info.ref.value.hasPrefix("task-"))
        #expect(task.seconds(\.queueTime) == 0 && task.seconds(\.startTime) == 0)
        #expect(task.info.progress == 0)
        // The destination's space is reserved while the copy runs.
        #expect(sim.datastore("D1").freeBytes == before.datastore(named: "D1")!.freeBytes - 100 * Fixtures.gib)

        let seen = Locked<[Int]>([])
        task.observe { info in seen.withLock { $0.append(info.progress ?? -1) } }
        #expect(sim.nextEventTime == Fixtures.start.addingTimeInterval(10))
        sim.advance(seconds: 1033)
        #expect(task.state == .running)
        #expect(task.info.progress == 75)
        #expect(sim.vm("a").datastores == [before.datastore(named: "S")!.ref])
        sim.advance(seconds: 1034)
        #expect(task.state == .success)
        #expect(task.info.progress == 100)
        #expect(task.seconds(\.completeTime) == 1034)
        #expect(seen.withLock { $0 } == [25, 50, 75, 100])
        let done = try await task.completion()
        #expect(done.state == .success)

        let after = try await sim.inventory()
        #expect(after.vm(named: "a")!.datastores == [after.datastore(named: "D1")!.ref])
        #expect(after.datastore(named: "S")!.freeBytes == before.datastore(named: "S")!.freeBytes + 100 * Fixtures.gib)
        #expect(after.datastore(named: "D1")!.freeBytes == before.datastore(named: "D1")!.freeBytes - 100 * Fixtures.gib)
        #expect(sim.stats.movesPerVM[sim.vm("a").ref] == 1)
        #expect(sim.nextEventTime == nil)
    }

    @Test func progressUpdatesAreConfigurable() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10], config: Fixtures.config { $0.progressUpdates = 10 })
        let task = try await sim.move("a", to: "D1")
        let seen = Locked<[Int]>([])
        task.observe { info in seen.withLock { $0.append(info.progress ?? -1) } }
        sim.advanceUntilIdle()
        #expect(seen.withLock { $0 } == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    }

    @Test func vMotionTimeComesFromMemory() async throws {
        // 8 GiB of memory at 1,000 MB/s + 5 s = 13.192 s.
        let sim = try Fixtures.handmade(sizesGB: [50], hosts: 2, memoryMB: 8192)
        let target = sim.host("esx-2")
        let task = try await sim.migrateVM(sim.vm("a").ref, host: target.ref, pool: nil, priority: .highPriority)
        #expect(task.info.name == "MigrateVM_Task" && task.info.descriptionId == "VirtualMachine.migrate")
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(abs(task.seconds(\.completeTime)! - (5 + 8192.0 / 1000)) < 1e-6)
        #expect(sim.vm("a").host == target.ref)
        #expect(sim.vm("a").cluster == target.cluster)
    }

    @Test("a vMotion's rate follows the slower vMotion link (1 GbE: 100 MB/s), unless one is configured")
    func vMotionRateFollowsTheLink() async throws {
        let cases: [(links: [Int], configured: Double?, expected: Double)] = [
            ([10_000, 1_000], nil, 5 + 8192.0 / 100), ([1_000, 10_000], nil, 5 + 8192.0 / 100),
            ([10_000, 10_000], nil, 5 + 8192.0 / 1000), ([1_000, 1_000], 400, 5 + 8192.0 / 400),
        ]
        for (links, configured, expected) in cases {
            let sim = try Fixtures.handmade(sizesGB: [50], hosts: 2, memoryMB: 8192, linkMbps: links,
                                            config: Fixtures.config { $0.vMotionRateMBps = configured })
            let task = try await sim.migrateVM(sim.vm("a").ref, host: sim.host("esx-2").ref, pool: nil, priority: .highPriority)
            sim.advanceUntilIdle()
            #expect(task.state == .success)
            #expect(abs(task.seconds(\.completeTime)! - expected) < 1e-6, "links \(links), configured \(String(describing: configured))")
        }
    }

    @Test func aMoveAcrossClustersLandsInTheDestinationClustersPool() async throws {
        let sim = try Fixtures.generated("clusters=2,hosts=2,vms=4,datastores=1,shared=true")
        let inv = sim.inventorySnapshot
        let vm = inv.vms[0]
        let otherHost = inv.clusters[1].hosts[0]
        let otherPool = inv.vms.first { $0.cluster == inv.clusters[1].ref }!.resourcePool
        #expect(vm.resourcePool != otherPool)
        let task = try await sim.migrateVM(vm.ref, host: otherHost, pool: nil, priority: .defaultPriority)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(sim.inventorySnapshot.vm(vm.ref)?.cluster == inv.clusters[1].ref)
        #expect(sim.inventorySnapshot.vm(vm.ref)?.resourcePool == otherPool)
    }

    @Test func relocateOfHostAndStorageTogether() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10], hosts: 2, memoryMB: 2000)
        let spec = RelocateSpec(datastore: sim.datastore("D2").ref, host: sim.host("esx-2").ref)
        let task = try await sim.relocateVM(sim.vm("a").ref, spec: spec, priority: .defaultPriority)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        // setup 10 s + vMotion 5 + 2000/1000 s, then 10 GiB at 100 MB/s.
        #expect(abs(task.seconds(\.completeTime)! - (10 + 5 + 2 + 102.4)) < 1e-6)
        #expect(sim.vm("a").host == sim.host("esx-2").ref)
        #expect(sim.vm("a").datastores == [sim.datastore("D2").ref])
        #expect(sim.stats.tasks.first?.kind == .hostAndStorageVMotion)
    }

    @Test func aSecondTaskOnABusyVMFailsWithTaskInProgress() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10])
        let first = try await sim.move("a", to: "D1")
        let second = try await sim.move("a", to: "D2")
        #expect(second.state == .error)
        #expect(second.info.error?.type == "TaskInProgress")
        #expect(second.info.error?.isRetriable == true)
        #expect(first.state == .running)
        sim.advanceUntilIdle()
        #expect(first.state == .success)
        // Once the first ended, the VM takes new work.
        let third = try await sim.move("a", to: "D2")
        #expect(third.state == .running)
    }

    @Test func unknownObjectsAndWrongPlacementsAreFaults() async throws {
        let sim = try Fixtures.generated("clusters=2,hosts=2,vms=4,datastores=1")
        let vm = sim.inventorySnapshot.vms[0]   // cluster-1
        let otherCluster = sim.inventorySnapshot.clusters[1]
        func fault(_ body: () async throws -> Void) async -> VCenterFault? {
            do { try await body(); return nil } catch { return error as? VCenterFault }
        }
        #expect(await fault { _ = try await sim.relocateVM(MoRef("VirtualMachine", "vm-999999"), spec: RelocateSpec(datastore: sim.datastore("new-01").ref), priority: .defaultPriority) }?.type == "ManagedObjectNotFound")
        #expect(await fault { _ = try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: MoRef("Datastore", "datastore-1")), priority: .defaultPriority) }?.type == "ManagedObjectNotFound")
        #expect(await fault { _ = try await sim.migrateVM(vm.ref, host: MoRef("HostSystem", "host-1"), pool: nil, priority: .defaultPriority) }?.type == "ManagedObjectNotFound")
        // new-02 belongs to cluster-2: not mounted on the VM's host.
        let wrongDatastore = await fault { _ = try await sim.move(vm.name, to: "new-02") }
        #expect(wrongDatastore?.type == "InvalidArgument")
        #expect(wrongDatastore?.message.contains("not mounted on host") == true)
        // vMotion into another cluster whose hosts do not see the VM's datastore.
        let wrongHost = await fault { _ = try await sim.migrateVM(vm.ref, host: otherCluster.hosts[0], pool: nil, priority: .defaultPriority) }
        #expect(wrongHost?.type == "InvalidArgument")
        #expect(await fault { _ = try await sim.task(MoRef("Task", "task-5")) }?.type == "ManagedObjectNotFound")
        #expect(await fault { _ = try await sim.refreshVMs([MoRef("VirtualMachine", "vm-1")]) }?.type == "ManagedObjectNotFound")
        #expect(await fault { _ = try await sim.invoke("ReconfigVM_Task", on: vm.ref, arguments: []) }?.type == "NotSupported")
        // Nothing was started by any of these.
        #expect(sim.stats.tasks.isEmpty)
    }

    @Test func cancelRunningAndQueuedTasks() async throws {
        let sim = try Fixtures.handmade(sizesGB: [100, 100, 100])
        let before = sim.inventorySnapshot
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        let c = try await sim.move("c", to: "D3")
        #expect(c.state == .queued)
        sim.advance(seconds: 300)
        try await sim.cancelTask(a.ref)
        #expect(a.state == .error)
        #expect(a.info.error?.type == "RequestCanceled")
        #expect(a.seconds(\.completeTime) == 300)
        // The VM stayed where it was and the reserved space came back.
        #expect(sim.vm("a").datastores == before.vm(named: "a")!.datastores)
        #expect(sim.datastore("D1").freeBytes == before.datastore(named: "D1")!.freeBytes)
        // Its host slot went to the queued task at once.
        #expect(c.state == .running)
        #expect(c.seconds(\.startTime) == 300)
        // Cancel a queued one.
        let d = try await sim.relocateVM(sim.vm("a").ref, spec: RelocateSpec(datastore: sim.datastore("D1").ref), priority: .defaultPriority)
        #expect(d.state == .queued)
        try await sim.invoke("CancelTask", on: d.ref, arguments: []).expectValue()
        #expect(d.state == .error)
        #expect(d.info.startTime == nil)
        // A finished task cannot be cancelled.
        let ended = await #expect(throws: VCenterFault.self) { try await sim.cancelTask(a.ref) }
        #expect(ended?.code == .invalidState, "\(String(describing: ended))")
        sim.advanceUntilIdle()
        #expect(b.state == .success && c.state == .success)
        #expect(sim.stats.movesPerVM[sim.vm("a").ref] == nil)
    }

    @Test func snapshotsAndConsolidation() async throws {
        let sim = try SimulatedVCenter(generating: "clusters=1,hosts=2,vms=200,snapshots=0.5,consolidate=0.3,seed=5", configuration: Fixtures.config())
        let inv = sim.inventorySnapshot
        let withSnaps = inv.vms.filter { $0.snapshots.count >= 2 }
        let all = withSnaps[0], named = withSnaps[1], byRef = withSnaps[2]
        let needy = try #require(inv.vms.first { $0.consolidationNeeded && !$0.hasSnapshots })

        let t1 = try await sim.removeSnapshot(all.ref, .all, removeChildren: true, consolidate: true)
        #expect(t1.info.name == "RemoveAllSnapshots_Task" && t1.info.descriptionId == "VirtualMachine.removeAllSnapshots")
        #expect(!t1.info.cancelable)
        let second = named.snapshots[1]
        let t2 = try await sim.removeSnapshot(named.ref, .named(second.name), removeChildren: false, consolidate: true)
        #expect(t2.info.name == "RemoveSnapshot_Task" && t2.info.descriptionId == "vm.Snapshot.remove")
        let t3 = try await sim.invoke("RemoveSnapshot_Task", on: byRef.snapshots[0].ref, arguments: [.init("removeChildren", .bool(true))]).expectTask()
        let t4 = try await sim.consolidateDisks(needy.ref)
        #expect(t4.info.name == "ConsolidateVMDisks_Task")
        let notCancelable = await #expect(throws: VCenterFault.self) { try await sim.cancelTask(t4.ref) }
        #expect(notCancelable?.code == .notSupported, "\(String(describing: notCancelable))")
        sim.advanceUntilIdle()
        for t in [t1, t2, t3, t4] { #expect(t.state == .success) }
        // Durations follow the delta size: 5 s + 5% of committed at 250 MB/s.
        let expected = 5 + Double(all.committedBytes) * 0.05 / (250 * Fixtures.mib)
        #expect(abs(t1.seconds(\.completeTime)! - expected) < 1e-6)

        let after = sim.inventorySnapshot
        #expect(after.vm(all.ref)!.snapshots.isEmpty)
        #expect(!after.vm(all.ref)!.consolidationNeeded)
        let remaining = after.vm(named.ref)!.snapshots
        #expect(remaining.count == named.snapshots.count - 1)
        #expect(!remaining.contains { $0.ref == second.ref })
        // The removed snapshot's child now hangs from its parent.
        if named.snapshots.count > 2 { #expect(remaining[1].parent == named.snapshots[0].ref) }
        #expect(after.vm(byRef.ref)!.snapshots.isEmpty)
        #expect(!after.vm(needy.ref)!.consolidationNeeded)
        // Unknown snapshot names and references are faults.
        let unknown = await #expect(throws: VCenterFault.self) { try await sim.removeSnapshot(all.ref, .named("nope"), removeChildren: false, consolidate: true) }
        #expect(unknown?.code == .invalidArgument, "\(String(describing: unknown))")
        let removed = await #expect(throws: VCenterFault.self) { try await sim.removeSnapshot(all.ref, .ref(second.ref), removeChildren: false, consolidate: true) }
        #expect(removed?.code == .managedObjectNotFound, "\(String(describing: removed))")  // removed above (t2)
    }

    @Test func invokeKnownMethods() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 10], hosts: 2)
        let spec = PropertyValue.object(type: "VirtualMachineRelocateSpec", fields: [.init("datastore", .moRef(sim.datastore("D3").ref))])
        let t = try await sim.invoke("RelocateVM_Task", on: sim.vm("a").ref, arguments: [.init("spec", spec), .init("priority", .string("highPriority"))]).expectTask()
        let m = try await sim.invoke("MigrateVM_Task", on: sim.vm("b").ref, arguments: [.init("host", .moRef(sim.host("esx-1").ref))]).expectTask()
        sim.advanceUntilIdle()
        #expect(t.state == .success && m.state == .success)
        #expect(sim.vm("a").datastores == [sim.datastore("D3").ref])
        #expect(sim.vm("b").host == sim.host("esx-1").ref)
        let off = try await sim.invoke("PowerOffVM_Task", on: sim.vm("a").ref, arguments: []).expectTask()
        #expect(off.info.name == "PowerOffVM_Task" && off.info.descriptionId == "VirtualMachine.powerOff")
        sim.advanceUntilIdle()
        #expect(sim.vm("a").powerState == "poweredOff")
        let again = try await sim.invoke("PowerOffVM_Task", on: sim.vm("a").ref, arguments: []).expectTask()
        #expect(again.info.error?.type == "InvalidPowerState")
        let onHost = await #expect(throws: VCenterFault.self) { _ = try await sim.invoke("RelocateVM_Task", on: sim.host("esx-1").ref, arguments: [.init("spec", spec)]) }
        #expect(onHost?.code == .invalidArgument, "\(String(describing: onHost))")
        let noSpec = await #expect(throws: VCenterFault.self) { _ = try await sim.invoke("RelocateVM_Task", on: sim.vm("a").ref, arguments: []) }
        #expect(noSpec?.code == .invalidArgument, "\(String(describing: noSpec))")
    }

    @Test func taskLookupAndRecentTasks() async throws {
        var config = Fixtures.config()
        config.recentTaskWindow = 600
        let sim = try Fixtures.handmade(sizesGB: [10, 10, 10], config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D1")
        let c = try await sim.move("c", to: "D1")
        #expect(try await sim.task(a.ref) === a)
        #expect(try await sim.recentTasks(TaskQuery()).count == 3)
        #expect(try await sim.recentTasks(TaskQuery(states: [.queued])).map(\.ref) == [c.ref])
        #expect(try await sim.recentTasks(TaskQuery(entity: sim.vm("b").ref)).map(\.ref) == [b.ref])
        sim.advance(seconds: 115)   // a and b done at 112.4
        #expect(try await sim.recentTasks(TaskQuery(states: [.success])).map(\.ref).sorted() == [a.ref, b.ref].sorted())
        sim.advance(seconds: 112.4 + 601)
        // a and b left the window; c (started at 112.4, done at 224.8) is still in it.
        #expect(try await sim.recentTasks(TaskQuery()).map(\.ref) == [c.ref])
        #expect(try await sim.recentTasks(TaskQuery(entity: sim.host("esx-1").ref)).isEmpty)
    }

    @Test func observersStartingTasksDuringAdvanceAreStampedAtTheEventTime() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 10])
        let a = try await sim.move("a", to: "D1")
        let chained = Locked<LiveTask?>(nil)
        let bRef = sim.vm("b").ref, d2 = sim.datastore("D2").ref
        a.observe { [sim] info in
            guard info.state == .success else { return }
            // Synchronously from the observer, inside advance.
            let task = try? sim.perform { try $0.relocate(bRef, spec: RelocateSpec(datastore: d2), name: "VirtualMachine.relocate") }
            chained.withLock { $0 = task }
        }
        sim.advanceUntilIdle()
        let b = try #require(chained.withLock { $0 })
        #expect(b.seconds(\.queueTime) == a.seconds(\.completeTime))
        #expect(b.state == .success)
        #expect(abs(b.seconds(\.completeTime)! - 2 * 112.4) < 1e-6)
    }

    @Test func closeEndsTheSession() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10])
        await sim.close()
        // NotAuthenticated, the fault a client answers by logging in again.
        let closed = await #expect(throws: VCenterFault.self) { _ = try await sim.about() }
        #expect(closed?.code == .notAuthenticated, "\(String(describing: closed))")
    }

    @Test func aboutSaysSimulated() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10])
        let about = try await sim.about()
        #expect(about.name.contains("simulated"))
        #expect(about.apiType == "VirtualCenter")
    }
}

extension InvokeResult {
    func expectTask(sourceLocation: SourceLocation = #_sourceLocation) throws -> LiveTask {
        guard case .task(let t) = self else {
            Issue.record("expected a task, got \(self)", sourceLocation: sourceLocation)
            throw VCenterFault(type: "Test", message: "not a task")
        }
        return t
    }
    func expectValue(sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .value = self else { Issue.record("expected a value", sourceLocation: sourceLocation); return }
    }
}
