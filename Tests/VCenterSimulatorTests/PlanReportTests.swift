import Foundation
import Testing
import VCenterModel
@testable import VCenterSimulator

/// A known schedule for the plan report and the timeline: 2 clusters × 4 hosts, 40 VMs of
/// 100 GiB (20 per cluster, 5 per host), 100 MiB/s with 10 s setup, so every copy takes
/// exactly 10 + 102,400 ÷ 100 = 1,034 s. Waves start together and all end together:
/// cluster-1 runs 2 copies per host (waves of 8, 8, 4), cluster-2 one per host (5 waves of 4).
enum PlanFixtures {
    static let copy = 1034.0
    static let spec = "clusters=2,hosts=4,vms=40,from=legacy,to=new"

    struct Run {
        var sim: SimulatedVCenter
        var inventory: Inventory
        var tasks: [LiveTask]
        var cluster1: MoRef
        var cluster2: MoRef
    }

    /// Runs the waves; `perHost[c]` copies per host and wave in cluster `c`.
    static func waves(perHost: [Int] = [2, 1], tweak: (inout SimulatorConfiguration) -> Void = { _ in },
                      before: (SimulatedVCenter) throws -> Void = { _ in }) async throws -> Run {
        let sim = try Fixtures.generated(spec, sizeGB: 100, config: Fixtures.config(rate: 100, overhead: 10, tweak))
        try before(sim)
        let inventory = sim.inventorySnapshot
        var pending: [MoRef: [VMInfo]] = [:]
        for vm in inventory.vms { pending[vm.host!, default: []].append(vm) }
        var targetIndex = 0
        func target(for vm: VMInfo) -> MoRef {
            let choices = inventory.datastores.filter { $0.name.hasPrefix("new-") && $0.hosts.contains(vm.host!) }
            targetIndex += 1
            return choices[targetIndex % choices.count].ref
        }
        var tasks: [LiveTask] = []
        while pending.values.contains(where: { !$0.isEmpty }) {
            for (c, cluster) in inventory.clusters.enumerated() {
                for host in cluster.hosts {
                    for _ in 0..<perHost[c] {
                        guard let vm = pending[host]?.first else { continue }
                        pending[host]!.removeFirst()
                        tasks.append(try await sim.relocateVM(vm.ref, spec: RelocateSpec(datastore: target(for: vm)), priority: .defaultPriority))
                    }
                }
            }
            sim.advanceUntilIdle()
        }
        return Run(sim: sim, inventory: inventory, tasks: tasks, cluster1: inventory.clusters[0].ref, cluster2: inventory.clusters[1].ref)
    }

    static func report(_ run: Run, slots: [MoRef: Int] = [:], windowStart: Date? = nil) -> PlanReport {
        PlanReport(stats: run.sim.stats, inventory: run.inventory, configuration: run.sim.configuration,
                   clusterSlots: slots, windowStart: windowStart, title: run.sim.displayName,
                   timeZone: TimeZone(identifier: "UTC")!)
    }
}

@Suite struct PlanReportTests {
    static func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-6) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    @Test("a strategy's per-datastore cap limits a cluster's slots and its best span")
    func datastoreCapsBoundTheCluster() async throws {
        let run = try await PlanFixtures.waves()
        let copy = PlanFixtures.copy
        // Cluster 1's 20 VMs sit 5 on each of its 4 legacy datastores.
        let sources = Set(run.inventory.vms.filter { run.inventory.host($0.host!)?.cluster == run.cluster1 }.flatMap(\.datastores))
        #expect(sources.count == 4)
        let perSource = Dictionary(grouping: run.inventory.vms.filter { sources.contains($0.datastores[0]) }, by: { $0.datastores[0] }).mapValues(\.count)
        #expect(perSource.values.allSatisfy { $0 == 5 }, "\(perSource)")

        // Every source capped at 1: 4 slots (not the hosts' 8), best 20 copies ÷ 4.
        let all = PlanReport(stats: run.sim.stats, inventory: run.inventory, configuration: run.sim.configuration,
                             datastoreSlots: Dictionary(uniqueKeysWithValues: sources.map { ($0, 1) }), timeZone: TimeZone(identifier: "UTC")!)
        let c1 = all.clusters[0]
        #expect(c1.slots == 4)
        #expect(Self.close(c1.lowerBound, 5 * copy))
        // One source capped at 1: 8 slots, but its 5 copies one after another bound the span.
        let one = sources.sorted { $0.value < $1.value }[0]
        let capped = PlanReport(stats: run.sim.stats, inventory: run.inventory, configuration: run.sim.configuration,
                                datastoreSlots: [one: 1], timeZone: TimeZone(identifier: "UTC")!)
        #expect(capped.clusters[0].slots == 8)
        #expect(capped.clusters[0].boundReason == .datastoreSlots)
        #expect(Self.close(capped.clusters[0].lowerBound, 5 * copy))
        #expect(capped.renderText(width: 100).contains("its busiest datastore's Storage vMotion slots"))
        // Without caps, ESXi's 8 per datastore leave the hosts' slots in charge.
        #expect(PlanFixtures.report(run).clusters[0].boundReason == .slots)
    }

    @Test func makespanClusterFinishPeaksAndIdleTimeOfAKnownSchedule() async throws {
        let run = try await PlanFixtures.waves()
        #expect(run.tasks.count == 40)
        #expect(run.tasks.allSatisfy { $0.state == .success })
        let copy = PlanFixtures.copy
        let report = PlanFixtures.report(run)

        #expect(Self.close(report.makespan, 5 * copy))
        #expect(report.totals.vmsMoved == 40)
        #expect(report.totals.bytesMoved == 40 * 100 * Fixtures.gib)
        #expect(report.totals.tasks == 40 && report.totals.succeeded == 40 && report.totals.failed == 0)
        #expect(report.totals.tasksByKind == ["storageVMotion": 40])
        #expect(report.totals.tasksQueuedByLimit == 0)
        #expect(report.totals.unfinished == 0)
        #expect(report.exceeded.isEmpty)

        #expect(report.clusters.map(\.name) == ["cluster-1", "cluster-2"])
        let c1 = report.clusters[0], c2 = report.clusters[1]
        // Cluster 1: waves of 8, 8, 4 on 8 derived slots (2 per host).
        #expect(c1.cluster == run.cluster1)
        #expect(c1.slots == 8 && c1.slotSource == .derived && c1.hosts == 4)
        #expect(c1.vmsMoved == 20 && c1.tasks == 20 && c1.bytesMoved == 20 * 100 * Fixtures.gib)
        #expect(Self.close(c1.firstStart, 0))
        #expect(Self.close(c1.lastDispatch, 2 * copy))
        #expect(Self.close(c1.finish, 3 * copy))
        #expect(c1.peakTasks == 8)
        #expect(Self.close(c1.busySlotSeconds, 20 * copy))
        #expect(Self.close(c1.idleSlotSeconds, 8 * 3 * copy - 20 * copy))
        #expect(Self.close(c1.idleInTail, 4 * copy))
        #expect(Self.close(c1.idleWhileWaiting, 0))
        #expect(Self.close(c1.lowerBound, 20 * copy / 8))
        #expect(c1.boundReason == .slots)
        #expect(Self.close(c1.ratio, 3 * copy / (20 * copy / 8)))
        // Cluster 2: five waves of 4 on 8 slots: half the slots idle while work waited.
        #expect(Self.close(c2.finish, 5 * copy))
        #expect(Self.close(c2.lastDispatch, 4 * copy))
        #expect(c2.peakTasks == 4)
        #expect(Self.close(c2.idleSlotSeconds, 8 * 5 * copy - 20 * copy))
        #expect(Self.close(c2.idleInTail, 4 * copy))
        #expect(Self.close(c2.idleWhileWaiting, 16 * copy))
        #expect(Self.close(c2.ratio, 2))
        #expect(c2.overSlotSeconds == 0)

        #expect(report.overall.slots == 16)
        #expect(report.overall.peakTasks == 12)
        #expect(Self.close(report.overall.idleSlotSeconds, c1.idleSlotSeconds + c2.idleSlotSeconds))
        #expect(Self.close(report.overall.lowerBound, 20 * copy / 8))
        #expect(Self.close(report.overall.ratio, 5 * copy / (20 * copy / 8)))

        // Peaks per resource match what was launched: 2 copies per cluster-1 host (cost 8), 1 per cluster-2 host (4).
        let hostPeaks = Dictionary(uniqueKeysWithValues: report.hosts.map { ($0.name, $0) })
        #expect(report.hosts.count == 8)
        for h in run.inventory.hosts {
            let peak = try #require(hostPeaks[h.name])
            let first = h.cluster == run.cluster1
            #expect(peak.peakTasks == (first ? 2 : 1), "\(h.name)")
            #expect(peak.peakCost == (first ? 8 : 4), "\(h.name)")
            #expect(peak.limit == 8)
            #expect(!peak.exceedsLimit)
        }
        // Each source datastore serves one host: 2 copies at once in cluster-1 (cost 32), 1 in cluster-2 (16).
        let sources = report.datastores.filter { $0.name.hasPrefix("legacy-") }
        #expect(sources.map(\.peakTasks) == [2, 2, 2, 2, 1, 1, 1, 1])
        #expect(sources.map(\.peakCost) == [32, 32, 32, 32, 16, 16, 16, 16])
        #expect(report.datastores.allSatisfy { $0.limit == 128 })
        #expect(report.vMotionNetworks.allSatisfy { $0.peakTasks == 0 })
        #expect(report.vCenterCounter?.peakTasks == 12)
        // Utilisation of a cluster-1 host: cost 8 for 2 waves and 4 for one, over the makespan.
        let busiest = try #require(hostPeaks["esx-c1-01"])
        #expect(Self.close(busiest.utilisation, (8 * 2 * copy + 4 * copy) / (8 * 5 * copy)))
    }

    @Test func configuredSlotsReplaceTheDerivedOnes() async throws {
        let run = try await PlanFixtures.waves()
        let report = PlanFixtures.report(run, slots: [run.cluster2: 4])
        let c1 = report.clusters[0], c2 = report.clusters[1]
        #expect(c1.slotSource == .derived && c1.slots == 8)
        #expect(c2.slotSource == .configured && c2.slots == 4)
        #expect(Self.close(c2.idleSlotSeconds, 0))
        #expect(Self.close(c2.lowerBound, 20 * PlanFixtures.copy / 4))
        #expect(Self.close(c2.ratio, 1))
        #expect(report.overall.slots == 12)
        #expect(report.renderText().contains("configured by the engine for cluster-2"))
    }

    @Test func windowStartGivesETAs() async throws {
        let run = try await PlanFixtures.waves()
        let window = try #require(ISO8601DateFormatter().date(from: "2025-06-01T22:00:00Z"))
        let report = PlanFixtures.report(run, windowStart: window)
        #expect(report.eta == window.addingTimeInterval(5 * PlanFixtures.copy))
        #expect(report.clusters[0].eta == window.addingTimeInterval(3 * PlanFixtures.copy))
        let text = report.renderText(width: 120)
        // 5,170 s after 22:00 is 23:26:10; cluster-1 ends 3,102 s after it, at 22:51:42.
        #expect(text.contains("Predicted makespan  1h 26m (2025-06-01 22:00 → 2025-06-01 23:26)"))
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("  cluster-1 ") })
        #expect(row.contains("06-01 22:51"))
        #expect(text.contains("ETA"))
        #expect(!PlanFixtures.report(run).renderText(width: 120).contains("ETA"))
    }

    @Test func textReportHasTheKeyLinesAndKeepsToItsWidth() async throws {
        let run = try await PlanFixtures.waves()
        let report = PlanFixtures.report(run)
        let text = report.renderText(width: 200)
        for needle in [
            "Plan: simulated vCenter (generated: 2 clusters, 8 hosts, 40 VMs)",
            "Predicted makespan  1h 26m",
            "Moved               40 VMs, 3.9 TiB in 40 tasks (40 Storage vMotion)",
            "Failures            none",
            "Rate model          100 MiB/s per Storage vMotion + 10s setup; datastore bandwidth not shared",
            "Queued at vCenter   0 tasks waited for an ESXi limit",
            // 4,136 + 20,680 s = 6h 54m idle of 24,816 + 41,360 s = 18h 23m slot time (37.5%); tails 2 × 4,136 s = 2h 18m.
            "Idle slots          6h 54m of 18h 23m slot time (38%): 2h 18m in the tails, 4h 36m while work waited",
            "Clusters", "Idle slots", "Peak concurrency", "No limit exceeded.",
            "slots: 2 Storage vMotions per usable host (ESXi's host limit) for cluster-1, cluster-2",
            "hosts: 8 of 8 used, 4 reached their limit",
            "vMotion networks: none used (8)",
            "peak running: cluster-1 8 tasks / 8 slots, cluster-2 4 tasks / 8 slots, vCenter 12 tasks at once / 16 slots",
        ] {
            #expect(text.contains(needle), "missing: \(needle)\n\(text)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Cluster rows: finish 51m 42s (3,102 s) and 1h 26m (5,170 s), ratios 1.20 and 2.00, peak 8/8 and 4/8.
        let c1 = try #require(lines.first { $0.hasPrefix("  cluster-1 ") && $0.contains("/8") })
        #expect(c1.contains("51m 42s") && c1.contains("1.20") && c1.contains("8/8") && c1.contains("2.0 TiB"))
        let c2 = try #require(lines.first { $0.hasPrefix("  cluster-2 ") && $0.contains("/8") })
        #expect(c2.contains("1h 26m") && c2.contains("2.00") && c2.contains("4/8"))
        // Idle rows: cluster-2 idle 20,680 s = 5h 45m of 41,360 s = 11h 29m, 50%; 4,136 s = 1h 9m in the tail.
        let idle2 = try #require(lines.first { $0.hasPrefix("  cluster-2 ") && $0.contains("%") })
        #expect(idle2.contains("5h 45m") && idle2.contains("11h 29m") && idle2.contains("50%") && idle2.contains("1h 9m") && idle2.contains("4h 36m"))
        // Aligned: the header's "finish" ends where each row's finish ends.
        let header = try #require(lines.first { $0.hasPrefix("  cluster ") && $0.contains("finish") })
        let finishEnd = try #require(header.range(of: "finish")).upperBound.utf16Offset(in: header)
        #expect(c1.utf16.count >= finishEnd)
        #expect(String(c1.prefix(finishEnd)).hasSuffix("51m 42s"))
        #expect(String(c2.prefix(finishEnd)).hasSuffix("1h 26m"))

        for width in [100, 72, 60] {
            let narrow = report.renderText(width: width)
            for line in narrow.split(separator: "\n") {
                #expect(line.count <= width, "width \(width): \(line)")
            }
            #expect(narrow.contains("No limit exceeded."))
        }
    }

    @Test func jsonParsesAndCarriesTheNumbers() async throws {
        let run = try await PlanFixtures.waves()
        let data = try PlanFixtures.report(run).jsonData()
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Self.close(root["makespanSeconds"] as? Double, 5 * PlanFixtures.copy))
        #expect(root["noLimitExceeded"] as? Bool == true)
        let totals = try #require(root["totals"] as? [String: Any])
        #expect(totals["vmsMoved"] as? Int == 40)
        #expect(totals["tasksQueuedByLimit"] as? Int == 0)
        let clusters = try #require(root["clusters"] as? [[String: Any]])
        #expect(clusters.count == 2)
        #expect(clusters[0]["cluster"] as? String == run.cluster1.description)
        #expect(Self.close(clusters[0]["finishSeconds"] as? Double, 3 * PlanFixtures.copy))
        #expect(Self.close(clusters[1]["idleWhileWaitingSeconds"] as? Double, 16 * PlanFixtures.copy))
        #expect(Self.close(clusters[1]["ratio"] as? Double, 2))
        #expect(clusters[1]["slotSource"] as? String == "derived")
        let hosts = try #require(root["hosts"] as? [[String: Any]])
        #expect(hosts.count == 8)
        #expect(hosts.first?["peakCost"] as? Int == 8)
        #expect(hosts.first?["exceedsLimit"] as? Bool == false)
        let rate = try #require(root["rateModel"] as? [String: Any])
        #expect(rate["storageVMotionMBps"] as? Double == 100)
        #expect(root["runStart"] as? String == "2025-06-15T15:06:40Z")
    }

    @Test func failuresAreCountedByFaultType() async throws {
        let run = try await PlanFixtures.waves(before: { sim in
            try sim.failNextTask(ofVM: "app-c2-0003", with: FaultInjection.fault("FileLocked"))
        })
        let report = PlanFixtures.report(run)
        #expect(report.totals.failed == 1)
        #expect(report.totals.failuresByFault == ["FileLocked": 1])
        #expect(report.totals.vmsMoved == 39)
        #expect(report.clusters[1].failedTasks == 1)
        #expect(report.clusters[1].vmsMoved == 19)
        #expect(report.clusters[1].bytesMoved == 19 * 100 * Fixtures.gib)
        #expect(report.renderText().contains("Failures            1 task failed: FileLocked 1"))
        let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        #expect((json["totals"] as? [String: Any])?["failuresByFault"] as? [String: Int] == ["FileLocked": 1])
    }

    @Test func queueingAtVCenterCountsAsIdleSlotTime() async throws {
        // 10, 20 and 30 GiB on one host: a and b run, c waits for a (112.4 s), then runs 317.2 s.
        let sim = try Fixtures.handmade(sizesGB: [10, 20, 30])
        for (vm, ds) in [("a", "D1"), ("b", "D2"), ("c", "D3")] { _ = try await sim.move(vm, to: ds) }
        sim.advanceUntilIdle()
        let report = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration)
        #expect(report.totals.tasksQueuedByLimit == 1)
        #expect(report.hosts[0].tasksQueued == 1)
        let c = try #require(report.clusters.first)
        #expect(c.slots == 2 && c.peakTasks == 2)
        #expect(Self.close(c.finish, 112.4 + 317.2))
        // Running 2, 2, then 1 from 214.8 s: one slot idle for 214.8 s, all after the last dispatch (t = 0).
        #expect(Self.close(c.idleSlotSeconds, 429.6 - 214.8))
        #expect(Self.close(c.idleInTail, 429.6 - 214.8))
        #expect(Self.close(c.idleWhileWaiting, 0))
        // Best: (112.4 + 214.8 + 317.2) ÷ 2 = 322.2 s, longer than c alone (317.2 s).
        #expect(Self.close(c.lowerBound, (112.4 + 214.8 + 317.2) / 2))
        #expect(report.renderText().contains("1 task waited for an ESXi limit"))

        // With one configured slot the second copy runs over it.
        let one = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration,
                             clusterSlots: [sim.inventorySnapshot.clusters[0].ref: 1])
        let c1 = try #require(one.clusters.first)
        #expect(Self.close(c1.overSlotSeconds, 214.8))
        #expect(Self.close(c1.idleSlotSeconds, 0))
        #expect(one.renderText().contains("over slots"))
    }

    @Test func largestVMBoundsTheSpan() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 300], hosts: 2)
        _ = try await sim.move("a", to: "D1")
        _ = try await sim.move("b", to: "D2")
        sim.advanceUntilIdle()
        let report = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration)
        let c = try #require(report.clusters.first)
        // 300 GiB at 100 MiB/s + 10 s = 3,082 s alone; (112.4 + 3,082) ÷ 4 slots is less.
        #expect(c.boundReason == .largestVM)
        #expect(Self.close(c.lowerBound, 3082))
        #expect(Self.close(c.ratio, 1))
    }

    @Test func exceededLimitsAreListed() async throws {
        let sim = try Fixtures.handmade(sizesGB: [10, 20, 30], config: Fixtures.config { $0.limits.enforced = false })
        for (vm, ds) in [("a", "D1"), ("b", "D2"), ("c", "D3")] { _ = try await sim.move(vm, to: ds) }
        sim.advanceUntilIdle()
        let report = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration)
        #expect(report.exceeded.map(\.name) == ["esx-1"])
        #expect(report.exceeded.first?.peakCost == 12)
        let text = report.renderText()
        #expect(text.contains("LIMIT EXCEEDED on 1 resource: host esx-1 12/8"))
        #expect(!text.contains("No limit exceeded."))
        #expect(text.contains("(limits only counted)"))
    }

    @Test func anEmptyRunStillRenders() throws {
        let sim = try Fixtures.handmade(sizesGB: [10])
        let report = PlanReport(stats: sim.stats, inventory: sim.inventorySnapshot, configuration: sim.configuration)
        #expect(report.makespan == 0)
        #expect(report.clusters.isEmpty)
        #expect(report.renderText().contains("no task ran"))
        #expect((try? JSONSerialization.jsonObject(with: report.jsonData())) != nil)
    }

    @Test func humanUnits() {
        #expect(PlanFormat.duration(5 * 3600 + 12 * 60) == "5h 12m")
        #expect(PlanFormat.duration(42) == "42s")
        #expect(PlanFormat.duration(2.5) == "2.5s")
        #expect(PlanFormat.duration(3102) == "51m 42s")
        #expect(PlanFormat.duration(3600) == "1h")
        #expect(PlanFormat.duration(26 * 3600 + 60) == "1d 2h 1m")
        #expect(PlanFormat.hours(26 * 3600 + 60) == "26h 1m")
        #expect(PlanFormat.bytes(500 << 40) == "500.0 TiB")
        #expect(PlanFormat.bytes(3 << 29) == "1.5 GiB")
        #expect(PlanFormat.bytes(850 << 30) == "850.0 GiB")
        #expect(PlanFormat.bytes(1012 << 30) == "0.99 TiB")
        #expect(PlanFormat.bytes(99_990 << 20) == "97.6 GiB")
        #expect(PlanFormat.count(3000) == "3,000")
        #expect(PlanFormat.count(100_000) == "100,000")
        #expect(PlanFormat.count(999) == "999")
        #expect(PlanFormat.percent(1, of: 8) == "13%")
        #expect(PlanFormat.percent(1, of: 200) == "0.5%")
        #expect(PlanFormat.truncate("abcdefgh", 5) == "abcd…")
    }
}
