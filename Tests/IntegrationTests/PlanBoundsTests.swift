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
        // The bound is on the plan's CPU time, which the shell's `times` reports for its child:
        // wall time at load 30 (other builds on the two cores) measured 35 s for the same 0.5 s
        // of work, and this test is about the plan's work being bounded, not the machine.
        let outcome = try await runMoonmotion(
            ["plan", "always-retry.lua", "--generate", "clusters=1,hosts=2,vms=2", "--inject", "rate=1,fault=FileLocked"],
            directory: dir, environment: ["GOVC_URL": ""], shell: "\"$@\"; s=$?; times >&2; exit $s")
        let cpu = try #require(childCPUSeconds(fromTimesOutput: outcome.stderr), "\(outcome.stderr)")
        #expect(cpu < 5, "the plan took \(cpu) s of CPU; about 0.5 s")
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

/// The CPU seconds (user + system) of the shell's children, from the last line `times`
/// printed ("0m0.52s 0m0.08s"), or nil when there is none.
func childCPUSeconds(fromTimesOutput text: String) -> Double? {
    guard let line = text.split(separator: "\n").last else { return nil }
    let parts = line.split(separator: " ")
    guard parts.count == 2 else { return nil }
    var total = 0.0
    for part in parts {
        let fields = part.dropLast().split(separator: "m")   // "0m0.52s" → "0", "0.52"
        guard part.hasSuffix("s"), fields.count == 2, let m = Double(fields[0]), let sec = Double(fields[1]) else { return nil }
        total += m * 60 + sec
    }
    return total
}
