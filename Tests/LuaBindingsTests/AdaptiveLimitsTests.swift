import Foundation
import LuaBindings
import MigrationEngine
import Testing
import VCenterModel

/// `limits` answering `max_concurrent = "auto"` or `strategy.adaptive{…}` (issue 15.3): what
/// reaches the engine, and the errors for what does not fit.
@Suite("Adaptive limits from Lua")
struct AdaptiveLimitsTests {
    /// The overrides the strategy's `limits` hook gives the harness's first cluster.
    static func limits(_ harness: StrategyHarness, _ limits: String) async throws -> LimitOverrides {
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            return strategy.new {
              select = function(inv) return {} end,
              limits = \(limits),
            }
            """)
        let inv = harness.simulator.inventorySnapshot
        return try await harness.runtime.perform { _ in
            try strategy.prepare(inv)
            return try strategy.limits(inv.clusters[0])
        }
    }

    static func failure(_ harness: StrategyHarness, _ limits: String) async -> String {
        do {
            let o = try await Self.limits(harness, limits)
            return "(accepted: \(o))"
        } catch {
            return String(describing: error)
        }
    }

    @Test("\"auto\" is pacing with the defaults and no cluster cap; a number is still a number")
    func auto() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=2")
        defer { harness.shutdown() }
        let auto = try await Self.limits(harness, #"function(c) return { max_concurrent = "auto", per_host = 2 } end"#)
        #expect(auto.adaptive == AdaptivePacing())
        #expect(auto.maxConcurrent == nil && auto.storageMovesPerHost == 2)
        #expect(Limits().applying(auto).clusterMaxJobs == nil && Limits().applying(auto).adaptive != nil)
        let fixed = try await Self.limits(harness, "strategy.limits { max_concurrent = 4 }")
        #expect(fixed.adaptive == nil && fixed.maxConcurrent == 4)
        let viaHelper = try await Self.limits(harness, #"strategy.limits { max_concurrent = "auto" }"#)
        #expect(viaHelper.adaptive == AdaptivePacing())
    }

    @Test("strategy.adaptive{…}: bounds, timings and arrays reach the pacer")
    func adaptiveTable() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=2")
        defer { harness.shutdown() }
        let o = try await Self.limits(harness, """
            strategy.limits { max_concurrent = strategy.adaptive { min = 3, max = 12, window = 90, settle = 10,
              threshold = 0.1, reprobe = 600, arrays = { ["legacy-*"] = "old", ["legacy-0[12]"] = "fast", ["new-*"] = "new" } } }
            """)
        let a = try #require(o.adaptive)
        #expect(a.configuration.min == 3 && a.configuration.max == 12)
        #expect(a.configuration.window == 90 && a.configuration.settle == 10 && a.configuration.reprobeAfter == 600)
        #expect(a.configuration.threshold == 0.1)
        // The longer (more specific) pattern is tried first, whatever Lua's table order.
        #expect(a.arrays.map(\.pattern) == ["legacy-0[12]", "legacy-*", "new-*"])
        #expect(a.group(ofDatastore: "legacy-01") == "fast" && a.group(ofDatastore: "legacy-03") == "old")
        #expect(a.group(ofDatastore: "new-02") == "new" && a.group(ofDatastore: "flash-01") == "flash-01")
        let onlyMin = try await Self.limits(harness, "function(c) return { max_concurrent = strategy.adaptive { min = 80 } } end")
        #expect(onlyMin.adaptive?.configuration.min == 80 && onlyMin.adaptive?.configuration.max == 80)
    }

    @Test("what is neither a number, \"auto\" nor strategy.adaptive is refused with what to give")
    func refused() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=2")
        defer { harness.shutdown() }
        let word = await Self.failure(harness, #"function(c) return { max_concurrent = "fast" } end"#)
        #expect(word.contains(#"max_concurrent = "fast" for cluster cluster-1; give a whole number ≥ 1, "auto" or strategy.adaptive{ … }"#), "\(word)")
        let table = await Self.failure(harness, "function(c) return { max_concurrent = { min = 2 } } end")
        #expect(table.contains("a table that is not strategy.adaptive"), "\(table)")
        let forged = await Self.failure(harness, "function(c) return { max_concurrent = { adaptive = true, min = 0 } } end")
        #expect(forged.contains("min = 0; it must be a whole number ≥ 1"), "\(forged)")
        let inverted = await Self.failure(harness, "function(c) return { max_concurrent = { adaptive = true, min = 8, max = 4 } } end")
        #expect(inverted.contains("max (4) is below min (8)"), "\(inverted)")
        let typo = await Self.failure(harness, "strategy.limits { max_concurrent = strategy.adaptive { windw = 60 } }")
        #expect(typo.contains("strategy.adaptive: unknown field 'windw' (did you mean 'window'?)"), "\(typo)")
        let arrays = await Self.failure(harness, #"strategy.limits { max_concurrent = strategy.adaptive { arrays = { "legacy-*" } } }"#)
        #expect(arrays.contains("arrays maps datastore-name patterns to array names"), "\(arrays)")
    }
}
