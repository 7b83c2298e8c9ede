import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// Smoke measurements: they print figures and check results, never fail on time.
/// `MM_SIM_BENCH=1` adds the full 100,000-task run.
@Suite struct SimulatorPerformanceTests {
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// New datastores by host, to pick a target each VM's host mounts.
    static func targets(_ inv: Inventory) -> [MoRef: [MoRef]] {
        var map: [MoRef: [MoRef]] = [:]
        for ds in inv.datastores where ds.name.hasPrefix("new-") {
            for h in ds.hosts { map[h, default: []].append(ds.ref) }
        }
        return map
    }

    static func run(clusters: Int, hosts: Int, vms: Int, tasks: Int) async throws -> String {
        let clock = ContinuousClock()
        let t0 = clock.now
        let generated = try InventoryGenerator.generate(try GenerateSpec(parsing: "clusters=\(clusters),hosts=\(hosts),vms=\(vms),seed=1"), referenceDate: Fixtures.start)
        let tg = clock.now
        let sim = try SimulatedVCenter(inventory: generated, configuration: Fixtures.config(), source: "generated")
        let t1 = clock.now
        let inv = sim.inventorySnapshot
        let targets = targets(inv)
        var live: [LiveTask] = []
        live.reserveCapacity(tasks)
        // Spread the tasks over all clusters and hosts (VMs are generated round-robin over clusters).
        let stride = max(1, vms / tasks)
        for k in 0..<tasks {
            let vm = inv.vms[(k * stride + k % stride) % vms]
            let choices = targets[vm.host!]!
            live.append(try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: choices[(k / clusters) % choices.count]), priority: .defaultPriority))
        }
        let t2 = clock.now
        let end = sim.advanceUntilIdle()
        let t3 = clock.now
        let stats = sim.stats
        let t4 = clock.now
        let failed = live.filter { $0.state != .success }
        #expect(failed.isEmpty, "\(failed.count) failed, first: \(failed.first.map { "\($0.info.entityName ?? "?"): \($0.info.error?.description ?? $0.state.rawValue)" } ?? "")")
        #expect(stats.exceededLimits.isEmpty)
        #expect(stats.maxMovesPerVM == 1)
        return String(format: "%d VMs: generate %.3f s, load %.3f s; %d tasks: submit %.3f s, advance %.3f s (%.1f simulated hours, %d queued by limits); stats %.3f s",
                      vms, seconds(tg - t0), seconds(t1 - tg), tasks, seconds(t2 - t1), seconds(t3 - t2),
                      end.timeIntervalSince(Fixtures.start) / 3600, stats.tasksQueuedByLimit, seconds(t4 - t3))
    }

    @Test func hundredThousandVMsAndAThousandTasks() async throws {
        let line = try await Self.run(clusters: 50, hosts: 20, vms: 100_000, tasks: 1_000)
        print("simulator smoke: \(line)")
    }

    @Test func referenceMigrationOf3000VMs() async throws {
        let line = try await Self.run(clusters: 3, hosts: 8, vms: 3_000, tasks: 3_000)
        print("simulator smoke: \(line)")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["MM_SIM_BENCH"] != nil))
    func hundredThousandTasks() async throws {
        let line = try await Self.run(clusters: 50, hosts: 20, vms: 100_000, tasks: 100_000)
        print("simulator bench: \(line)")
    }
}
