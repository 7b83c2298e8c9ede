import Foundation
import Testing
import TestSupport

/// `examples/waves.lua` (issue 13.2) through the `moonmotion` binary on the built-in
/// simulator: the dry run groups the jobs by wave, `run` goes through the waves, `plan` adds a
/// line per wave, FileLocked is retried twice, `exclude` leaves VMs out.
@Suite("examples/waves.lua: run, dry run and plan")
struct WavesExampleTests {
    /// 12 VMs in 2 clusters; with seed 0, 3 of them powered off (wave 1).
    static let generate = ["--generate", "clusters=2,hosts=4,vms=12,off=0.3"]
    static let script = examplePath("waves.lua")

    @Test("dry run: wave 1 (the powered-off VMs) listed before wave 2; exclude leaves VMs out")
    func dryRun() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await runMoonmotion(["run", Self.script, "--dry-run"] + Self.generate, directory: dir, environment: noVCenter)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        let w1 = try #require(lines.firstIndex { $0.hasPrefix("wave 1 (per cluster): 3 job(s), ") }, "\(out.stdout)")
        let w2 = try #require(lines.firstIndex { $0.hasPrefix("wave 2 (per cluster): 9 job(s), ") }, "\(out.stdout)")
        #expect(w2 == w1 + 4, "three jobs between the headers: \(out.stdout)")

        let excluded = try await runMoonmotion(["run", Self.script, "--dry-run", "exclude=app-c1-*", "scope=vcenter"] + Self.generate,
                                               directory: dir, environment: noVCenter)
        #expect(excluded.status == 0, "\(excluded.stderr)")
        #expect(excluded.stdout.contains("6 job(s) to run"), "\(excluded.stdout)")
        #expect(!excluded.stdout.contains("app-c1-"), "\(excluded.stdout)")
        #expect(excluded.stdout.contains("(across the vCenter)"), "\(excluded.stdout)")

        let badScope = try await runMoonmotion(["run", Self.script, "--dry-run", "scope=clusters"] + Self.generate,
                                               directory: dir, environment: noVCenter)
        #expect(badScope.status != 0)
        #expect(badScope.stderr.contains("wave_scope is \"clusters\" (did you mean 'cluster'?)"), "\(badScope.stderr)")
    }

    @Test("run: every job done, the summary tells how far each wave got")
    func run() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await runMoonmotion(["run", Self.script, "--speed", "50000"] + Self.generate, directory: dir,
                                          environment: noVCenter, timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("moved 12 VM(s)"), "\(out.stdout)")
        #expect(out.stdout.contains("waves: 1: 3/3 ended, 2: 9/9 ended"), "\(out.stdout)")
    }

    @Test("plan: a line per wave, wave 1 ending first; FileLocked tried three times, then skipped")
    func plan() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await runMoonmotion(["plan", Self.script] + Self.generate, directory: dir, environment: noVCenter)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("Engine: 12 jobs: 12 done"), "\(out.stdout)")
        func end(_ wave: Int, in text: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix("  wave \(wave): ") }.map { String($0.split(separator: "+").last ?? "") }
        }
        #expect(out.stdout.contains("  wave 1: 3 jobs, "), "\(out.stdout)")
        #expect(out.stdout.contains("  wave 2: 9 jobs, "), "\(out.stdout)")
        #expect(end(1, in: out.stdout) != nil && end(2, in: out.stdout) != nil)

        let locked = try await runMoonmotion(["plan", Self.script, "--inject", "rate=1,fault=FileLocked"] + Self.generate,
                                             directory: dir, environment: noVCenter)
        #expect(locked.status == 0, "\(locked.stderr)")
        #expect(locked.stdout.contains("36 tasks failed: FileLocked 36"), "three attempts per VM: \(locked.stdout)")
        #expect(locked.stdout.contains("Engine: 12 jobs: 0 done, 0 failed, 12 skipped"), "\(locked.stdout)")
    }
}
