import Foundation
@testable import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// Waves from Lua (issue 13.2): the `wave` hook, the `wave_scope` setting, `job.wave` and
/// `job.held` on job tables, and the dry run's wave headers.
@Suite("LuaStrategy waves")
struct LuaStrategyWaveTests {
    static let select = StrategyHarness.storageMoveSelect

    @Test("wave(job) orders the run: no job of wave 2 starts in a cluster before wave 1 there has ended")
    func wavesRun() async throws {
        let harness = try StrategyHarness(spec: "clusters=2,hosts=2,vms=8")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            seen = ""
            return { \(Self.select),
              wave = function(job) return job.size % 2 == 0 and 1 or 2 end,
              on_done = function(job) seen = seen .. tostring(job.wave) .. (job.held and "h" or "") .. ";" end }
            """)
        #expect(strategy.waveScope == .cluster)
        let outcome = try await harness.run(strategy)
        let jobs = outcome.summary.jobs.filter { !$0.isProactive }
        #expect(jobs.count == 8)
        #expect(jobs.allSatisfy { $0.state == .done })
        #expect(Set(jobs.compactMap(\.wave)).isSubset(of: [1, 2]) && jobs.allSatisfy { $0.wave != nil })
        for a in jobs where a.wave == 1 {
            for b in jobs where b.wave == 2 && b.cluster == a.cluster {
                #expect(b.startedAt! >= a.finishedAt!, "\(b.vmName) (wave 2) started before \(a.vmName) (wave 1) ended")
            }
        }
        let seen = try await harness.globalText("seen")
        // job.wave is readable in hooks; job.held is false for jobs that ran.
        #expect(seen.split(separator: ";").sorted() == jobs.map { "\($0.wave!)" }.sorted(), "\(seen)")
    }

    @Test("wave_scope = \"vcenter\" is read; a bad scope or a non-integer wave is an error naming the job")
    func checked() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=2")
        defer { harness.shutdown() }
        let vcenter = try await harness.strategy(source: "return { \(Self.select), wave_scope = \"vcenter\", wave = function() return 1 end }")
        #expect(vcenter.waveScope == .vcenter)
        func loadError(_ fields: String, library: Bool = false) async -> String {
            await harness.loadError(fields: fields, library: library)
        }
        let typo = await loadError("wave_scope = \"clustr\"")
        #expect(typo.contains("wave_scope is \"clustr\" (did you mean 'cluster'?)"), "\(typo)")
        let number = await loadError("wave_scope = 1")
        #expect(number.contains("wave_scope must be \"cluster\" or \"vcenter\", not 1"), "\(number)")
        let viaLibrary = await loadError("wave_scope = \"vcentre\"", library: true)
        #expect(viaLibrary.contains("strategy.lua:2: strategy.new: wave_scope is \"vcentre\" (did you mean 'vcenter'?)"), "\(viaLibrary)")
        let hookTypo = await loadError("waves = function() return 1 end")
        #expect(hookTypo.contains("'waves' (did you mean 'wave'?)"), "\(hookTypo)")
        #expect(await loadError("wave = function() return 1 end, wave_scope = \"cluster\"", library: true) == "(loaded)")
        let notFunction = await loadError("wave = 1")
        #expect(notFunction.contains("hook 'wave' must be a function"), "\(notFunction)")

        // A wave that is not a whole number: the run stops before anything moves, naming the job.
        let fractional = try await harness.strategy(source: "return { \(Self.select), wave = function(job) return 1.5 end }")
        await #expect {
            _ = try await harness.run(fractional)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("strategy.lua:1) returned 1.5 for job 0 (app-c1-0001)") && text.contains("return a whole number")
        }
        let word = try await harness.strategy(source: "return { \(Self.select), wave = function(job) return \"first\" end }")
        await #expect {
            _ = try await harness.run(word)
        } throws: { String(describing: $0).contains("returned \"first\" for job 0") }
    }

    @Test("the dry run groups jobs by wave and says held by the strategy for a target hook answering nil")
    func dryRun() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=4")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            local n = 0
            return { \(Self.select),
              wave = function(job) n = n + 1 return n % 2 == 0 and 2 or 1 end,
              target = function(job, candidates) if job.wave == 2 then return nil end return candidates[1] end }
            """)
        let plan = try await harness.dryRun(strategy)
        let text = plan.lines().joined(separator: "\n")
        #expect(plan.entries.map { $0.job.wave } == [1, 1, 2, 2], "\(text)")
        #expect(text.contains("wave 1 (per cluster): 2 job(s)"), "\(text)")
        #expect(text.contains("wave 2 (per cluster): 2 job(s)"), "\(text)")
        #expect(plan.entries.filter { $0.note == "held by the strategy (its target hook answered nil)" }.count == 2, "\(text)")
        #expect(!text.contains("chose none") && !text.contains("no target"), "\(text)")
        #expect(text.split(separator: "\n").filter { $0.hasSuffix("→ held by the strategy (its target hook answered nil)") }.count == 2, "\(text)")
    }
}
