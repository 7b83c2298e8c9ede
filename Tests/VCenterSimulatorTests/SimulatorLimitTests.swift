import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct SimulatorLimitTests {
    @Test func thirdStorageVMotionOnAHostQueuesUntilOneEnds() async throws {
        // 10, 20 and 30 GiB at 100 MB/s with 10 s setup: 112.4 s, 214.8 s, 317.2 s alone.
        let sim = try Fixtures.handmade(sizesGB: [10, 20, 30])
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        let c = try await sim.move("c", to: "D3")
        #expect(a.state == .running && b.state == .running)
        #expect(c.state == .queued)
        #expect(c.info.startTime == nil)
        sim.advance(seconds: 112)
        #expect(c.state == .queued)
        sim.advance(seconds: 112.4)
        #expect(a.state == .success)
        #expect(c.state == .running)
        #expect(abs(c.seconds(\.startTime)! - 112.4) < 1e-6)
        sim.advanceUntilIdle()
        #expect(abs(c.seconds(\.completeTime)! - (112.4 + 317.2)) < 1e-6)

        let stats = sim.stats
        let host = try #require(stats.usage(.host(sim.host("esx-1").ref)))
        #expect(host.limit == 8)
        #expect(host.peakCost == 8)
        #expect(host.peakTasks == 2)
        #expect(host.tasksQueued == 1)
        #expect(stats.tasksQueuedByLimit == 1)
        #expect(stats.exceededLimits.isEmpty)
        let record = try #require(stats.tasks.first { $0.ref == c.ref })
        #expect(record.queuedByLimit)
        #expect(record.queueTime == Fixtures.start)
        #expect(stats.tasks.filter(\.queuedByLimit).count == 1)
        // Busy time: the host always had a copy running.
        #expect(abs(host.busySeconds - (112.4 + 317.2)) < 1e-6)
        #expect(stats.maxMovesPerVM == 1)
        #expect(abs(stats.makespan! - (112.4 + 317.2)) < 1e-6)
    }

    @Test func ninthStorageVMotionOnADatastoreQueues() async throws {
        // Five hosts (two copies each allowed), ten VMs on S: S allows 8 copies (8 × 16 = 128).
        let sim = try Fixtures.handmade(sizesGB: Array(repeating: 10, count: 10), hosts: 5)
        var tasks: [LiveTask] = []
        for (i, vm) in "abcdefghi".enumerated() {
            tasks.append(try await sim.move(String(vm), to: ["D1", "D2", "D3"][i % 3]))
        }
        #expect(tasks.prefix(8).allSatisfy { $0.state == .running })
        #expect(tasks[8].state == .queued)
        sim.advanceUntilIdle()
        #expect(tasks.allSatisfy { $0.state == .success })
        let stats = sim.stats
        let source = try #require(stats.usage(.datastore(sim.datastore("S").ref)))
        #expect(source.peakCost == 128)
        #expect(source.peakTasks == 8)
        #expect(source.tasksQueued == 1)
        #expect(stats.exceededLimits.isEmpty)
        #expect(stats.usage(.vCenter)?.peakTasks == 8)
        #expect(stats.usage(.cluster(sim.inventorySnapshot.clusters[0].ref))?.peakTasks == 8)
    }

    @Test func vMotionNetworkLimitOn1GbE() async throws {
        let sim = try Fixtures.generated("clusters=1,hosts=2,vms=12,datastores=1,link=1")
        let inv = sim.inventorySnapshot
        let h1 = inv.hosts[0].ref, h2 = inv.hosts[1].ref
        let onFirst = inv.vms(on: h1)
        #expect(onFirst.count == 6)
        var tasks: [LiveTask] = []
        for vm in onFirst { tasks.append(try await sim.migrateVM(vm.ref, host: h2, pool: nil, priority: .defaultPriority)) }
        #expect(tasks.filter { $0.state == .running }.count == 4)
        #expect(tasks.filter { $0.state == .queued }.count == 2)
        sim.advanceUntilIdle()
        #expect(tasks.allSatisfy { $0.state == .success })
        let stats = sim.stats
        #expect(stats.usage(.vMotionNetwork(host: h1))?.limit == 4)
        #expect(stats.usage(.vMotionNetwork(host: h1))?.peakCost == 4)
        #expect(stats.usage(.host(h1))?.peakCost == 4)
        #expect(stats.tasksQueuedByLimit == 2)
        #expect(sim.inventorySnapshot.vms(on: h2).count == 12)
    }

    @Test func vMotionsAndStorageVMotionsShareTheHostCost() async throws {
        // Host max 8: one Storage vMotion (4) and four vMotions (1 each) fit; a fifth vMotion queues.
        let sim = try Fixtures.handmade(sizesGB: Array(repeating: 10, count: 12), hosts: 2)
        let inv = sim.inventorySnapshot
        let h1 = inv.hosts[0].ref, h2 = inv.hosts[1].ref
        let onH1 = inv.vms(on: h1)
        let copy = try await sim.move(onH1[0].name, to: "D1")
        var moves: [LiveTask] = []
        for vm in onH1.dropFirst() { moves.append(try await sim.migrateVM(vm.ref, host: h2, pool: nil, priority: .defaultPriority)) }
        #expect(copy.state == .running)
        #expect(moves.prefix(4).allSatisfy { $0.state == .running })
        #expect(moves.count == 5)
        #expect(moves.last?.state == .queued)
        sim.advanceUntilIdle()
        #expect(sim.stats.usage(.host(h1))?.peakCost == 8)
        #expect(sim.stats.exceededLimits.isEmpty)
    }

    @Test func unenforcedLimitsOnlyCount() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 10, 10], config: Fixtures.config { $0.limits.enforced = false })
        let tasks = [try await sim.move("a", to: "D1"), try await sim.move("b", to: "D2"), try await sim.move("c", to: "D3")]
        #expect(tasks.allSatisfy { $0.state == .running })
        sim.advanceUntilIdle()
        let host = try #require(sim.stats.usage(.host(sim.host("esx-1").ref)))
        #expect(host.peakCost == 12)
        #expect(host.exceedsLimit)
        #expect(sim.stats.exceededLimits.count == 1)
        #expect(sim.stats.tasksQueuedByLimit == 0)
    }

    @Test func loweredLimitsAndAChargeAboveTheLimitRunsAlone() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 10], config: Fixtures.config { $0.limits.hostMaxCost = 2 })
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        #expect(a.state == .running)   // cost 4 > max 2, but the host was idle
        #expect(b.state == .queued)
        sim.advanceUntilIdle()
        #expect(b.state == .success)
        #expect(sim.stats.usage(.host(sim.host("esx-1").ref))?.peakTasks == 1)
    }

    @Test func queuedTasksStartInOrder() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 10, 10, 10, 10, 10])
        var tasks: [LiveTask] = []
        for vm in "abcdef" { tasks.append(try await sim.move(String(vm), to: "D1")) }
        sim.advanceUntilIdle()
        let starts = tasks.map { $0.seconds(\.startTime)! }
        #expect(starts == starts.sorted())
        #expect(zip(starts, [0, 0, 112.4, 112.4, 224.8, 224.8]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(starts)")
        #expect(sim.stats.tasksQueuedByLimit == 4)
    }

    @Test func insufficientSpaceFailsTheCopy() async throws {
        let cluster = MoRef("ClusterComputeResource", "domain-c1")
        let host = HostInfo(ref: MoRef("HostSystem", "host-1"), name: "esx", cluster: cluster)
        let big = DatastoreInfo(ref: MoRef("Datastore", "datastore-1"), name: "big", capacityBytes: 1 << 42, freeBytes: 1 << 41)
        let tiny = DatastoreInfo(ref: MoRef("Datastore", "datastore-2"), name: "tiny", capacityBytes: 1 << 33, freeBytes: 1 << 33)
        let vm = VMInfo(ref: MoRef("VirtualMachine", "vm-1"), name: "huge", host: host.ref, datastores: [big.ref], committedBytes: 1 << 36)
        let inventory = Inventory(clusters: [ClusterInfo(ref: cluster, name: "c", hosts: [host.ref])], hosts: [host], datastores: [big, tiny], vms: [vm])
        let sim = try SimulatedVCenter(inventory: inventory, configuration: Fixtures.config())
        let task = try await sim.move("huge", to: "tiny")
        #expect(task.state == .error)
        #expect(task.info.error?.type == "NoDiskSpace")
        #expect(sim.datastore("tiny").freeBytes == 1 << 33)
        #expect(sim.stats.usage(.host(host.ref))?.peakCost == 0)
    }
}
