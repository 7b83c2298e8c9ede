import Foundation
@testable import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// Retries the strategy owns (issue 13.1), from Lua: the `retries` and `backoff` fields,
/// `on_failure` hearing every failure, `tostring(err)`.
@Suite("LuaStrategy retries")
struct LuaStrategyRetryTests {
    static let select = StrategyHarness.storageMoveSelect

    /// A harness whose every task fails with FileLocked, over one VM.
    static func alwaysLocked() throws -> StrategyHarness {
        var faults = FaultInjection()
        faults.failureProbability = 1
        return try StrategyHarness(spec: "clusters=1,hosts=1,vms=1", faults: faults)
    }

    /// Runs `source`'s strategy; returns the run's outcome and the global `heard`.
    static func run(_ source: String, harness: StrategyHarness) async throws -> (StrategyHarness.Outcome, String) {
        let strategy = try await harness.strategy(source: source)
        let outcome = try await harness.run(strategy)
        return (outcome, try await harness.globalText("heard"))
    }

    /// Records each failure as `attempt:will_retry:rule:retry_at?` in the global `heard`.
    static let recorder = """
        heard = ""
        local function record(err)
          heard = heard .. string.format("%d:%s:%s:%s;", err.attempt, tostring(err.will_retry), err.rule,
            math.type(err.retry_at) == "integer" and "at" or tostring(err.retry_at))
        end
        """

    @Test("retries = { FileLocked = 2 }: on_failure hears three failures (will_retry true, true, false), nil lets the rule decide")
    func perFaultRetries() async throws {
        let harness = try Self.alwaysLocked()
        defer { harness.shutdown() }
        let (outcome, heard) = try await Self.run("""
            \(Self.recorder)
            return { \(Self.select),
              retries = { FileLocked = 2 },
              on_failure = function(job, err) record(err) return nil end }
            """, harness: harness)
        #expect(heard == "1:true:FileLocked:at;2:true:FileLocked:at;3:false:FileLocked:nil;")
        #expect(outcome.stats.tasks.count == 3)
        #expect(outcome.summary.skipped.count == 1)
        #expect(outcome.summary.failed.isEmpty)
    }

    @Test("without retries the engine's default holds (7 retries of a retriable fault); default = 1 changes it")
    func defaultRetries() async throws {
        do {
            let harness = try Self.alwaysLocked()
            defer { harness.shutdown() }
            let (outcome, heard) = try await Self.run("""
                \(Self.recorder)
                return { \(Self.select), on_failure = function(job, err) record(err) end }
                """, harness: harness)
            #expect(heard.split(separator: ";").map { $0.split(separator: ":")[1] } == Array(repeating: "true", count: 7) + ["false"])
            #expect(heard.hasPrefix("1:true:default:at;"), "\(heard)")
            #expect(outcome.stats.tasks.count == 8)
            #expect(outcome.summary.skipped.count == 1)
        }
        do {
            let harness = try Self.alwaysLocked()
            defer { harness.shutdown() }
            let (outcome, heard) = try await Self.run("""
                \(Self.recorder)
                return { \(Self.select), retries = { default = 1 }, on_failure = function(job, err) record(err) end }
                """, harness: harness)
            #expect(heard == "1:true:default:at;2:false:default:nil;")
            #expect(outcome.stats.tasks.count == 2)
        }
    }

    @Test("an answer overrides the rule: skip a fault the rule would retry, retry one it would not — up to retries.limit")
    func answersOverride() async throws {
        do {
            let harness = try Self.alwaysLocked()
            defer { harness.shutdown() }
            let (outcome, _) = try await Self.run("""
                return { \(Self.select), on_failure = function(job, err) return "skip" end }
                """, harness: harness)
            #expect(outcome.stats.tasks.count == 1)
            #expect(outcome.summary.skipped.count == 1)
        }
        do {
            let harness = try Self.alwaysLocked()
            defer { harness.shutdown() }
            let (outcome, heard) = try await Self.run("""
                \(Self.recorder)
                return { \(Self.select), retries = { FileLocked = 0, limit = 4 },
                  on_failure = function(job, err) record(err) return "retry" end }
                """, harness: harness)
            #expect(heard == "1:false:FileLocked:nil;2:false:FileLocked:nil;3:false:FileLocked:nil;4:false:FileLocked:nil;")
            #expect(outcome.stats.tasks.count == 4)
            let failed = try #require(outcome.summary.failed.first)
            #expect(failed.lastError?.contains("gave up after 4 attempts (FileLocked ×4)") == true, "\(failed.lastError ?? "")")
        }
    }

    @Test("strategy.retry_up_to(2): two attempts in all, whatever the fault; strategy.skip lets the rules retry first")
    func stdlibAnswers() async throws {
        do {
            let harness = try Self.alwaysLocked()
            defer { harness.shutdown() }
            let (outcome, _) = try await Self.run("""
                local strategy = require "moonmotion.strategy"
                return strategy.new { \(Self.select), on_failure = strategy.retry_up_to(2) }
                """, harness: harness)
            #expect(outcome.stats.tasks.count == 2)
            #expect(outcome.summary.skipped.count == 1)
        }
        do {
            // strategy.new fills in strategy.skip; called as Lua (wrapped) it answers the same.
            let harness = try Self.alwaysLocked()
            defer { harness.shutdown() }
            let (outcome, _) = try await Self.run("""
                local strategy = require "moonmotion.strategy"
                return strategy.new { \(Self.select), retries = { FileLocked = 3 },
                  on_failure = function(job, err) return strategy.skip(job, err) end }
                """, harness: harness)
            #expect(outcome.stats.tasks.count == 4)
            #expect(outcome.summary.skipped.count == 1)
        }
    }

    @Test("tostring(err) reads as one line naming the fault, the attempt and the job; its metatable is protected")
    func errorText() async throws {
        let harness = try Self.alwaysLocked()
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            texts = ""
            return { \(Self.select), retries = { FileLocked = 1 },
              on_failure = function(job, err)
                texts = texts .. tostring(err) .. "\\n"
                local replaced = pcall(setmetatable, err, {})
                texts = texts .. tostring(getmetatable(err)) .. " " .. tostring(replaced) .. " " .. job.vm_name .. "\\n"
              end }
            """)
        let outcome = try await harness.run(strategy)
        let vm = try #require(outcome.summary.jobs.first?.vmName)
        let lines = try await harness.globalText("texts").split(separator: "\n").map(String.init)
        #expect(lines == [
            "FileLocked: Unable to access file: the file is locked (injected by the simulator) (attempt 1 of job \(vm))",
            "moonmotion.Error false \(vm)",
            "FileLocked: Unable to access file: the file is locked (injected by the simulator) (attempt 2 of job \(vm))",
            "moonmotion.Error false \(vm)",
        ])
    }

    @Test("retries and backoff are checked: fault names (did you mean), whole counts ≥ 0, limit ≥ 1, backoff fields and order")
    func badSettings() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        func loadError(_ fields: String, library: Bool = false) async -> String {
            await harness.loadError(fields: fields, library: library)
        }
        let typo = await loadError("retries = { FileLoked = 2 }")
        #expect(typo.contains("retries has 'FileLoked' (did you mean 'FileLocked'?), which is not a fault type"), "\(typo)")
        let lower = await loadError("retries = { filelocked = 2 }")
        #expect(lower.contains("(did you mean 'FileLocked'?)"), "\(lower)")
        let keyword = await loadError("retries = { Default = 2 }")
        #expect(keyword.contains("(did you mean 'default'?)"), "\(keyword)")
        let negative = await loadError("retries = { FileLocked = -1 }")
        #expect(negative.contains("retries.FileLocked must be a whole number ≥ 0 (retries after the first attempt), not -1"), "\(negative)")
        let fraction = await loadError("retries = { default = 1.5 }")
        #expect(fraction.contains("retries.default must be a whole number ≥ 0"), "\(fraction)")
        let text = await loadError("retries = { FileLocked = \"2\" }")
        #expect(text.contains("not \"2\""), "\(text)")
        let limit = await loadError("retries = { limit = 0 }")
        #expect(limit.contains("retries.limit must be a whole number ≥ 1 (attempts in all), not 0"), "\(limit)")
        let notTable = await loadError("retries = 3")
        #expect(notTable.contains("retries must be a table such as { FileLocked = 2, default = 8, limit = 25 }, not a number"), "\(notTable)")
        let field = await loadError("backoff = { frist = 10 }")
        #expect(field.contains("backoff has 'frist' (did you mean 'first'?)"), "\(field)")
        let order = await loadError("backoff = { first = 100, max = 10 }")
        #expect(order.contains("backoff.max (10 s) is shorter than backoff.first (100 s)"), "\(order)")
        let factor = await loadError("backoff = { factor = 0.5 }")
        #expect(factor.contains("backoff.factor must be ≥ 1"), "\(factor)")
        let misspeltSetting = await loadError("retrys = { FileLocked = 2 }")
        #expect(misspeltSetting.contains("'retrys' (did you mean 'retries'?)"), "\(misspeltSetting)")
        #expect(misspeltSetting.contains("settings: retries, backoff"), "\(misspeltSetting)")

        // strategy.new asks the engine, and raises at the script's line.
        let viaLibrary = await loadError("retries = { FileLoked = 2 }", library: true)
        #expect(viaLibrary.contains("strategy.lua:2: strategy.new: retries has 'FileLoked' (did you mean 'FileLocked'?)"), "\(viaLibrary)")
        let settingTypo = await loadError("backof = {}", library: true)
        #expect(settingTypo.contains("unknown hook 'backof' (did you mean 'backoff'?)"), "\(settingTypo)")
        #expect(await loadError("retries = { FileLocked = 2, HostCommunication = 0, default = 8, limit = 25 },\n backoff = { first = 30, max = 600, factor = 2 }", library: true) == "(loaded)")
    }

    @Test("retries and backoff become the run's retry policy; unset fields keep the engine's")
    func policy() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            return { \(Self.select), retries = { FileFault = 1, FileLocked = 2, default = 3, limit = 9 },
              backoff = { first = 5, factor = 3 } }
            """)
        var base = RetryPolicy()
        base.maxDelay = 100
        let policy = try strategy.retryPolicy(base)
        #expect(policy.retries == [.fileFault: 1, .fileLocked: 2])
        #expect(policy.defaultRetries == 3)
        #expect(policy.attemptLimit == 9)
        #expect(policy.initialDelay == 5)
        #expect(policy.multiplier == 3)
        #expect(policy.maxDelay == 100)
        #expect(policy.rule(for: .fileLocked, retriable: true).retries == 2)
        #expect(policy.rule(for: .noDiskSpace, retriable: false).retries == 1)
        // A first longer than the engine's max: an error naming both, before anything moves.
        let slow = try await harness.strategy(source: "return { \(Self.select), backoff = { first = 1000 } }")
        #expect(throws: LuaStrategyError.self) { try slow.retryPolicy(RetryPolicy()) }
        #expect(try strategy.retryPolicy(RetryPolicy()).maxDelay == 600)
    }
}
