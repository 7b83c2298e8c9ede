import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// The highest number of `tasks` running at once (intervals from start to completion).
private func peakOverlap(_ tasks: [SimulatorStats.TaskRecord]) -> Int {
    var edges: [(Date, Int)] = []
    for t in tasks {
        guard let start = t.startTime, let end = t.completeTime else { continue }
        edges.append((start, 1))
        edges.append((end, -1))
    }
    edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    var current = 0, peak = 0
    for (_, d) in edges {
        current += d
        peak = max(peak, current)
    }
    return peak
}

/// Successful Storage vMotions per VM name.
private func copies(_ stats: SimulatorStats) -> [String: Int] {
    stats.tasks.filter { $0.kind.copiesDisks && $0.state == .success }.reduce(into: [:]) { $0[$1.entityName, default: 0] += 1 }
}

@Suite("Strategy examples on the simulator")
struct StrategyExampleTests {
    @Test("storage-migration.lua: every legacy VM moves once to new-*, largest first, within every limit")
    func storageMigration() async throws {
        let harness = try StrategyHarness(spec: "clusters=3,hosts=8,vms=600")
        defer { harness.shutdown() }
        let before = try await harness.simulator.inventory()
        let strategy = try await harness.strategy(path: StrategyHarness.example("storage-migration.lua"))
        let outcome = try await harness.run(strategy)

        #expect(outcome.summary.outcome == .completed)
        #expect(outcome.summary.failed.isEmpty && outcome.summary.skipped.isEmpty)
        let moved = copies(outcome.stats)
        #expect(moved.count == before.vms.count)
        #expect(moved.values.allSatisfy { $0 == 1 }, "a VM moved twice")
        for vm in outcome.inventory.vms {
            let names = outcome.datastores(of: vm.name)
            #expect(!names.isEmpty && names.allSatisfy { $0.hasPrefix("new-") }, "\(vm.name) is on \(names)")
        }
        // vSphere's limits were never reached beyond what it runs at once: nothing queued in vCenter.
        #expect(outcome.stats.tasksQueuedByLimit == 0)
        #expect(outcome.stats.exceededLimits.isEmpty)
        // The strategy's own limits: hosts/2 jobs per cluster, 2 Storage vMotions per host.
        for cluster in before.clusters {
            let inCluster = outcome.stats.tasks.filter { before.vm($0.entity)?.cluster == cluster.ref }
            #expect(peakOverlap(inCluster) <= 4, "\(cluster.name)")
            #expect(peakOverlap(inCluster) == 4, "\(cluster.name) never used its 4 slots")
        }
        for host in before.hosts {
            let copying = outcome.stats.tasks.filter { $0.kind.copiesDisks && $0.sourceHost == host.ref }
            #expect(peakOverlap(copying) <= 2, "\(host.name)")
        }
        // Largest first: in each cluster the largest VM starts first, the copies started at
        // once are among its largest (a third large VM on a host already copying two waits:
        // the host has no cost left even for a vMotion), and the first tenth of the copies
        // is far larger on average than the last tenth.
        for cluster in before.clusters {
            let vms = before.vms.filter { $0.cluster == cluster.ref }.sorted { $0.committedBytes > $1.committedBytes }
            let started = outcome.stats.tasks.filter { $0.kind.copiesDisks && before.vm($0.entity)?.cluster == cluster.ref }
                .sorted { ($0.startTime ?? .distantFuture, $0.entityName) < ($1.startTime ?? .distantFuture, $1.entityName) }
            let atOnce = started.filter { $0.startTime == started.first?.startTime }.map(\.entityName)
            #expect(atOnce.count == 4, "\(cluster.name)")
            #expect(vms.first.map { atOnce.contains($0.name) } == true, "\(cluster.name)")
            #expect(Set(atOnce).isSubset(of: vms.prefix(8).map(\.name)), "\(cluster.name): \(atOnce)")
            let tenth = started.count / 10
            let head = started.prefix(tenth).reduce(Int64(0)) { $0 + $1.bytes }
            let tail = started.suffix(tenth).reduce(Int64(0)) { $0 + $1.bytes }
            #expect(head > 5 * tail)
        }
    }

    @Test("storage-migration.lua vMotions a VM off its full host when another host has room")
    func proactiveVMotion() async throws {
        // Every VM on the first host: with one copy per host, the others must leave it first.
        let harness = try StrategyHarness(simulator: StrategyHarness.allOnFirstHost("clusters=1,hosts=4,vms=12"))
        let inventory = try await harness.simulator.inventory()
        let first = inventory.hosts[0].ref
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(path: StrategyHarness.example("storage-migration.lua"), params: ["per_host": "1"])
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        #expect(!outcome.summary.proactiveVMotions.isEmpty)
        #expect(outcome.summary.proactiveVMotions.allSatisfy { $0.state == .done })
        let vmotions = outcome.stats.tasks.filter { $0.kind == .vMotion && $0.state == .success }
        #expect(vmotions.count == outcome.summary.proactiveVMotions.count)
        #expect(vmotions.allSatisfy { $0.sourceHost == first && $0.destinationHost != first })
        #expect(copies(outcome.stats).count == 12)
        #expect(copies(outcome.stats).values.allSatisfy { $0 == 1 })
        #expect(outcome.stats.tasksQueuedByLimit == 0)
        #expect(outcome.stats.exceededLimits.isEmpty)
        for host in inventory.hosts {
            let copying = outcome.stats.tasks.filter { $0.kind.copiesDisks && $0.sourceHost == host.ref }
            #expect(peakOverlap(copying) <= 1, "\(host.name)")
        }
    }

    @Test("failure policies: a non-retriable fault is retried by on_failure, a retriable one by the engine, NoDiskSpace skipped")
    func failureRetryAndSkip() async throws {
        var faults = FaultInjection()
        faults.failNextTask = [
            "app-c1-0002": FaultInjection.fault("GenericVmConfigFault"),
            "app-c1-0004": FaultInjection.fault("FileLocked"),
            "app-c1-0006": FaultInjection.fault("NoDiskSpace"),
        ]
        let harness = try StrategyHarness(spec: "clusters=1,hosts=4,vms=16", faults: faults)
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(path: StrategyHarness.example("storage-migration.lua"))
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        let jobs = outcome.storageJobs
        #expect(jobs["app-c1-0002"]?.state == .done)
        #expect(jobs["app-c1-0002"]?.attempts == 2)
        #expect(jobs["app-c1-0004"]?.state == .done)
        #expect(jobs["app-c1-0004"]?.attempts == 2)
        #expect(jobs["app-c1-0006"]?.state == .skipped)
        #expect(jobs["app-c1-0006"]?.attempts == 1)
        #expect(jobs["app-c1-0006"]?.lastError?.contains("NoDiskSpace") == true)
        #expect(outcome.datastores(of: "app-c1-0006").allSatisfy { $0.hasPrefix("legacy-") })
        #expect(outcome.summary.moved.count == 15)
        #expect(copies(outcome.stats).values.allSatisfy { $0 == 1 })
    }

    @Test("failure policies: retries used up → skip; abort stops dispatching and leaves the rest pending")
    func failureGiveUpAndAbort() async throws {
        var always = FaultInjection()
        always.everyNth = [FaultInjection.EveryNth(1, kinds: [.storageVMotion], fault: FaultInjection.fault("GenericVmConfigFault"))]
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=3", faults: always)
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(path: StrategyHarness.example("storage-migration.lua"), params: ["retries": "3"])
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        #expect(outcome.summary.skipped.count == 3)
        #expect(outcome.summary.skipped.allSatisfy { $0.attempts == 3 })

        var once = FaultInjection()
        once.failNextTask = ["app-c1-0010": FaultInjection.fault("GenericVmConfigFault")]
        let abortHarness = try StrategyHarness(spec: "clusters=1,hosts=4,vms=40", faults: once)
        defer { abortHarness.shutdown() }
        let aborting = try await abortHarness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              order = strategy.by(function(job) return job.vm.name end),
              limits = strategy.limits { max_concurrent = 2 },
              on_failure = strategy.abort,
            }
            """)
        let result = try await abortHarness.run(aborting)
        guard case .aborted(let reason) = result.summary.outcome else {
            Issue.record("expected an aborted run, got \(result.summary.outcome)")
            return
        }
        #expect(reason.contains("app-c1-0010"))
        #expect(result.summary.failed.map(\.vmName) == ["app-c1-0010"])
        #expect(!result.summary.pending.isEmpty)
        let failedAt = result.stats.tasks.first { $0.entityName == "app-c1-0010" }?.completeTime ?? .distantPast
        #expect(result.stats.tasks.allSatisfy { $0.queueTime <= failedAt }, "nothing starts after the abort")
    }

    @Test("evacuate-datastore.lua empties legacy-01 onto the other datastores, spread, at most 4 copies at a time")
    func evacuate() async throws {
        let harness = try StrategyHarness(spec: "clusters=2,hosts=5,vms=80")
        defer { harness.shutdown() }
        let before = try await harness.simulator.inventory()
        let source = before.datastore(named: "legacy-01")!.ref
        let onSource = Set(before.vms.filter { $0.datastores.contains(source) }.map(\.name))
        let strategy = try await harness.strategy(path: StrategyHarness.example("evacuate-datastore.lua"))
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        #expect(Set(copies(outcome.stats).keys) == onSource)
        #expect(outcome.inventory.vms.allSatisfy { !$0.datastores.contains(source) })
        let targets = Set(outcome.stats.tasks.compactMap(\.destinationDatastore))
        #expect(targets.count >= 3, "the data is spread over several datastores")
        #expect(!targets.contains(source))
        let touching = outcome.stats.tasks.filter { $0.kind.copiesDisks && $0.sourceDatastores.contains(source) }
        #expect(peakOverlap(touching) <= 4)
        #expect(peakOverlap(touching) == 4)
        #expect(outcome.stats.tasksQueuedByLimit == 0)
    }

    @Test("consolidate-disks.lua consolidates exactly the VMs that need it, 2 per datastore at most")
    func consolidate() async throws {
        let harness = try StrategyHarness(spec: "clusters=2,hosts=4,vms=200,consolidate=0.3")
        defer { harness.shutdown() }
        let before = try await harness.simulator.inventory()
        let needing = Set(before.vms.filter(\.consolidationNeeded).map(\.name))
        #expect(needing.count > 20)
        let strategy = try await harness.strategy(path: StrategyHarness.example("consolidate-disks.lua"))
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        let done = outcome.stats.tasks.filter { $0.kind == .consolidateDisks && $0.state == .success }
        #expect(Set(done.map(\.entityName)) == needing)
        #expect(done.count == needing.count)
        #expect(outcome.stats.tasks.count == needing.count, "nothing else ran")
        for ds in before.datastores {
            #expect(peakOverlap(done.filter { $0.sourceDatastores.contains(ds.ref) }) <= 2, "\(ds.name)")
        }
        #expect(outcome.stats.tasksQueuedByLimit == 0)
    }

    @Test("remove-snapshots.lua removes the snapshots older than `days`: all at once when every one is old")
    func removeSnapshots() async throws {
        let harness = try StrategyHarness(spec: "clusters=2,hosts=4,vms=200,snapshots=0.5")
        defer { harness.shutdown() }
        let before = try await harness.simulator.inventory()
        let strategy = try await harness.strategy(path: StrategyHarness.example("remove-snapshots.lua"), params: ["days": "20"])
        let cutoff = Date().addingTimeInterval(-20 * 86_400)
        var expected: [String: Int] = [:]
        for vm in before.vms where !vm.snapshots.isEmpty {
            let old = vm.snapshots.filter { ($0.createTime ?? .distantFuture) < cutoff }.count
            if old == vm.snapshots.count { expected[vm.name] = 1 } else if old > 0 { expected[vm.name] = old }
        }
        #expect(expected.values.contains { $0 > 1 }, "some VMs keep recent snapshots")
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        let removals = outcome.stats.tasks.filter { $0.kind == .removeSnapshot && $0.state == .success }
        let perVM = removals.reduce(into: [String: Int]()) { $0[$1.entityName, default: 0] += 1 }
        #expect(perVM == expected)
        let removeAll = outcome.summary.jobs.filter {
            if case .removeSnapshot(.all, _, _) = $0.kind { return true } else { return false }
        }
        #expect(Set(removeAll.map(\.vmName)) == Set(expected.filter { name, _ in
            before.vm(named: name).map { vm in vm.snapshots.allSatisfy { ($0.createTime ?? .distantFuture) < cutoff } } ?? false
        }.keys))
    }

    @Test("hello-coroutines.lua (a plain script, no strategy): sleeping coroutines, then three live moves on the simulator")
    func helloCoroutines() async throws {
        let simulator = try SimulatedVCenter(generating: "clusters=1,hosts=2,vms=10",
                                             configuration: SimulatorConfiguration(clock: .scaled(speed: 2000)))
        let runtime = try LuaRuntime(options: .init(moduleDirectories: [StrategyHarness.root + "/stdlib"]))
        defer { runtime.shutdown() }
        let bindings = try LuaBindings.install(into: runtime, connector: { _ in
            ConnectedVCenter(simulator, url: "simulated", isSimulated: true)
        })
        let inventory = try await simulator.inventory()
        let strategy = try await LuaStrategy.fromScript(path: StrategyHarness.example("hello-coroutines.lua"), runtime: runtime)
        #expect(strategy == nil)
        await bindings.closeAll()
        let moved = simulator.stats.tasks.filter { $0.kind.copiesDisks && $0.state == .success }
        #expect(moved.count == 3)
        #expect(Set(moved.compactMap(\.destinationDatastore)).count > 1, "spread over the new datastores")
        let smallest = inventory.vms.sorted { $0.committedBytes < $1.committedBytes }.prefix(3).map(\.name)
        #expect(Set(moved.map(\.entityName)) == Set(smallest))
    }
}
