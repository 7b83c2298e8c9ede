import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

@Suite struct SimulatorFaultInjectionTests {
    @Test func everyNthTaskOfAKindFailsHalfway() async throws {
        let locked = FaultInjection.fault("FileLocked")
        let config = Fixtures.config { $0.faults.everyNth = [.init(3, kinds: [.storageVMotion], fault: locked)] }
        let sim = try Fixtures.handmade(sizesGB: Array(repeating: 10, count: 7), hosts: 4, config: config)
        let before = sim.inventorySnapshot
        var tasks: [LiveTask] = []
        for (i, vm) in "abcdefg".enumerated() {
            tasks.append(try await sim.move(String(vm), to: ["D1", "D2", "D3"][i % 3]))
        }
        sim.advanceUntilIdle()
        let failed = tasks.enumerated().filter { $0.element.state == .error }.map(\.offset)
        #expect(failed == [2, 5])
        let f = tasks[2]
        #expect(f.info.error == locked)
        #expect(f.info.progress == 25)
        // Fails halfway through the copy: 10 s setup + 51.2 s.
        #expect(abs(f.seconds(\.completeTime)! - (10 + 51.2)) < 1e-6)
        #expect(sim.vm("c").datastores == before.vm(named: "c")!.datastores)
        // Both copies to D3 failed: the space they had reserved there is free again.
        #expect(sim.datastore("D3").freeBytes == before.datastore(named: "D3")!.freeBytes)
        #expect(sim.datastore("D1").freeBytes == before.datastore(named: "D1")!.freeBytes - 3 * 10 * Fixtures.gib)
        #expect(sim.stats.movesPerVM[sim.vm("c").ref] == nil)
        // vMotions are not counted by that rule.
        let v = try await sim.migrateVM(sim.vm("a").ref, host: sim.host("esx-2").ref, pool: nil, priority: .defaultPriority)
        sim.advanceUntilIdle()
        #expect(v.state == .success)
    }

    @Test("--inject specs: every=, rate=, fault=, kinds=, at=, vm=, slow-host=, slow-datastore=, delay=, seed=; bad pairs are named")
    func specsParse() throws {
        var f = FaultInjection()
        try f.apply(spec: "every=40, fault=NoDiskSpace, at=0.25")
        try f.apply(spec: "rate=0.02,kinds=all,seed=7")
        try f.apply(spec: "vm=db-01,slow-host=esx-01:0.5,slow-datastore=legacy:01:0.25,delay=30")
        #expect(f.everyNth.count == 1)
        #expect(f.everyNth[0].n == 40 && f.everyNth[0].kinds == [.storageVMotion, .hostAndStorageVMotion])
        #expect(f.everyNth[0].fault.type == "NoDiskSpace")
        #expect(f.failurePoint == 0.25)
        #expect(f.failureProbability == 0.02 && f.probabilityKinds.isEmpty && f.seed == 7)
        #expect(f.probabilityFault.type == "FileLocked")
        #expect(f.failNextTask["db-01"]?.type == "FileLocked")
        #expect(f.slowHosts == ["esx-01": 0.5])
        #expect(f.slowDatastores == ["legacy:01": 0.25])
        #expect(f.startDelay == 30)
        for bad in ["every=0", "every", "rate=2", "fault=", "slow-host=esx", "slow-host=:0.5", "delay=-1", "colour=red", "kinds=some"] {
            var g = FaultInjection()
            #expect(throws: SimulatorConfigurationError.self, "\(bad)") { try g.apply(spec: bad) }
        }
        var g = FaultInjection()
        let error = try #require(throws: SimulatorConfigurationError.self) { try g.apply(spec: "every=3,colour=red") }
        #expect(error.description.contains("'colour=red' has an unknown key") && error.description.contains("slow-datastore=NAME:F"))
    }

    @Test("a parsed every= spec fails every Nth Storage vMotion and leaves vMotions alone")
    func parsedEveryFailsStorageVMotions() async throws {
        var config = Fixtures.config()
        try config.faults.apply(spec: "every=3")
        let sim = try Fixtures.handmade(sizesGB: Array(repeating: 10, count: 6), hosts: 2, config: config)
        var tasks: [LiveTask] = []
        for (i, vm) in "abcdef".enumerated() { tasks.append(try await sim.move(String(vm), to: ["D1", "D2", "D3"][i % 3])) }
        sim.advanceUntilIdle()
        #expect(tasks.enumerated().filter { $0.element.state == .error }.map(\.offset) == [2, 5])
        #expect(tasks[2].info.error?.type == "FileLocked")
        let v = try await sim.migrateVM(sim.vm("a").ref, host: sim.host("esx-2").ref, pool: nil, priority: .defaultPriority)
        sim.advanceUntilIdle()
        #expect(v.state == .success)
    }

    @Test func aNamedVMsNextTaskFailsOnce() async throws {
        let config = Fixtures.config {
            $0.faults.failNextTask = ["b": FaultInjection.fault("InvalidState")]
            $0.faults.failurePoint = 0
        }
        let sim = try Fixtures.handmade(sizesGB: [10, 10], config: config)
        let a = try await sim.move("a", to: "D1")
        let b1 = try await sim.move("b", to: "D1")
        sim.advanceUntilIdle()
        #expect(a.state == .success)
        #expect(b1.state == .error)
        #expect(b1.info.error?.type == "InvalidState")
        #expect(abs(b1.seconds(\.completeTime)! - 10) < 1e-6)   // failure point 0: as the copy begins
        let b2 = try await sim.move("b", to: "D1")
        sim.advanceUntilIdle()
        #expect(b2.state == .success)
        // At run time too.
        try sim.failNextTask(ofVM: "a", with: FaultInjection.fault("HostCommunication"))
        let a2 = try await sim.move("a", to: "D2")
        sim.advanceUntilIdle()
        #expect(a2.info.error?.type == "HostCommunication")
        let nobody = #expect(throws: VCenterFault.self) { try sim.failNextTask(ofVM: "nobody", with: FaultInjection.fault("X")) }
        #expect(nobody?.code == .managedObjectNotFound, "\(String(describing: nobody))")
    }

    @Test func probabilisticFailuresAreSeeded() async throws {
        func run(seed: UInt64) async throws -> [Int] {
            let config = Fixtures.config(overhead: 0) {
                $0.faults.failureProbability = 0.3
                $0.faults.seed = seed
            }
            let sim = try Fixtures.generated("clusters=2,hosts=10,vms=400,datastores=2", sizeGB: 5, config: config)
            var tasks: [LiveTask] = []
            for vm in sim.inventorySnapshot.vms {
                let cluster = vm.cluster == sim.inventorySnapshot.clusters[0].ref ? 0 : 1
                tasks.append(try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: sim.datastore(cluster == 0 ? "new-01" : "new-03").ref), priority: .defaultPriority))
            }
            sim.advanceUntilIdle()
            #expect(tasks.allSatisfy { $0.state.isTerminal })
            return tasks.enumerated().filter { $0.element.state == .error }.map(\.offset)
        }
        let first = try await run(seed: 11)
        #expect(try await run(seed: 11) == first)
        #expect(try await run(seed: 12) != first)
        #expect(first.count > 80 && first.count < 160, "\(first.count) of 400 failed at p = 0.3")
    }

    @Test func slowHostsAndDatastores() async throws {
        let config = Fixtures.config {
            $0.faults.slowHosts = ["esx-2": 0.5]
            $0.faults.slowDatastores = ["D3": 0.25]
        }
        let sim = try Fixtures.handmade(sizesGB: [10, 10, 10], hosts: 3, config: config)
        let normal = try await sim.move("a", to: "D1")      // on esx-1
        let slowHost = try await sim.move("b", to: "D1")    // on esx-2
        let slowDatastore = try await sim.move("c", to: "D3")
        sim.advanceUntilIdle()
        #expect(abs(normal.seconds(\.completeTime)! - 112.4) < 1e-6)
        #expect(abs(slowHost.seconds(\.completeTime)! - (10 + 204.8)) < 1e-6)
        #expect(abs(slowDatastore.seconds(\.completeTime)! - (10 + 409.6)) < 1e-6)
        #expect(throws: SimulatorConfigurationError.self) {
            _ = try Fixtures.handmade(sizesGB: [1], config: Fixtures.config { $0.faults.slowHosts = ["esx-9": 0.5] })
        }
    }

    @Test func delayedStart() async throws {
        let config = Fixtures.config {
            $0.faults.startDelay = 30
            $0.faults.startDelayByVM = ["b": 100]
        }
        let sim = try Fixtures.handmade(sizesGB: [10, 10], config: config)
        let a = try await sim.move("a", to: "D1")
        let b = try await sim.move("b", to: "D2")
        #expect(a.state == .queued && b.state == .queued)
        sim.advance(seconds: 29)
        #expect(a.state == .queued)
        sim.advance(seconds: 30)
        #expect(a.state == .running)
        #expect(a.seconds(\.startTime) == 30)
        sim.advanceUntilIdle()
        #expect(b.seconds(\.startTime) == 130)
        #expect(abs(b.seconds(\.completeTime)! - 242.4) < 1e-6)
        #expect(sim.stats.tasksDelayed == 2)
        #expect(sim.stats.tasksQueuedByLimit == 0)
        // A delayed task can be cancelled before it starts.
        let c = try await sim.move("a", to: "D2")
        try await sim.cancelTask(c.ref)
        #expect(c.info.error?.type == "RequestCanceled")
        #expect(sim.nextEventTime == nil)
    }

    @Test func badConfigurationsAreRejectedClearly() {
        func rejected(_ tweak: (inout SimulatorConfiguration) -> Void) -> String? {
            do {
                _ = try Fixtures.handmade(sizesGB: [1], config: Fixtures.config(tweak))
                return nil
            } catch {
                return String(describing: error)
            }
        }
        #expect(rejected { $0.storageVMotionRateMBps = 0 }?.contains("storageVMotionRateMBps") == true)
        #expect(rejected { $0.clock = .scaled(speed: -1) }?.contains("clock speed") == true)
        #expect(rejected { $0.faults.everyNth = [.init(0, fault: FaultInjection.fault("X"))] }?.contains("n = 0") == true)
        #expect(rejected { $0.faults.failNextTask = ["zz": FaultInjection.fault("X")] }?.contains("'zz'") == true)
        #expect(rejected { $0.progressUpdates = 0 }?.contains("progressUpdates") == true)
    }
}
