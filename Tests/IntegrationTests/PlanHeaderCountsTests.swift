import Foundation
import Testing
import TestSupport

/// The plan's header agrees with the engine's line below it (issue 13, finding 3): it once
/// counted failed *tasks* only, so a job the engine failed before any task ran (no target
/// with room) left it saying "Failures none" above "Engine: … 1 failed"; and jobs the strategy
/// holds are neither failures nor silently missing.
@Suite("moonmotion plan: the header counts what the engine decided")
struct PlanHeaderCountsTests {
    /// The header's value for `label` ("Failures", "Held"), or nil when the line is absent.
    static func headerValue(_ label: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix(label + " ") else { continue }
            return trimmed.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    @Test("a job failed before any task (new storage too small for the last VM) is a failure in the header")
    func failedWithoutATask() async throws {
        // 12 VMs of 300 GiB on one 3.6 TiB datastore; the one new datastore keeps 10% free, so
        // the twelfth VM finds no target with room once the others have landed.
        let outcome = try await runMoonmotion(
            ["plan", examplePath("storage-migration.lua"),
             "--generate", "clusters=1,hosts=2,vms=12,datastores=1,capacity=3.6,size=300,sigma=0"],
            environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Engine: 12 jobs: 11 done, 1 failed"), "\(outcome.stdout)")
        #expect(Self.headerValue("Failures", in: outcome.stdout) == "1 job failed before any task (the engine's reasons below)",
                "\(outcome.stdout)")
        #expect(outcome.stdout.contains("failed: app-c1-0012 (storage): no target datastore has"), "\(outcome.stdout)")
        #expect(Self.headerValue("Held", in: outcome.stdout) == nil)
    }

    @Test("jobs the strategy holds for ever are counted as held in the header, not as failures")
    func heldJobs() async throws {
        let script = """
            local strategy = require("moonmotion.strategy")
            return {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              -- cluster-2 waits for a go-ahead that never comes
              target = function(job, candidates)
                if job.cluster and job.cluster.name == "cluster-2" then return nil end
                return candidates[1]
              end,
            }
            """
        let dir = try scriptDirectory(["hold.lua": script])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["plan", "hold.lua", "--generate", "clusters=2,hosts=2,vms=6"],
                                              directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Engine: 6 jobs: 3 done, 0 failed, 0 skipped, 3 never started (3 held by the strategy)"),
                "\(outcome.stdout)")
        #expect(Self.headerValue("Failures", in: outcome.stdout) == "none", "\(outcome.stdout)")
        #expect(Self.headerValue("Held", in: outcome.stdout) == "3 jobs held by the strategy never started (not failures)",
                "\(outcome.stdout)")
    }
}
