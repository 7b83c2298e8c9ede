import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// Storage DRS on a datastore cluster: `RecommendDatastores` for a relocation, then
/// `ApplyStorageDrsRecommendation_Task` with one of the keys.
@Suite struct SimulatorStorageDRSTests {
    static let pod = MoRef("StoragePod", "group-p1")
    static let off = MoRef("StoragePod", "group-p2")
    static let gib = Fixtures.gib

    /// Pod P over D1 (60 GiB), D2 (10 TiB) and X (8 TiB, mounted by esx-2 only); pod Q over S2 with SDRS off.
    static func sim() throws -> SimulatedVCenter {
        let pods = [
            DatastoreClusterInfo(ref: pod, name: "P", datastores: ["D1", "D2", "X"].map(FileFixtures.ds), sdrsEnabled: true),
            DatastoreClusterInfo(ref: off, name: "Q", datastores: [FileFixtures.ds("S2")], sdrsEnabled: false),
        ]
        return try FileFixtures.sim([FileFixtures.multi(), FileFixtures.multi(1, "other")],
                                    capacities: ["D1": 60 * gib, "X": 8 * 1024 * gib], pods: pods)
    }

    @Test("members the host mounts with room for every file that moves, most free space first")
    func recommendationsAreMountedMembersWithRoomByFreeSpace() async throws {
        let sim = try Self.sim()
        let vm = sim.vm("multi").ref
        // All 71 GiB move into the pod: D1 (60 GiB) has no room, X is not mounted on esx-1.
        let recs = try await sim.recommendDatastores(vm, pod: Self.pod, spec: RelocateSpec())
        #expect(recs.map(\.destination) == [FileFixtures.ds("D2")])
        #expect(recs.first?.rating == 5)
        // Going to esx-2, X counts too; D2 has more free space.
        let onHost2 = try await sim.recommendDatastores(vm, pod: Self.pod, spec: RelocateSpec(host: sim.host("esx-2").ref))
        #expect(onHost2.map(\.destination) == [FileFixtures.ds("D2"), FileFixtures.ds("X")])
        // Disks pinned by a locator do not count: home 1 + 40 GiB fit in D1.
        let pinned = [DiskLocator(diskKey: 2001, datastore: FileFixtures.ds("S2")), DiskLocator(diskKey: 2002, datastore: FileFixtures.ds("F"))]
        let some = try await sim.recommendDatastores(vm, pod: Self.pod, spec: RelocateSpec(host: sim.host("esx-2").ref, disks: pinned))
        #expect(some.map(\.destination) == [FileFixtures.ds("D2"), FileFixtures.ds("X"), FileFixtures.ds("D1")])
        #expect(some.allSatisfy { $0.disks == pinned })
        #expect(Set(recs.map(\.key) + onHost2.map(\.key) + some.map(\.key)).count == 6)
        // Nothing moved.
        #expect(sim.stats.tasks.isEmpty)
    }

    @Test("an unknown datastore cluster or one without Storage DRS → InvalidArgument")
    func podMustExistWithStorageDRS() async throws {
        let sim = try Self.sim()
        let vm = sim.vm("multi").ref
        #expect(await sim.fault { _ = try await sim.recommendDatastores(vm, pod: MoRef("StoragePod", "group-p9"), spec: RelocateSpec()) }?.type == "InvalidArgument")
        #expect(await sim.fault { _ = try await sim.recommendDatastores(vm, pod: Self.off, spec: RelocateSpec()) }?.type == "InvalidArgument")
        #expect(await sim.fault { _ = try await sim.recommendDatastores(vm, pod: Self.pod, spec: RelocateSpec(disks: [DiskLocator(diskKey: 7, datastore: FileFixtures.ds("F"))])) }?.type == "InvalidArgument")
    }

    @Test("applying a recommendation relocates the VM as a task with a relocation's costs, time and accounting")
    func applyRunsTheRecommendedRelocation() async throws {
        let sim = try Self.sim()
        let vm = sim.vm("multi").ref
        let pinned = [DiskLocator(diskKey: 2002, datastore: FileFixtures.ds("F"))]
        let recs = try await sim.recommendDatastores(vm, pod: Self.pod, spec: RelocateSpec(disks: pinned))
        let best = try #require(recs.first)
        #expect(best.destination == FileFixtures.ds("D2"))
        let task = try await sim.applyStorageRecommendation(best.key, vm: vm)
        #expect(task.info.name == "ApplyStorageDrsRecommendation_Task")
        #expect(task.info.descriptionId == "StorageResourceManager.applyRecommendation")
        #expect(task.info.entity == vm)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        // Home 1 + 40 + 20 GiB into D2; the flash disk stays.
        #expect(abs(task.seconds(\.completeTime)! - (10 + 61 * 1024.0 / 100)) < 1e-6)
        let moved = sim.vm("multi")
        #expect(moved.datastores == [FileFixtures.ds("D2"), FileFixtures.ds("F")])
        #expect(sim.peakCost(datastore: "D2") == 16 && sim.peakCost(datastore: "F") == 0)
        #expect(sim.stats.bytesInByDatastore[FileFixtures.ds("D2")] == 61 * Self.gib)
        // The pod's free space follows its members.
        let pod = try #require(try await sim.inventory().datastoreCluster(Self.pod))
        #expect(pod.freeBytes == ["D1", "D2", "X"].map { sim.datastore($0).freeBytes }.reduce(0, +))
        #expect(pod.freeBytes == 60 * Self.gib + 18 * 1024 * Self.gib - 61 * Self.gib)
    }

    @Test("a key is applied once; its alternatives go with it; an unknown key or another VM's → InvalidArgument")
    func keysAreAppliedOnce() async throws {
        let sim = try Self.sim()
        let vm = sim.vm("multi").ref, other = sim.vm("other").ref
        let recs = try await sim.recommendDatastores(vm, pod: Self.pod, spec: RelocateSpec(host: sim.host("esx-2").ref))
        #expect(recs.count == 2)
        #expect(await sim.fault { _ = try await sim.applyStorageRecommendation("nope", vm: vm) }?.type == "InvalidArgument")
        #expect(await sim.fault { _ = try await sim.applyStorageRecommendation(recs[0].key, vm: other) }?.type == "InvalidArgument")
        let task = try await sim.applyStorageRecommendation(recs[0].key, vm: vm)
        #expect(await sim.fault { _ = try await sim.applyStorageRecommendation(recs[0].key, vm: vm) }?.type == "InvalidArgument")
        #expect(await sim.fault { _ = try await sim.applyStorageRecommendation(recs[1].key, vm: vm) }?.type == "InvalidArgument")
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(sim.vm("multi").host == sim.host("esx-2").ref)
        #expect(sim.vm("multi").datastores == [FileFixtures.ds("D2")])
    }

    @Test("RecommendDatastores and ApplyStorageDrsRecommendation_Task through invoke")
    func throughInvoke() async throws {
        let sim = try Self.sim()
        typealias F = PropertyValue.Field
        let vm = sim.vm("multi").ref
        let storageSpec = PropertyValue.object(type: "StoragePlacementSpec", fields: [
            F("type", .string("relocate")), F("vm", .moRef(vm)),
            F("podSelectionSpec", .object(type: "StorageDrsPodSelectionSpec", fields: [F("storagePod", .string("StoragePod:group-p1"))])),
            F("relocateSpec", .object(type: "VirtualMachineRelocateSpec", fields: [F("host", .moRef(sim.host("esx-2").ref))])),
        ])
        let srm = SimulatedVCenter.storageResourceManager
        guard case .value(let result) = try await sim.invoke("RecommendDatastores", on: srm, arguments: [F("storageSpec", storageSpec)]),
              case .array(let recs)? = result[field: "recommendations"] else {
            Issue.record("no recommendations")
            return
        }
        #expect(recs.count == 2)
        guard case .array(let actions)? = recs[0][field: "action"] else {
            Issue.record("no action")
            return
        }
        #expect(actions.first?[field: "destination"]?.moRef == FileFixtures.ds("D2"))
        let key = try #require(recs[0][field: "key"]?.string)
        guard case .task(let task) = try await sim.invoke("ApplyStorageDrsRecommendation_Task", on: srm, arguments: [F("key", .array([.string(key)]))]) else {
            Issue.record("no task")
            return
        }
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(task.info.name == "ApplyStorageDrsRecommendation_Task")
        #expect(sim.vm("multi").datastores == [FileFixtures.ds("D2")])
        let wrongObject = await sim.fault { _ = try await sim.invoke("RecommendDatastores", on: vm, arguments: [F("storageSpec", storageSpec)]) }
        #expect(wrongObject?.type == "InvalidArgument")
    }

    @Test("a generated pod: three recommendations out of four members, the emptiest first; applying one moves the VM there")
    func generatedPods() async throws {
        let sim = try Fixtures.generated("clusters=2,hosts=2,vms=20,datastores=4,pods=1,disks=2,spread=0.5,flash=1")
        let inv = sim.inventorySnapshot
        let vm = inv.vms[0]
        let pod = try #require(inv.datastoreClusters.first { $0.name == "new-pod-cluster-1" })
        // Make new-02 the fullest member: it comes last, and out of the three.
        let filler = inv.vms[2]
        #expect(filler.cluster == vm.cluster)
        let fill = try await sim.relocateVM(filler.ref, spec: RelocateSpec(datastore: pod.datastores[1]), priority: .defaultPriority)
        sim.advanceUntilIdle()
        #expect(fill.state == .success)
        let recs = try await sim.recommendDatastores(vm.ref, pod: pod.ref, spec: RelocateSpec())
        #expect(recs.count == 3)
        #expect(!recs.map(\.destination).contains(pod.datastores[1]))
        let free = recs.map { sim.inventorySnapshot.datastore($0.destination)!.freeBytes }
        #expect(free == free.sorted(by: >))
        let task = try await sim.applyStorageRecommendation(recs[0].key, vm: vm.ref)
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        #expect(sim.vm(vm.name).datastores == [recs[0].destination])
        #expect(sim.stats.fileCopies.filter { $0.vm == vm.ref }.count == 3)
    }
}
