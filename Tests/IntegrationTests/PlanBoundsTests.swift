import Foundation
import Testing
import TestSupport

/// `plan` ends whatever the strategy does (issue 13.1): a strategy that keeps a job going
/// forever is cut at the simulated time limit, and plan says so and exits 1.
@Suite("moonmotion plan: bounded")
struct PlanBoundsTests {
    static let alwaysRetry = """
        local strategy = require("moonmotion.strategy")
        return {
          select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
          on_failure = function(job, err) return err.type == "NoDiskSpace" and "skip" or "retry" end,
        }
        """

    @Test("a simulated time limit cuts the plan short: exit 1, the unfinished jobs named with their faults")
    func timeLimitCutsShort() async throws {
        let dir = try scriptDirectory(["always-retry.lua": Self.alwaysRetry])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(
            ["plan", "always-retry.lua", "--generate", "clusters=1,hosts=2,vms=2", "--inject", "rate=1,fault=FileLocked",
             "--time-limit", "2h"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 1, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("cut short: the simulated time limit (2h00m) was reached"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("unfinished: app-c1-0001 (storage,"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("last: FileLocked: injected by the simulator (--inject)"), "the fault once: \(outcome.stdout)")
        #expect(!outcome.stdout.contains("FileLocked: FileLocked"))
    }

    @Test("without a limit the same strategy ends by the attempt limit, each job named, in seconds")
    func attemptLimitEndsThePlan() async throws {
        let dir = try scriptDirectory(["always-retry.lua": Self.alwaysRetry])
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = Date()
        let outcome = try await runMoonmotion(
            ["plan", "always-retry.lua", "--generate", "clusters=1,hosts=2,vms=2", "--inject", "rate=1,fault=FileLocked"],
            directory: dir, environment: ["GOVC_URL": ""])
        #expect(Date().timeIntervalSince(started) < 30, "bounded; about 0.5 s on an idle machine")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("Engine: 2 jobs: 0 done, 2 failed"))
        for vm in ["app-c1-0001", "app-c1-0002"] {
            #expect(outcome.stdout.contains("failed: \(vm) (storage): gave up after 25 attempts (FileLocked ×25)"), "\(outcome.stdout)")
        }
    }

    @Test("--time-limit must be a duration")
    func badTimeLimit() async throws {
        let dir = try scriptDirectory(["always-retry.lua": Self.alwaysRetry])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["plan", "always-retry.lua", "--time-limit", "soon"], directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("--time-limit 'soon' is not a duration"))
    }
}
