import Foundation
import MigrationEngine
import Locking
import Testing
import VCenterModel
import VCenterSimulator

/// The engine on VCenterSimulator (the in-process vCenter `moonmotion plan` uses), whose
/// own accounting of ESXi's limits checks the engine independently.
@Suite("Engine on VCenterSimulator")
struct SimulatorTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func simulator(_ spec: String, configure: (inout SimulatorConfiguration) -> Void = { _ in }) throws -> SimulatedVCenter {
        var config = SimulatorConfiguration()
        config.startTime = start
        configure(&config)
        return try SimulatedVCenter(generating: spec, configuration: config)
    }

    /// The classic strategy: every VM on `legacy-*` to its cluster's `new-*` datastores, hosts / 2 per cluster.
    static func classic(onFailure: ((Job, VCenterFault, Int) throws -> FailureDecision)? = nil) -> ClosureStrategy {
        ClosureStrategy(
            select: { inv in
                inv.vms.compactMap { vm -> JobRequest? in
                    guard let host = vm.host else { return nil }
                    let targets = inv.datastores.filter { $0.name.hasPrefix("new") && $0.hosts.contains(host) }.map(\.ref)
                    return .storageMove(vm.ref, to: targets)
                }
            },
            limits: { c in LimitOverrides(maxConcurrent: max(1, c.hosts.count / 2)) },
            onFailure: onFailure)
    }

    @Test("3 clusters × 8 hosts: every VM moved once, no limit exceeded, nothing queued, ≤ 3 calls per VM, makespan near the bound")
    func referenceMigration() async throws {
        let sim = try Self.simulator("clusters=3,hosts=8,vms=480,seed=7")
        let inventory = try await sim.inventory()
        let runner = MigrationRunner(vcenter: sim, strategy: Self.classic())
        let summary = try await runner.run()
        let stats = sim.stats
        #expect(summary.outcome == .completed)
        #expect(summary.moved.count == inventory.vms.count)
        #expect(stats.maxMovesPerVM == 1)
        #expect(stats.movesPerVM.count == inventory.vms.count)
        #expect(stats.exceededLimits.isEmpty, "\(stats.exceededLimits.map(\.name))")
        #expect(stats.tasksQueuedByLimit == 0, "the engine never hands vCenter more than the limits allow")
        #expect(summary.callsPerMovedVM <= 3)
        // Lower bound: per cluster, the sum of task times ÷ slots (hosts / 2), or the longest task.
        let rate = sim.configuration.storageVMotionRateMBps * 1_048_576
        let overhead = sim.configuration.storageVMotionOverhead
        var bound = 0.0
        for cluster in inventory.clusters {
            let times = inventory.vms.filter { $0.cluster == cluster.ref }.map { overhead + Double($0.committedBytes) / rate }
            bound = max(bound, times.reduce(0, +) / Double(cluster.hosts.count / 2), times.max() ?? 0)
        }
        let makespan = try #require(stats.makespan)
        #expect(makespan <= bound * 1.02, "makespan \(Int(makespan)) s, bound \(Int(bound)) s (×\(makespan / bound))")
    }

    @Test("injected failures: retriable ones retried with backoff, others skipped as the strategy says")
    func injectedFailures() async throws {
        let sim = try Self.simulator("clusters=2,hosts=4,vms=80,seed=3") { c in
            c.faults.everyNth = [
                FaultInjection.EveryNth(7, kinds: [.storageVMotion], fault: FaultInjection.fault("FileLocked")),
                FaultInjection.EveryNth(11, kinds: [.storageVMotion], fault: FaultInjection.fault("InvalidArgument", "bad disk")),
            ]
        }
        let decisions = Locked<[String]>([])
        let strategy = Self.classic(onFailure: { _, fault, _ in
            decisions.withLock { $0.append(fault.type) }
            return .skip
        })
        var config = RunConfiguration()
        config.scheduler.retry = RetryPolicy(initialDelay: 30, maxDelay: 120, maxAttempts: 5)
        let runner = MigrationRunner(vcenter: sim, strategy: strategy, configuration: config)
        let summary = try await runner.run()
        #expect(summary.outcome == .completed)
        #expect(!summary.skipped.isEmpty)
        #expect(summary.skipped.allSatisfy { $0.lastError?.contains("InvalidArgument") == true })
        #expect(decisions.withLock { $0 }.allSatisfy { $0 == "InvalidArgument" }, "FileLocked never reaches the strategy")
        let retried = summary.jobs.filter { $0.state == .done && $0.attempts > 1 }
        #expect(!retried.isEmpty, "FileLocked failures were retried and then succeeded")
        #expect(summary.done.count + summary.skipped.count == 80)
        #expect(sim.stats.maxMovesPerVM == 1)
        #expect(sim.stats.exceededLimits.isEmpty)
    }

    @Test("kill -9 after a task reference, then resume on the simulator: every VM moved exactly once")
    func crashResume() async throws {
        let path = temporaryJournalPath()
        defer { removeJournal(path) }
        let sim = try Self.simulator("clusters=2,hosts=4,vms=60,seed=5")
        for (point, nth) in [(CrashPoint.beforeRef, 5), (.afterIntent, 9), (.afterDone, 12)] {
            let journal = try Journal(path: path)
            journal.injectCrash(point.rule(nth: nth))
            var config = RunConfiguration()
            config.resume = point != .beforeRef  // the first run starts the journal
            let runner = MigrationRunner(vcenter: sim, strategy: Self.classic(), configuration: config, journal: journal)
            let stop = await #expect(throws: EngineError.self) { try await runner.run() }
            #expect(stop?.isJournal == true, "\(String(describing: stop))")
        }
        var config = RunConfiguration()
        config.resume = true
        let last = MigrationRunner(vcenter: sim, strategy: Self.classic(), configuration: config, journal: try Journal(path: path))
        let summary = try await last.run()
        #expect(summary.outcome == .completed)
        #expect(summary.done.count == 60)
        #expect(sim.stats.movesPerVM.count == 60)
        #expect(sim.stats.maxMovesPerVM == 1)
        #expect(sim.stats.exceededLimits.isEmpty)
    }
}
