import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `moonmotion run` on the test vCenter where a mistake would move the wrong VMs or exceed
/// a limit: a journal resumed against another vCenter, a relocation whose answer is lost,
/// the per-vCenter cap (`--max-concurrent`).
@Suite("engine safety on the test vCenter")
struct EngineSafetyTests {
    /// The most tasks running at once at the test vCenter, from its task list.
    static func peakRunning(_ stats: TestVCenter.Stats) -> Int {
        var edges: [(Double, Int)] = []
        for t in stats.tasks {
            guard let start = t.startedSim else { continue }
            edges.append((start, 1))
            edges.append((t.completedSim ?? .infinity, -1))
        }
        // At equal times an end comes before a start (a completion frees the slot it hands on).
        edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var running = 0, peak = 0
        for (_, d) in edges {
            running += d
            peak = max(peak, running)
        }
        return peak
    }

    @Test("a journal started on vCenter A is refused on vCenter B (same topology, same MoRef ids), naming both; A then resumes it to the end")
    func journalBelongsToItsVCenter() async throws {
        let topology = TestVCenter.Options(clusters: 1, hosts: 4, vms: 12, speed: 400)
        let a = try await TestVCenter.start(topology)
        defer { a.stop() }
        let b = try await TestVCenter.start(topology)
        defer { b.stop() }
        #expect(!a.instanceUUID.isEmpty && a.instanceUUID != b.instanceUUID)
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("migration.journal").path
        let events = dir.appendingPathComponent("events.jsonl")
        func arguments(_ vc: TestVCenter) -> [String] {
            ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "--journal", journal]
        }

        // On A: killed once a move runs.
        let first = try BackgroundMoonmotion(arguments(a) + ["--events", events.path], directory: dir)
        let started = Date()
        while first.isRunning, Date().timeIntervalSince(started) < 60,
              (try? String(contentsOf: events, encoding: .utf8))?.contains("\"state\":\"running\"") != true {
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        first.signal(SIGKILL)
        _ = await first.finish()
        let movedOnA = try await a.stats().moves.count
        #expect(movedOnA < 12)

        // On B: refused, one line naming both vCenters, nothing asked of B's tasks.
        try await b.resetStats()
        let refused = try await runMoonmotion(arguments(b) + ["--resume"], directory: dir, timeout: 120)
        #expect(refused.status == 1, "\(refused.stdout)\n\(refused.stderr)")
        let line = refused.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.hasPrefix("moonmotion: cannot resume:"), "\(refused.stderr)")
        for part in [a.instanceUUID, b.instanceUUID, a.hostAndPort, b.hostAndPort, "--journal FILE"] {
            #expect(line.contains(part), "\(part) missing: \(line)")
        }
        #expect(!refused.stderr.contains(b.password) && !refused.stderr.contains("vmware_soap_session"))
        let atB = try await b.stats()
        #expect(atB.tasks.isEmpty && atB.calls("RelocateVM_Task") == 0, "\(atB.soapCalls.keys.sorted())")
        #expect(atB.calls("RetrievePropertiesEx") == 0, "B's inventory was not even read")

        // Back on A the journal's run continues: every VM moved exactly once.
        let resumed = try await runMoonmotion(arguments(a) + ["--resume"], directory: dir, timeout: 180)
        #expect(resumed.status == 0, "\(resumed.stdout)\n\(resumed.stderr)")
        #expect(resumed.stdout.contains("0 failed; 0 skipped; 0 pending"), "\(resumed.stdout)")
        let atA = try await a.stats()
        #expect(atA.moves.count == 12 && atA.moves.values.allSatisfy { $0 == 1 }, "\(atA.moves)")
        #expect(atA.limitViolations.isEmpty)

        // Resuming with other parameters is only a warning.
        let again = try await runMoonmotion(arguments(a) + ["--resume", "per_host=1"], directory: dir, timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("warning: resuming with parameters per_host=1"), "\(again.stderr)")
    }

    @Test("connections dropped after vCenter created the relocation: the tasks are found and adopted, no VM moved twice, no limit exceeded")
    func droppedAnswers() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 4, vms: 12, speed: 400))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        // The first three relocations reach vCenter, which starts them, and the answer never comes.
        try await vc.injectFault(.dropConnection(method: "RelocateVM_Task", afterHandling: true, count: 3))
        let events = dir.appendingPathComponent("events.jsonl")
        let outcome = try await runMoonmotion(
            ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"),
             "--journal", dir.appendingPathComponent("m.journal").path, "--events", events.path],
            directory: dir, timeout: 240)
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
        #expect(outcome.stdout.contains("0 failed; 0 skipped; 0 pending"), "\(outcome.stdout)")
        let stats = try await vc.stats()
        #expect(stats.moves.count == 12 && stats.moves.values.allSatisfy { $0 == 1 }, "\(stats.moves)")
        // One relocation per VM: the three whose answers were lost were adopted, not repeated.
        #expect(stats.tasks.filter { $0.method == "RelocateVM_Task" }.count == 12, "\(stats.tasks.map { "\($0.vm) \($0.state)" })")
        #expect(stats.limitViolations.isEmpty, "\(stats.limitViolations)")
        #expect(stats.limitQueuedTotal == 0)
        let lines = try String(contentsOf: events, encoding: .utf8)
        #expect(lines.components(separatedBy: "may have received it").count - 1 == 3, "three lost calls looked for")
        // (A call dropped before vCenter handles it is retried after the 30 s backoff: LostCallTests.)
    }

    @Test("--max-concurrent caps the jobs running at once in the vCenter (run and plan); an unusable value is refused")
    func maxConcurrent() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 2, hosts: 4, vms: 8, speed: 400))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(
            ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "--no-journal", "--max-concurrent", "3"],
            directory: dir, timeout: 240)
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr)")
        let stats = try await vc.stats()
        #expect(stats.moves.count == 16)
        // storage-migration.lua allows 2 per cluster (4 in all); the cap holds it to 3.
        #expect(Self.peakRunning(stats) == 3, "\(stats.tasks.map { "\($0.vm) \($0.startedSim ?? -1)–\($0.completedSim ?? -1)" })")

        let bad = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--max-concurrent", "0"],
                                          directory: dir, environment: noVCenter)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--max-concurrent: 0 is not a usable number of concurrent jobs per vCenter: give a whole number from 1 to 2000"), "\(bad.stderr)")

        func makespan(_ extra: [String]) async throws -> Double {
            let plan = try await runMoonmotion(
                ["plan", examplePath("storage-migration.lua"), "--generate", "clusters=2,hosts=4,vms=20", "--json"] + extra,
                directory: dir, environment: noVCenter)
            #expect(plan.status == 0, "\(plan.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
            return json?["makespanSeconds"] as? Double ?? 0
        }
        let free = try await makespan([]), capped = try await makespan(["--max-concurrent", "1"])
        #expect(free > 0 && capped > 2.5 * free, "one job at a time instead of 2 per cluster: \(free) s → \(capped) s")
    }
}
