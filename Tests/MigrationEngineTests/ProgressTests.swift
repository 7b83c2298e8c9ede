import Foundation
import MigrationEngine
import Locking
import Testing
import VCenterModel

@Suite("Progress")
struct ProgressTests {
    @Test("the tracker follows a run: running tasks with %, per-cluster and overall totals, bytes, the end")
    func trackerFollowsRun() async throws {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 4
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        let tracker = ProgressTracker()
        let midRun = Locked<ProgressSnapshot?>(nil)
        let announced = Locked<Int64>(0)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), onEvent: { event in
            tracker.record(event)
            if case .runStarted(let start) = event.kind { announced.withLock { $0 = start.bytes } }
            if case .taskProgress = event.kind, midRun.withLock({ $0 == nil }) {
                let s = tracker.snapshot()
                midRun.withLock { $0 = s }
            }
        })
        let summary = try await runner.run()
        let mid = try #require(midRun.withLock { $0 })
        #expect(mid.overall.running == 8, "2 per host × 4 hosts")
        #expect(mid.running.count == 8)
        #expect(mid.running.contains { $0.percent == 50 })
        #expect(mid.running.allSatisfy { $0.route.contains("old-") && $0.route.contains("→ new-") })
        #expect(mid.overall.bytesDone > 0 && mid.overall.bytesDone < mid.overall.bytesTotal)

        let end = tracker.snapshot()
        let total = inv.vms.reduce(Int64(0)) { $0 + $1.committedBytes }
        #expect(end.outcome == .completed)
        #expect(end.overall.jobs == inv.vms.count)
        #expect(end.overall.done == inv.vms.count)
        #expect(end.overall.bytesTotal == total)
        #expect(announced.withLock { $0 } == total, "run-started announces every byte to move")
        #expect(end.overall.bytesDone == total)
        #expect(end.overall.fraction == 1)
        #expect(end.overall.eta == 0)
        #expect(end.running.isEmpty)
        #expect(end.clusters.map(\.name) == ["cl0", "cl1"])
        #expect(end.clusters.map(\.totals.jobs) == [8, 8])
        #expect(end.elapsed == summary.duration)
        #expect(end.overall.rate > 0)
    }

    @Test("rate over the window and ETA from the remaining bytes")
    func rateAndETA() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let tracker = ProgressTracker(rateWindow: 600)
        func job(_ id: Int, _ state: JobState, attempts: Int = 1) -> Job {
            Job(id: JobID(id), vm: MoRef("VirtualMachine", "vm-\(id)"), vmName: "vm\(id)", cluster: MoRef("ClusterComputeResource", "c1"),
                kind: .storageMove(.to([MoRef("Datastore", "d")])), size: 100_000_000_000, state: state, attempts: attempts,
                createdAt: t0)
        }
        tracker.record(EngineEvent(time: t0, kind: .runStarted(RunStart(jobs: 3, bytes: 300_000_000_000, resumed: false,
                                                                         names: [MoRef("ClusterComputeResource", "c1"): "prod"]))))
        for i in 0..<3 { tracker.record(EngineEvent(time: t0, kind: .jobAdded(job(i, .pending, attempts: 0)))) }
        tracker.record(EngineEvent(time: t0, kind: .jobChanged(job(0, .running), from: .pending)))
        tracker.record(EngineEvent(time: t0.addingTimeInterval(1000), kind: .jobChanged(job(0, .done), from: .running)))
        let s = tracker.snapshot(at: t0.addingTimeInterval(1000))
        // 100 GB in the 1000 s since the window's base sample.
        #expect(abs(s.overall.rate - 100_000_000) < 1)
        #expect(s.overall.eta.map { abs($0 - 2000) < 0.01 } == true)
        #expect(s.clusters.first?.name == "prod")
        // Later, with nothing finished in the last 600 s, the rate falls.
        let later = tracker.snapshot(at: t0.addingTimeInterval(2000))
        #expect(later.overall.rate < s.overall.rate)
    }

    @Test("the renderer fits the width and shows the figures; log lines and the summary say what happened")
    func renderer() async throws {
        var spec = TestInventory()
        spec.clusters = 2
        spec.hostsPerCluster = 2
        spec.vmsPerHost = 3
        let inv = spec.make()
        let vc = FakeVCenter(inventory: inv)
        let bad = inv.vms[1].ref
        vc.failTasks { vm, _ in vm == bad ? VCenterFault(type: "InvalidArgument", message: "disk is busted") : nil }
        let tracker = ProgressTracker()
        let mid = Locked<ProgressSnapshot?>(nil)
        let runner = MigrationRunner(vcenter: vc, strategy: ClosureStrategy(select: TestInventory.moveAll), onEvent: { event in
            tracker.record(event)
            if case .taskProgress = event.kind, mid.withLock({ $0 == nil }) {
                let s = tracker.snapshot()
                mid.withLock { $0 = s }
            }
        })
        let summary = try await runner.run()
        let snapshot = try #require(mid.withLock { $0 })
        for width in [50, 80, 132] {
            let lines = ProgressRenderer(width: width, title: "storage-migration").render(snapshot)
            #expect(lines.allSatisfy { $0.count <= width }, "\(lines)")
            #expect(lines[0].hasPrefix("storage-migration"))
            #expect(lines[1].hasPrefix("overall"))
            #expect(lines.contains { $0.hasPrefix("cl0") } && lines.contains { $0.hasPrefix("cl1") })
            #expect(lines.contains { $0.hasPrefix("running ") })
        }
        let wide = ProgressRenderer(width: 200).render(snapshot)
        #expect(wide[1].contains("0/12 VMs") || wide[1].contains("/12 VMs"))
        #expect(wide.contains { $0.contains(" 50%") })
        let log = ProgressRenderer(width: 200).logLine(tracker.snapshot())
        #expect(log.contains("11/12 VMs done"))
        #expect(log.contains("1 skipped"))
        let closing = ProgressRenderer(width: 200).summary(summary)
        #expect(closing[0].hasPrefix("run completed"))
        #expect(closing.contains { $0.contains("moved 11 VM(s)") })
        #expect(closing.contains { $0.contains("skipped: vm1") && $0.contains("disk is busted") })
        #expect(closing.contains { $0.contains("per moved VM") })
    }

    @Test("sizes, durations and bars are formatted for people")
    func formatting() {
        #expect(ProgressRenderer.bytes(512) == "512 B")
        #expect(ProgressRenderer.bytes(1_500_000_000) == "1.4 GiB")
        #expect(ProgressRenderer.bytes(500_000_000_000_000) == "454.7 TiB")
        #expect(ProgressRenderer.duration(45) == "45s")
        #expect(ProgressRenderer.duration(725) == "12m05s")
        #expect(ProgressRenderer.duration(3 * 3600 + 7 * 60) == "3h07m")
        #expect(ProgressRenderer.duration(2 * 86400 + 4 * 3600) == "2d04h")
        #expect(ProgressRenderer.bar(0.5, width: 10) == "[#####-----]")
        #expect(ProgressRenderer.rate(0) == "– /s")
    }

    @Test("the events file holds one JSON object per event, without credentials")
    func eventsFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mm-events-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 3
        let inv = spec.make()
        let writer = try EventLogWriter(path: path)
        let count = Locked(0)
        let runner = MigrationRunner(vcenter: FakeVCenter(inventory: inv), strategy: ClosureStrategy(select: TestInventory.moveAll),
                                     onEvent: { e in writer.write(e); count.withLock { $0 += 1 } })
        _ = try await runner.run()
        writer.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == count.withLock { $0 })
        var types: [String] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            types.append(object["type"] as? String ?? "")
            #expect(object["time"] is String)
        }
        #expect(types.first == "run-started")
        #expect(types.last == "run-finished")
        #expect(types.filter { $0 == "job-changed" }.count == 9)
        #expect(types.contains("task-progress"))
        let text = try String(contentsOfFile: path, encoding: .utf8).lowercased()
        #expect(!text.contains("password") && !text.contains("cookie"))
    }
}
