import Foundation
import MigrationEngine
import Testing
import VCenterModel

/// Waves and jobs held by the strategy (issue 13.2), on virtual time.
@Suite("Scheduler waves and held jobs")
struct SchedulerWaveTests {
    /// A strategy with a wave per job and a target hook that may hold jobs.
    final class WaveStrategy: Strategy, @unchecked Sendable {
        var waveOf: (Job) -> Int? = { _ in nil }
        var scope: WaveScope = .cluster
        var holds: (Job) -> Bool = { _ in false }
        var asked = 0

        func wave(_ job: Job) throws -> Int? { waveOf(job) }
        var waveScope: WaveScope { scope }
        func target(_ job: Job, candidates: [DatastoreInfo]) throws -> MoRef? {
            asked += 1
            return holds(job) ? nil : DefaultOrder.mostFreeSpace(candidates)
        }
    }

    static func inventory(clusters: Int = 2) -> Inventory {
        var spec = TestInventory()
        spec.clusters = clusters
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        return spec.make()
    }

    /// (start, end) of every job's attempt that ran.
    static func spans(_ h: SchedulerHarness) -> [JobID: (start: Date, end: Date)] {
        var out: [JobID: (Date, Date)] = [:]
        for job in h.scheduler.jobs where job.state == .done {
            if let s = job.startedAt ?? job.dispatchedAt, let e = job.finishedAt { out[job.id] = (s, e) }
        }
        return out
    }

    @Test("a wave starts in its cluster only when the wave before it has ended there")
    func wavesPerCluster() throws {
        let inv = Self.inventory()
        let strategy = WaveStrategy()
        // Wave by VM index: 1, 2, 3 round robin; wave 2 includes the largest VMs too.
        let index = Dictionary(uniqueKeysWithValues: inv.vms.enumerated().map { ($1.ref, $0) })
        strategy.waveOf = { job in 1 + (index[job.vm]! % 3) * 10 }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).count == inv.vms.count)
        let spans = Self.spans(h)
        for cluster in inv.clusters.map(\.ref) {
            let js = h.scheduler.jobs.filter { $0.cluster == cluster }
            for a in js { for b in js where b.wave! > a.wave! {
                #expect(spans[b.id]!.start >= spans[a.id]!.end, "\(b.vmName) (wave \(b.wave!)) started before \(a.vmName) (wave \(a.wave!)) ended")
            } }
        }
        #expect(Set(h.scheduler.jobs.compactMap(\.wave)) == [1, 11, 21])
    }

    @Test("per cluster, one cluster's slow wave does not hold back another's; across the vCenter it does")
    func scopeMatters() throws {
        let inv = Self.inventory()
        let c0 = inv.clusters[0].ref
        func run(_ scope: WaveScope) throws -> SchedulerHarness {
            let strategy = WaveStrategy()
            strategy.scope = scope
            strategy.waveOf = { $0.cluster == c0 ? 1 : 2 }
            let h = try SchedulerHarness(inventory: inv, strategy: strategy)
            try h.add(TestInventory.moveAll(inv))
            #expect(h.run() == .completed)
            return h
        }
        let perCluster = try run(.cluster)
        let firstStarts = perCluster.scheduler.jobs.compactMap(\.startedAt)
        #expect(Set(firstStarts).contains(perCluster.start), "both clusters start at once")
        let global = try run(.vcenter)
        let c0End = global.scheduler.jobs.filter { $0.cluster == c0 }.compactMap(\.finishedAt).max()!
        let c1Start = global.scheduler.jobs.filter { $0.cluster != c0 }.compactMap(\.startedAt).min()!
        #expect(c1Start >= c0End)
        #expect(global.elapsed > perCluster.elapsed)
    }

    @Test("a failed job ends its wave like a done one")
    func failureEndsAWave() throws {
        let inv = Self.inventory(clusters: 1)
        let strategy = WaveStrategy()
        let bad = inv.vms[0].ref
        strategy.waveOf = { $0.vm == bad ? 1 : 2 }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        h.taskFault = { $0.vm == bad ? VCenterFault(.invalidArgument, "no") : nil }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .skipped).map(\.vm) == [bad])
        #expect(h.jobs(in: .done).count == inv.vms.count - 1)
        let failedAt = try #require(h.jobs(in: .skipped).first?.finishedAt)
        #expect(h.jobs(in: .done).allSatisfy { ($0.startedAt ?? .distantPast) >= failedAt })
    }

    @Test("a job the strategy holds while another cluster runs is never failed; it goes when released")
    func heldAcrossClusters() throws {
        // A gate across clusters: cluster 1 waits until cluster 0 has no job left to do.
        let inv = Self.inventory()
        let c0 = inv.clusters[0].ref
        let strategy = WaveStrategy()
        var h: SchedulerHarness!
        strategy.holds = { job in
            job.cluster != c0 && h.scheduler.jobs.contains { $0.cluster == c0 && !$0.state.isTerminal && $0.id != job.id }
        }
        h = try SchedulerHarness(inventory: inv, strategy: strategy)
        var sawHeld = 0
        h.afterStep = { h in sawHeld = max(sawHeld, h.scheduler.jobs.filter(\.heldByStrategy).count) }
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).count == inv.vms.count)
        #expect(h.jobs(in: .failed).isEmpty)
        #expect(sawHeld == 6, "cluster 1's six jobs were held")
        #expect(h.scheduler.jobs.allSatisfy { !$0.heldByStrategy })
    }

    @Test("held with nothing running: asked once more, then the run ends held, the jobs pending, not failed")
    func heldForever() throws {
        let inv = Self.inventory(clusters: 1)
        let strategy = WaveStrategy()
        let kept = Set(inv.vms.prefix(2).map(\.ref))
        strategy.holds = { kept.contains($0.vm) }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        let outcome = h.run()
        #expect(outcome == .held(jobs: 2))
        #expect(h.jobs(in: .done).count == inv.vms.count - 2)
        #expect(h.jobs(in: .failed).isEmpty)
        #expect(Set(h.jobs(in: .pending).map(\.vm)) == kept)
        #expect(h.jobs(in: .pending).allSatisfy { $0.heldByStrategy })
        let before = strategy.asked
        _ = h.run()
        #expect(strategy.asked == before, "a finished run asks nothing more")
    }

    @Test("jobs of later waves behind held jobs stay pending when the run ends held")
    func laterWavesBehindHeld() throws {
        let inv = Self.inventory(clusters: 1)
        let strategy = WaveStrategy()
        let first = inv.vms[0].ref
        strategy.waveOf = { $0.vm == first ? 1 : 2 }
        strategy.holds = { $0.vm == first }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .held(jobs: 1))
        #expect(h.jobs(in: .pending).count == inv.vms.count)
        #expect(h.jobs(in: .failed).isEmpty)
        let waiting = h.jobs(in: .pending).filter { $0.vm != first }
        #expect(waiting.allSatisfy { $0.lastError?.contains("wave 1 of cluster") == true }, "\(waiting.map(\.lastError))")
    }

    @Test("a throwing wave hook stops the run before anything moves")
    func waveHookFails() throws {
        struct Boom: Error {}
        final class Bad: Strategy, @unchecked Sendable {
            func wave(_ job: Job) throws -> Int? { throw Boom() }
        }
        let inv = Self.inventory(clusters: 1)
        let h = try SchedulerHarness(inventory: inv, strategy: Bad())
        #expect(throws: EngineError.self) { try h.add(TestInventory.moveAll(inv)) }
        #expect(h.starts.isEmpty)
    }

    @Test("progress shows the current wave: the job announcements carry their waves")
    func progressShowsTheWave() throws {
        let inv = Self.inventory(clusters: 1)
        let strategy = WaveStrategy()
        let index = Dictionary(uniqueKeysWithValues: inv.vms.enumerated().map { ($1.ref, $0) })
        strategy.waveOf = { job in 1 + index[job.vm]! % 3 }
        let h = try SchedulerHarness(inventory: inv, strategy: strategy)
        try h.add(TestInventory.moveAll(inv))
        let tracker = ProgressTracker()
        for event in h.events { tracker.record(event) }
        #expect(tracker.snapshot().wave == "wave 1 (1 of 3)")
        #expect(ProgressRenderer(width: 200, title: "t").logLine(tracker.snapshot()).hasSuffix("wave 1 (1 of 3)"))
        #expect(h.run() == .completed)
        let after = ProgressTracker()
        for event in h.events { after.record(event) }
        #expect(after.snapshot().wave == nil, "every wave ended")
    }
}
