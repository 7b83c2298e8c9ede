import Foundation
import Testing
import TestSupport

/// Issue 15, pacing by throughput: the test vCenter's shared-bandwidth model (`-array`) and
/// the built-in simulator's (`plan --array`) are one model. A migration whose source array
/// is its bottleneck takes what `plan` predicts on the test vCenter's own inventory.
@Suite("shared storage bandwidth on both backends")
struct SharedBandwidthTests {
    @Test("a migration limited by its source array: the test vCenter's makespan is plan's, the array served B all along")
    func planAndTestVCenterAgree() async throws {
        // One 200 MB/s array over legacy-*, 100 MB/s per copy, 4 copies at once (50 each):
        // the array stays full while any two copy, so a late completion notice costs nothing
        // and the makespan is the bytes ÷ 200 MB/s on both backends.
        let array = "old=legacy-*:200"
        let vc = try await TestVCenter.start(.init(
            clusters: 1, hosts: 4, vms: 8, datastores: "legacy:2,new:2", snapshotFraction: 0, consolidateFraction: 0,
            rateMBps: 100, speed: 400, arrays: [array], extraArgs: ["-svmotion-setup-seconds", "15"]))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = repoRoot.appendingPathComponent("examples/storage-migration.lua").path
        let saved = try await runMoonmotion(["inventory", "--json", "--url", vc.urlWithCredentials.absoluteString], directory: dir)
        #expect(saved.status == 0, "\(saved.stderr)")
        let inventory = dir.appendingPathComponent("inventory.json")
        try saved.stdout.write(to: inventory, atomically: true, encoding: .utf8)

        let plan = try await runMoonmotion(
            ["plan", script, "max_concurrent=4", "--inventory", inventory.path, "--rate", "100", "--array", array, "--json"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(plan.status == 0, "\(plan.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let predicted = try #require(json["makespanSeconds"] as? Double)
        let arrays = json["arrays"] as? [[String: Any]] ?? []
        #expect(arrays.first?["spec"] as? String == array && arrays.first?["maxCopies"] as? Int == 4, "\(arrays)")

        try await vc.resetStats()
        let run = try await runMoonmotion(
            ["run", "--url", vc.urlWithCredentials.absoluteString, script, "max_concurrent=4", "--journal", dir.appendingPathComponent("j").path],
            directory: dir, timeout: 240)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let stats = try await vc.stats()
        let relocations = stats.tasks.filter { $0.method == "RelocateVM_Task" && $0.state == "success" }
        #expect(relocations.count == 8)
        let first = relocations.map(\.createdSim).min() ?? 0, last = relocations.compactMap(\.completedSim).max() ?? 0
        let makespan = last - first
        let copied = relocations.compactMap(\.copyBytes).reduce(0, +)
        let old = try #require(stats.arrays["old"])
        #expect(abs(old.bytesRead - copied) <= 1e-6 * copied, "the array read every copied byte: \(old.bytesRead) vs \(copied)")
        #expect(old.maxCopies <= 4 && old.meanMbps > 0.97 * 200 && old.meanMbps <= 200 * (1 + 1e-9), "array served \(old.meanMbps) MB/s")
        #expect(relocations.allSatisfy { ($0.copyMbps ?? 0) <= 100 * (1 + 1e-9) }, "no copy above -rate-mbps")
        // The copies alone need copied ÷ 200 MB/s; both backends add one setup and little else.
        let floor = copied / 200 / 1_048_576
        #expect(predicted >= floor && makespan >= floor * (1 - 1e-9), "plan \(predicted) s, run \(makespan) s, bytes ÷ B \(floor) s")
        #expect(abs(makespan - predicted) <= 0.03 * predicted, "test vCenter \(makespan) s vs plan \(predicted) s")
    }
}
