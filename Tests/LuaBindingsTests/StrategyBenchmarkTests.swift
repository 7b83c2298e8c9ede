import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// Figures, not assertions on time: how long `examples/storage-migration.lua` takes through
/// `LuaStrategy` and the runner on a virtual-time simulator (what `moonmotion plan` does),
/// next to the same policy as a Swift `ClosureStrategy`. Runs only with MM_STRATEGY_BENCH=1
/// (sizes: MM_STRATEGY_BENCH_VMS, default "3000,100000"); use a release build:
///
///     MM_STRATEGY_BENCH=1 swift test -c release --scratch-path .build-strat --filter StrategyBenchmark
@Suite("Strategy benchmark", .enabled(if: ProcessInfo.processInfo.environment["MM_STRATEGY_BENCH"] == "1"))
struct StrategyBenchmarkTests {
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func spec(vms: Int) -> String {
        // 3,000 VMs: the reference 3 × 8 hosts; larger runs: 10 hosts per cluster, 1,000 VMs per cluster.
        vms <= 3000 ? "clusters=3,hosts=8,vms=\(vms)" : "clusters=\(max(1, vms / 1000)),hosts=10,vms=\(vms)"
    }

    @Test("storage-migration.lua through LuaStrategy on virtual time")
    func storageMigration() async throws {
        let sizes = (ProcessInfo.processInfo.environment["MM_STRATEGY_BENCH_VMS"] ?? "3000,100000")
            .split(separator: ",").compactMap { Int($0) }
        for vms in sizes {
            let clock = ContinuousClock()
            let spec = Self.spec(vms: vms)

            // Lua.
            let generated = clock.now
            let harness = try StrategyHarness(spec: spec)
            let generateTime = clock.now - generated
            let t0 = clock.now
            let strategy = try await harness.strategy(path: StrategyHarness.example("storage-migration.lua"))
            let loadTime = clock.now - t0
            let inventory = try await harness.simulator.inventory()
            let t1 = clock.now
            let requests = try await harness.runtime.perform { _ in try strategy.select(inventory) }
            let selectTime = clock.now - t1
            let jobs = requests.enumerated().map { i, r in
                Job(id: JobID(i), vm: r.vm, vmName: inventory.vm(r.vm)?.name ?? "", cluster: nil, kind: r.kind,
                    size: inventory.vm(r.vm)?.committedBytes ?? 0, createdAt: Date())
            }
            let t2 = clock.now
            let ordered = try await harness.runtime.perform { _ in try strategy.order(jobs) }
            let orderTime = clock.now - t2
            #expect(ordered.count == jobs.count)
            harness.shutdown()

            let runHarness = try StrategyHarness(spec: spec)
            let runStrategy = try await runHarness.strategy(path: StrategyHarness.example("storage-migration.lua"))
            let t3 = clock.now
            let outcome = try await runHarness.run(runStrategy, recordEvents: false)
            let runTime = clock.now - t3
            // Lua's heap at its largest over the whole run (what `--max-memory` counts).
            let heapPeak = try runHarness.runtime.performSync { state in state.memoryPeak }
            runHarness.shutdown()
            #expect(outcome.summary.moved.count == vms)

            // The same policy in Swift.
            let swiftSim = try SimulatedVCenter(generating: spec)
            let swiftStrategy = { ClosureStrategy(
                select: { inv in
                    // As strategy.storage_moves: the new datastores each VM's host mounts.
                    var newByHost: [MoRef: [MoRef]] = [:]
                    for ds in inv.datastores where ds.name.hasPrefix("new-") {
                        for host in ds.hosts { newByHost[host, default: []].append(ds.ref) }
                    }
                    let legacy = Set(inv.datastores.filter { $0.name.hasPrefix("legacy-") }.map(\.ref))
                    return inv.vms.filter { $0.datastores.contains(where: legacy.contains) }.map {
                        JobRequest.storageMove($0.ref, to: $0.host.flatMap { newByHost[$0] } ?? [])
                    }
                },
                limits: { cluster in LimitOverrides(maxConcurrent: max(1, cluster.hosts.count / 2), storageMovesPerHost: 2) },
                onBlocked: { _, _ in .vmotion },
                onFailure: { job, _, _ in job.attempts < 3 ? .retry : .skip }) }
            let t4 = clock.now
            let swiftSummary = try await MigrationRunner(vcenter: swiftSim, strategy: swiftStrategy()).run()
            let swiftTime = clock.now - t4
            #expect(swiftSummary.moved.count == vms)

            // The Swift policy on the Lua executor: what the executor itself costs.
            let executorHarness = try StrategyHarness(spec: spec)
            let t5 = clock.now
            let onLua = try await MigrationRunner(vcenter: executorHarness.simulator, strategy: swiftStrategy(),
                                                  executor: executorHarness.runtime.executor).run()
            let onLuaTime = clock.now - t5
            executorHarness.shutdown()
            #expect(onLua.moved.count == vms)

            let line = String(
                format: "strategy bench %@ (%d VMs): generate %.2f s; Lua: load %.3f s, select %.3f s, order %.3f s, whole run %.2f s (makespan %.0f h, Lua heap peak %@); same policy in Swift: %.2f s (on the Lua executor: %.2f s)",
                spec, vms, Self.seconds(generateTime), Self.seconds(loadTime), Self.seconds(selectTime), Self.seconds(orderTime),
                Self.seconds(runTime), outcome.summary.duration / 3600, LuaState.describeBytes(heapPeak), Self.seconds(swiftTime),
                Self.seconds(onLuaTime))
            print(line)
        }
    }
}
