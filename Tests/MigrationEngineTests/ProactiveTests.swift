import Foundation
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// The classic pro-active vMotion under vSphere's costs: a VM whose host is full (two
/// Storage vMotions: 8 of 8 cost units) is vMotioned to an idle host of its cluster first.
@Suite("Pro-active vMotion")
struct ProactiveTests {
    /// The classic policy of examples/storage-migration.lua: largest first, hosts / 2 per
    /// cluster, 2 Storage vMotions per host, and `blocked` when the VM's host is full.
    /// How often `onBlocked` was asked about each job.
    final class Asked {
        var counts: [JobID: Int] = [:]
    }

    static func classic(_ blocked: BlockedDecision, asked: Asked? = nil) -> ClosureStrategy {
        ClosureStrategy(
            select: TestInventory.moveAll,
            limits: { c in LimitOverrides(maxConcurrent: max(1, c.hosts.count / 2), storageMovesPerHost: 2) },
            onBlocked: { job, _ in
                asked?.counts[job.id, default: 0] += 1
                return blocked
            })
    }

    static func harness(_ inv: Inventory, _ strategy: ClosureStrategy) throws -> SchedulerHarness {
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        return h
    }

    @Test("one host holding most VMs: vMotions off it make the run clearly shorter, within every limit, each VM's storage moved once after its vMotion")
    func unbalancedCluster() throws {
        let inv = TestInventory.concentrated()
        let crowded = inv.hosts[0].ref
        let waited = try Self.harness(inv, Self.classic(.wait))
        let asked = Asked()
        let h = try Self.harness(inv, Self.classic(.vmotion, asked: asked))
        for run in [waited, h] {
            #expect(run.auditProblems.isEmpty, "\(run.auditProblems.prefix(3))")
            #expect(run.scheduler.resourceUsage().allSatisfy { $0.peakOwn <= $0.capacity })
            #expect(run.peakStorageMovesPerHost.values.allSatisfy { $0 <= 2 })
            #expect(run.jobs(in: .done).filter { !$0.isProactive }.count == inv.vms.count)
        }
        // With wait the crowded host copies two at a time while the cluster allows four.
        #expect(h.elapsed < 0.7 * waited.elapsed, "vmotion \(Int(h.elapsed)) s, wait \(Int(waited.elapsed)) s")
        #expect(waited.scheduler.jobs.allSatisfy { !$0.isProactive })

        let vmotions = h.scheduler.jobs.filter(\.isProactive)
        #expect(vmotions.count >= 4)
        #expect(asked.counts.values.allSatisfy { $0 == 1 }, "each job is asked once")
        for v in vmotions {
            #expect(v.state == .done, "\(v.id): \(v.lastError ?? "")")
            #expect(v.sourceHost == crowded)
            #expect(v.kind.destinationHost != crowded)
            #expect(v.taskRef != nil, "the vMotion is its own task")
            let parent = h.scheduler.job(v.parent!)
            #expect(parent.state == .done)
            #expect(parent.sourceHost == v.kind.destinationHost, "the storage move ran from the vMotion's destination")
            guard let dispatched = v.dispatchedAt, let finished = v.finishedAt, let parentDispatched = parent.dispatchedAt else { continue }
            #expect(parentDispatched >= finished)
            // First claim: no Storage vMotion started on the crowded host between the
            // decision and the vMotion's dispatch.
            let jumped = h.starts.filter { s in
                let job = h.scheduler.job(s.job)
                return job.kind.movesStorage && job.sourceHost == crowded && s.time > v.createdAt && s.time < dispatched
            }
            #expect(jumped.isEmpty, "\(v.id) waited from \(v.createdAt) to \(dispatched) while \(jumped.map(\.job)) started")
        }
        // Each VM's storage moved exactly once, and at most one vMotion per VM.
        var storageStarts: [MoRef: Int] = [:]
        var hostStarts: [MoRef: Int] = [:]
        for s in h.starts {
            let job = h.scheduler.job(s.job)
            if job.kind.movesStorage { storageStarts[job.vm, default: 0] += 1 } else { hostStarts[job.vm, default: 0] += 1 }
        }
        #expect(storageStarts.count == inv.vms.count && storageStarts.values.allSatisfy { $0 == 1 })
        #expect(hostStarts.values.allSatisfy { $0 == 1 })
        #expect(h.events.contains { if case .proactiveVMotion = $0.kind { true } else { false } })
    }

    @Test("a strategy that answers wait is asked once per job, not at every wake")
    func waitIsCached() throws {
        let inv = TestInventory.concentrated()
        let asked = Asked()
        _ = try Self.harness(inv, Self.classic(.wait, asked: asked))
        let counts = asked.counts
        #expect(!counts.isEmpty)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 })")
    }

    @Test("a pending vMotion with nowhere to go while its VM's host has room again is skipped; the move runs in place")
    func mootVMotionSkipped() throws {
        var spec = TestInventory()
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 0
        let base = spec.make()
        let hostA = base.hosts[0].ref, hostB = base.hosts[1].ref
        func vm(_ i: Int, _ host: MoRef, _ gb: Int64) -> VMInfo {
            VMInfo(ref: MoRef("VirtualMachine", "vm-\(i)"), name: "vm\(i)", host: host, datastores: [base.datastores[i % 2].ref],
                   committedBytes: gb * 1_000_000_000, memoryMB: 4096)
        }
        // Ordered by name: A's three first, then B's two long ones, which fill B before A frees room.
        let inv = Inventory(clusters: base.clusters, hosts: base.hosts, datastores: base.datastores,
                            vms: [vm(0, hostA, 100), vm(1, hostA, 100), vm(2, hostA, 50), vm(3, hostB, 2000), vm(4, hostB, 2000)])
        let strategy = ClosureStrategy(
            order: { $0.sorted { $0.vmName < $1.vmName } },
            limits: { _ in LimitOverrides(storageMovesPerHost: 2) },
            onBlocked: { _, _ in .vmotion })
        let h = try Self.harness(inv, strategy)
        #expect(h.auditProblems.isEmpty, "\(h.auditProblems.prefix(3))")
        let vmotions = h.scheduler.jobs.filter(\.isProactive)
        #expect(vmotions.count == 1)
        let v = try #require(vmotions.first)
        #expect(v.state == .skipped)
        #expect(v.attempts == 0)
        #expect(v.lastError?.contains("not needed") == true)
        let parent = h.scheduler.job(v.parent!)
        #expect(parent.state == .done)
        #expect(parent.sourceHost == hostA)
        #expect(h.starts.allSatisfy { h.scheduler.job($0.job).kind.movesStorage })
    }

    @Test("on VCenterSimulator: vMotion beats wait on an unbalanced cluster; vCenter queued nothing and saw no limit exceeded")
    func onSimulator() async throws {
        let inv = TestInventory.concentrated()
        var results: [BlockedDecision: (RunSummary, SimulatorStats)] = [:]
        for decision in [BlockedDecision.wait, .vmotion] {
            var config = SimulatorConfiguration()
            config.startTime = SimulatorTests.start
            let sim = try SimulatedVCenter(inventory: inv, configuration: config, source: "test")
            let summary = try await MigrationRunner(vcenter: sim, strategy: Self.classic(decision)).run()
            let stats = sim.stats
            #expect(summary.outcome == .completed)
            #expect(summary.moved.count == inv.vms.count)
            #expect(stats.tasksQueuedByLimit == 0, "\(decision): the engine handed vCenter more than the limits allow")
            #expect(stats.exceededLimits.isEmpty, "\(decision): \(stats.exceededLimits.map(\.name))")
            #expect(summary.peakUsage.allSatisfy { $0.peakOwn <= $0.capacity })
            results[decision] = (summary, stats)
        }
        let (summary, stats) = try #require(results[.vmotion])
        let waitSpan = try #require(results[.wait]?.1.makespan)
        let span = try #require(stats.makespan)
        #expect(span < 0.7 * waitSpan, "vmotion \(Int(span)) s, wait \(Int(waitSpan)) s")
        #expect(results[.wait]?.1.tasks.allSatisfy { $0.kind == .storageVMotion } == true)

        // Each vMotion is its own vCenter task, done before the VM's one Storage vMotion starts.
        let vmotions = summary.proactiveVMotions.filter { $0.state == .done }
        #expect(vmotions.count >= 4)
        let byRef = Dictionary(stats.tasks.map { ($0.ref, $0) }, uniquingKeysWith: { a, _ in a })
        for vm in inv.vms {
            let tasks = stats.tasks.filter { $0.entity == vm.ref && $0.state == .success }
            let copies = tasks.filter { $0.kind == .storageVMotion }
            let moves = tasks.filter { $0.kind == .vMotion }
            #expect(copies.count == 1, "\(vm.name): \(copies.count) Storage vMotions")
            #expect(moves.count <= 1)
            if let move = moves.first, let copy = copies.first {
                #expect(move.completeTime! <= copy.startTime!)
                #expect(copy.sourceHost == move.destinationHost)
            }
        }
        for v in vmotions {
            let task = try #require(v.taskRef.flatMap { byRef[$0] })
            #expect(task.kind == .vMotion)
            #expect(task.destinationHost == v.kind.destinationHost)
        }
    }
}
