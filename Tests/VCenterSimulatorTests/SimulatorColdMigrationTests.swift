import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// A powered-off, suspended or template VM's relocation is a cold migration: vSphere charges it
/// as an "other provisioning operation" (cost 1 on the hosts), not as a Storage vMotion, and
/// its datastore and vMotion network limits do not apply.
@Suite struct SimulatorColdMigrationTests {
    @Test(arguments: ["poweredOff", "suspended", "template"])
    func aColdRelocationCostsOneOnTheHostAndNothingOnDatastores(_ state: String) async throws {
        let vm = FileFixtures.multi { vm in
            if state == "template" { vm.isTemplate = true; vm.powerState = "poweredOff" } else { vm.powerState = state }
        }
        let sim = try FileFixtures.sim([vm])
        let task = try await sim.relocate("multi", to: "D1", disks: [(2001, "D2", nil)])
        sim.advanceUntilIdle()
        #expect(task.state == .success)
        // Same copy time as a Storage vMotion: 71 GiB at 100 MB/s after 10 s.
        #expect(abs(task.seconds(\.completeTime)! - (10 + 71 * 1024.0 / 100)) < 1e-6)
        #expect(sim.peakCost(host: "esx-1") == 1)
        #expect(sim.peakCost(host: "esx-2") == 0)
        for n in FileFixtures.names { #expect(sim.peakCost(datastore: n) == 0, "\(n)") }
        #expect(sim.stats.tasks[0].isColdMigration)
        #expect(sim.stats.tasks[0].kind == .storageVMotion)
    }

    @Test("a cold migration to another host costs 1 on both hosts and nothing on their vMotion networks")
    func aColdMoveAcrossHostsCostsOneOnEach() async throws {
        let sim = try FileFixtures.sim([FileFixtures.multi { $0.powerState = "poweredOff" }, FileFixtures.multi(1, "hostOnly") { $0.powerState = "poweredOff" }])
        let both = try await sim.relocate("multi", to: "D1", host: "esx-2")
        let hostOnly = try await sim.relocate("hostOnly", to: nil, host: "esx-2")
        sim.advanceUntilIdle()
        #expect(both.state == .success && hostOnly.state == .success)
        #expect(sim.peakCost(host: "esx-1") == 2)
        #expect(sim.peakCost(host: "esx-2") == 2)
        for h in FileFixtures.hosts { #expect(sim.stats.usage(.vMotionNetwork(host: h))?.peakCost == 0) }
        for n in FileFixtures.names { #expect(sim.peakCost(datastore: n) == 0, "\(n)") }
    }

    @Test("with a host limit of 8, nine concurrent cold relocations from one host: eight run, the ninth queues")
    func nineColdRelocationsFromOneHostTheNinthQueues() async throws {
        let config = Fixtures.config { $0.limits.hostMaxCost = 8; $0.limits.hostColdMigrationCost = 1 }
        let vms = (0..<9).map { n in
            FileFixtures.vm(n, "cold-\(n)", disks: [FileFixtures.disk(2000, on: "S1", usedGB: Int64(10 + n))], powerState: "poweredOff")
        }
        let sim = try FileFixtures.sim(vms, config: config)
        var tasks: [LiveTask] = []
        for n in 0..<9 { tasks.append(try await sim.relocate("cold-\(n)", to: "D1")) }
        #expect(tasks.prefix(8).allSatisfy { $0.state == .running })
        #expect(tasks[8].state == .queued)
        sim.advanceUntilIdle()
        #expect(tasks.allSatisfy { $0.state == .success })
        // The ninth starts when the first (the smallest, 11 GiB) ends.
        #expect(abs(tasks[8].seconds(\.startTime)! - tasks[0].seconds(\.completeTime)!) < 1e-6)
        let stats = sim.stats
        #expect(stats.usage(.host(sim.host("esx-1").ref))?.peakCost == 8)
        #expect(stats.tasksQueuedByLimit == 1)
        #expect(sim.peakCost(datastore: "S1") == 0 && sim.peakCost(datastore: "D1") == 0)
        #expect(stats.exceededLimits.isEmpty)
    }

    @Test("powered-on VMs next to cold ones: two Storage vMotions (4 each) fill the host; a cold relocation waits")
    func coldAndWarmShareTheHost() async throws {
        let vms = [FileFixtures.multi(0, "w1"), FileFixtures.multi(1, "w2"), FileFixtures.multi(2, "c") { $0.powerState = "poweredOff" }]
        let sim = try FileFixtures.sim(vms)
        let w1 = try await sim.relocate("w1", to: "D1")
        let w2 = try await sim.relocate("w2", to: "D2")
        let c = try await sim.relocate("c", to: "D1")
        #expect(w1.state == .running && w2.state == .running)
        #expect(c.state == .queued)
        sim.advanceUntilIdle()
        #expect(c.state == .success)
        #expect(sim.peakCost(host: "esx-1") == 8)
    }
}
