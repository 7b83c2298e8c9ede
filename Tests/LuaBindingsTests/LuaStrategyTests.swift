import Foundation
@testable import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// The error text of a run that must not start.
private func startFailure(_ harness: StrategyHarness, _ strategy: LuaStrategy) async -> String {
    do {
        _ = try await harness.run(strategy)
        return "(the run started)"
    } catch {
        return String(describing: error)
    }
}

/// Reads global `name` as plain data after a run.
private func global(_ harness: StrategyHarness, _ name: String) async throws -> LuaValue {
    try await harness.runtime.perform { state in try state.global(name) }
}

@Suite("LuaStrategy")
struct LuaStrategyTests {
    // MARK: The strategy table

    @Test("a strategy table is checked: unknown keys name the valid hooks, hooks must be functions, select is required")
    func validation() async throws {
        let harness = try StrategyHarness()
        defer { harness.shutdown() }
        func loadError(_ source: String) async -> String { await harness.loadError(source: source) }
        let typo = await loadError("return { select = function() return {} end, ordr = function() end }")
        #expect(typo.contains("'ordr' (did you mean 'order'?)"), "\(typo)")
        #expect(typo.contains("valid hooks: select, order, wave, target, limits, vcenter_limits, on_blocked, on_failure, on_done"), "\(typo)")
        let camel = await loadError("return { select = function() return {} end, onFailure = function() end }")
        #expect(camel.contains("did you mean 'on_failure'"), "\(camel)")
        let notFunction = await loadError("return { select = 42 }")
        #expect(notFunction.contains("hook 'select' must be a function, not a number"), "\(notFunction)")
        let noSelect = await loadError("return { order = function(a, b) return a.size > b.size end }")
        #expect(noSelect.contains("no select hook"), "\(noSelect)")
        let viaLibrary = await loadError("""
            local strategy = require "moonmotion.strategy"
            return strategy.new { select = function() return {} end,
              on_fialure = function(job, err) return "skip" end }
            """)
        // `return strategy.new {...}` is a tail call: the message names the hook's own line.
        #expect(viaLibrary.contains("strategy.new: unknown hook 'on_fialure' (the function at "), "\(viaLibrary)")
        #expect(viaLibrary.contains("strategy.lua:3) (did you mean 'on_failure'?)"), "\(viaLibrary)")

        // Not a table: a plain script, no strategy.
        for source in ["return 42", "print('hello')", "return nil, {}"] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-plain-\(UUID().uuidString).lua")
            try source.write(to: dir, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: dir) }
            let strategy = try await LuaStrategy.fromScript(path: dir.path, runtime: harness.runtime)
            #expect(strategy == nil, "\(source)")
        }
    }

    // MARK: Jobs from select

    @Test("select's job tables become requests: storage, host, both, consolidate, snapshots, custom; globs and names resolve once")
    func jobKinds() async throws {
        let harness = try StrategyHarness(spec: "clusters=2,hosts=3,vms=12,datastores=2,snapshots=1")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            return { select = function(inv)
              local vms = inv.vms
              local shared = { "new-01", "new-0[2]" }
              return {
                { vm = vms[1], datastore = "new-*", label = "glob" },
                { vm = vms[2].name, datastore = shared },
                { vm = vms[3], datastore = inv:datastore("new-03") },
                { vm = vms[4], host = vms[6].host },
                { vm = vms[5], host = "esx-c1-02", method = "migrate", pool = "resgroup-9" },
                { vm = vms[7], datastore = { inv:datastore("new-04"), "new-01" }, host = vms[7].host },
                { vm = vms[8], action = "consolidate" },
                { vm = vms[9], action = "remove_snapshot" },
                { vm = vms[10], action = "remove_snapshot", snapshot = vms[10].snapshots[1], consolidate = false, children = true },
                { vm = vms[11], action = "remove_snapshot", snapshot = "before-upgrade" },
                { vm = vms[12], action = "custom", method = "UpgradeVM_Task", args = { version = "vmx-19" },
                  cost = { host = 1, datastore = 2 } },
                { vm = vms[2], datastore = shared },
              }
            end }
            """)
        let inventory = try await harness.simulator.inventory()
        let requests = try await harness.runtime.perform { _ in try strategy.select(inventory) }
        #expect(requests.count == 12)
        let vms = inventory.vms
        func ds(_ name: String) -> MoRef { inventory.datastore(named: name)!.ref }
        let news = inventory.datastores.filter { $0.name.hasPrefix("new-") }.map(\.ref)
        #expect(requests[0] == JobRequest(vm: vms[0].ref, kind: .storageMove(.to(news)), label: "glob"))
        #expect(requests[1].kind == .storageMove(.to([ds("new-01"), ds("new-02")])))
        #expect(requests[1].vm == vms[1].ref)
        #expect(requests[2].kind == .storageMove(.to([ds("new-03")])))
        #expect(requests[3].kind == .hostMove(host: vms[5].host!, pool: nil, method: .relocate))
        let host2 = inventory.host(named: "esx-c1-02")!.ref
        #expect(requests[4].kind == .hostMove(host: host2, pool: MoRef("ResourcePool", "resgroup-9"), method: .migrate))
        #expect(requests[5].kind == .storageAndHostMove(.to([ds("new-04"), ds("new-01")]), host: vms[6].host!, pool: nil))
        #expect(requests[6].kind == .consolidate)
        #expect(requests[7].kind == .removeSnapshot(.all, removeChildren: false, consolidate: true))
        #expect(requests[8].kind == .removeSnapshot(.ref(vms[9].snapshots[0].ref), removeChildren: true, consolidate: false))
        #expect(requests[9].kind == .removeSnapshot(.named("before-upgrade"), removeChildren: false, consolidate: true))
        #expect(requests[10].kind == .custom(CustomTask(
            method: "UpgradeVM_Task", arguments: [PropertyValue.Field("version", .string("vmx-19"))],
            cost: DeclaredCost(host: 1, datastore: 2, network: 0))))
        #expect(requests[11].kind == requests[1].kind)
    }

    @Test("a bad job table stops the run before anything moves, naming the job, the field and the hook's location")
    func badJobs() async throws {
        let cases: [(String, String)] = [
            (#"{ vm = vms[2], datastores = "new-*" }"#, "bad job #2: unknown field 'datastores' (did you mean 'datastore'?)"),
            (#"{ vm = "no-such-vm", datastore = "new-*" }"#, "bad job #2: vm = 'no-such-vm': the inventory has no vm of that name"),
            (#"{ vm = vms[2], datastore = "nothing-*" }"#, "bad job #2: datastore = 'nothing-*' matches no datastore"),
            (#"{ vm = vms[2] }"#, "bad job #2: it has nothing to do"),
            (#"{ vm = vms[2], action = "consolidat" }"#, "action is 'consolidat' (did you mean 'consolidate'?)"),
            (#""app-c1-0001""#, "bad job #2: it is a string, not a table"),
            (#"{ vm = vms[2], action = "consolidate", datastore = "new-*" }"#, #"datastore does not go with action="consolidate""#),
            (#"{ datastore = "new-*" }"#, "bad job #2: it has no vm"),
            (#"{ vm = inv.hosts[1], datastore = "new-*" }"#, "vm is a moonmotion.Host; give a VM or its name"),
            (#"{ vm = vms[2], datastore = {} }"#, "datastore is an empty list"),
            (#"{ vm = vms[2], datastore = { 7 } }"#, "datastore[1] is a number"),
            (#"{ vm = vms[2], action = "remove_snapshot", consolidate = "yes" }"#, "consolidate must be true or false"),
            (#"{ vm = vms[2], action = "custom" }"#, #"action="custom" needs method"#),
            (#"{ vm = vms[2], datastore = "new-*", method = "migrate" }"#, "pool and method go with host moves"),
        ]
        for (job, expected) in cases {
            let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4,datastores=2")
            defer { harness.shutdown() }
            let strategy = try await harness.strategy(source: """
                return { select = function(inv)
                  local vms = inv.vms
                  return { { vm = vms[1], datastore = "new-*" }, \(job) }
                end }
                """)
            let message = await startFailure(harness, strategy)
            #expect(message.contains(expected), "\(job): \(message)")
            #expect(message.contains("the select hook (") && message.contains("strategy.lua:1)"), "\(message)")
            #expect(harness.simulator.stats.tasks.isEmpty)
        }
    }

    @Test("select that errors or returns no array stops the run with the script location and a traceback")
    func selectErrors() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4")
        defer { harness.shutdown() }
        let raising = try await harness.strategy(source: """
            return { select = function(inv)
              local vm = inv:vm("nope")
              return { { vm = vm.name } }
            end }
            """)
        let message = await startFailure(harness, raising)
        #expect(message.contains("select hook failed before anything started"), "\(message)")
        #expect(message.contains("strategy.lua:3: attempt to index a nil value (local 'vm')"), "\(message)")
        #expect(message.contains("stack traceback"), "\(message)")

        let nothing = try await harness.strategy(source: "return { select = function(inv) end }")
        let message2 = await startFailure(harness, nothing)
        #expect(message2.contains("returned nothing; it must return an array of jobs"), "\(message2)")
        #expect(harness.simulator.stats.tasks.isEmpty)
    }

    // MARK: Order

    @Test("order is a stable sort by the comparator; dispatch follows it")
    func orderFollowsComparator() async throws {
        // One job at a time per cluster: the dispatch order within a cluster is the rank order.
        let byName = try StrategyHarness(spec: "clusters=2,hosts=2,vms=16")
        defer { byName.shutdown() }
        let descending = try await byName.strategy(source: """
            return {
              select = function(inv) return require("moonmotion.strategy").storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              order = function(a, b) return a.vm.name > b.vm.name end,
              limits = function(cluster) return { max_concurrent = 1 } end,
            }
            """)
        let outcome = try await byName.run(descending)
        #expect(outcome.summary.outcome == .completed)
        #expect(outcome.summary.moved.count == 16)
        for cluster in outcome.inventory.clusters {
            let started = outcome.stats.tasks.filter { outcome.inventory.vm($0.entity)?.cluster == cluster.ref }.map(\.entityName)
            #expect(started == started.sorted(by: >), "\(cluster.name): \(started)")
        }

        // A comparator that never separates jobs keeps select's order (stable).
        let stable = try StrategyHarness(spec: "clusters=1,hosts=2,vms=30")
        defer { stable.shutdown() }
        let keep = try await stable.strategy(source: """
            return {
              select = function(inv)
                local jobs = {}
                local vms = inv.vms
                for i = #vms, 1, -1 do jobs[#jobs + 1] = { vm = vms[i], datastore = "new-*" } end
                return jobs
              end,
              order = function(a, b) return false end,
              limits = function(cluster) return { max_concurrent = 1 } end,
            }
            """)
        let outcome2 = try await stable.run(keep)
        let names = outcome2.stats.tasks.map(\.entityName)
        #expect(names == outcome2.inventory.vms.map(\.name).reversed())
    }

    @Test("an order function that is not a strict ordering, or that fails, stops the run before anything moves")
    func badOrder() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=20")
        defer { harness.shutdown() }
        let select = #"select = function(inv) return require("moonmotion.strategy").storage_moves(inv, { from = "legacy-*", to = "new-*" }) end"#
        let nonStrict = try await harness.strategy(source: "return { \(select),\n order = function(a, b) return a.size >= b.size end }")
        let message = await startFailure(harness, nonStrict)
        #expect(message.contains("order hook failed before anything started"), "\(message)")
        #expect(message.contains("strategy.lua:2) is not a strict ordering"), "\(message)")

        let contradictory = try await harness.strategy(source: "return { \(select),\n order = function(a, b) return (a.id + b.id) % 3 == 0 end }")
        let message2 = await startFailure(harness, contradictory)
        #expect(message2.contains("contradicts itself") || message2.contains("not a strict ordering"), "\(message2)")

        let typo = try await harness.strategy(source: "return { \(select),\n order = function(a, b) return a.szie > b.size end }")
        let message3 = await startFailure(harness, typo)
        #expect(message3.contains("strategy.lua:2: a job has no field 'szie' (did you mean 'size'?)"), "\(message3)")
        #expect(message3.contains("stack traceback"), "\(message3)")
        #expect(harness.simulator.stats.tasks.isEmpty)
    }

    // MARK: Per-job hooks

    @Test("a hook that fails fails only its job, with the error and traceback in the job's error")
    func failingHooks() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=4,vms=24")
        defer { harness.shutdown() }
        let victim = try await harness.simulator.inventory().vms[5].name
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              target = function(job, candidates)
                if job.vm.name == "\(victim)" then
                  error("no target for " .. job.vm.name)
                end
                return strategy.most_free_space(job, candidates)
              end,
              on_done = function(job)
                if job.vm_name:sub(-1) == "3" then error("on_done trouble") end
              end,
            }
            """)
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        #expect(outcome.summary.failed.map(\.vmName) == [victim])
        let error = outcome.summary.failed.first?.lastError ?? ""
        #expect(error.contains("the strategy's target hook failed"), "\(error)")
        #expect(error.contains("strategy.lua:6: no target for \(victim)"), "\(error)")
        #expect(error.contains("stack traceback"), "\(error)")
        #expect(outcome.summary.moved.count == 23)
        // on_done errors are warnings: the jobs stay done.
        let warnings = outcome.events.compactMap { e -> String? in if case .warning(let w, _) = e.kind { return w } else { return nil } }
        #expect(!warnings.isEmpty)
        #expect(warnings.allSatisfy { $0.contains("on_done trouble") })
    }

    @Test("vcenter_limits caps the jobs running at once in the whole vCenter; --max-concurrent wins over it; bad answers stop the run")
    func vcenterLimits() async throws {
        let select = #"select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end"#
        let sources = [
            // The stdlib helper with a number, and a function of the inventory.
            "local strategy = require \"moonmotion.strategy\"\nreturn strategy.new { \(select), vcenter_limits = strategy.vcenter_limits { max_concurrent = 3 } }",
            "local strategy = require \"moonmotion.strategy\"\nreturn { \(select), vcenter_limits = function(inv) assert(#inv.hosts == 8); return { max_concurrent = #inv.clusters + 1 } end }",
        ]
        for source in sources {
            let harness = try StrategyHarness(spec: "clusters=2,hosts=4,vms=40")
            defer { harness.shutdown() }
            let outcome = try await harness.run(try await harness.strategy(source: source))
            #expect(outcome.summary.outcome == .completed)
            #expect(outcome.summary.moved.count == 40)
            let usage = try #require(outcome.summary.peakUsage.first { $0.kind == .vcenterJobs })
            #expect(usage.capacity == 3 && usage.peakOwn == 3, "\(usage)")
        }
        do {
            // --max-concurrent (the configuration's override) wins.
            let harness = try StrategyHarness(spec: "clusters=2,hosts=4,vms=40")
            defer { harness.shutdown() }
            var configuration = RunConfiguration()
            configuration.scheduler.vcenterMaxJobsOverride = 5
            let outcome = try await harness.run(try await harness.strategy(source: sources[0]), configuration: configuration)
            let usage = try #require(outcome.summary.peakUsage.first { $0.kind == .vcenterJobs })
            #expect(usage.capacity == 5 && usage.peakOwn == 5, "\(usage)")
        }
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4")
        defer { harness.shutdown() }
        let prefix = "local strategy = require \"moonmotion.strategy\"\nreturn { \(select),\n vcenter_limits = "
        let typo = await startFailure(harness, try await harness.strategy(source: prefix + "function(inv) return { max_concurent = 2 } end }"))
        #expect(typo.contains("vcenter_limits hook failed before anything started"), "\(typo)")
        #expect(typo.contains("returned 'max_concurent' (did you mean 'max_concurrent'?); valid fields: max_concurrent"), "\(typo)")
        let zero = await startFailure(harness, try await harness.strategy(source: prefix + "function(inv) return { max_concurrent = 0 } end }"))
        #expect(zero.contains("max_concurrent = 0; it must be a whole number ≥ 1"), "\(zero)")
        let huge = await startFailure(harness, try await harness.strategy(source: prefix + "function(inv) return { max_concurrent = 5000 } end }"))
        #expect(huge.contains("5000 is not a usable number of concurrent jobs per vCenter: give a whole number from 1 to 2000"), "\(huge)")
        let perCluster = await startFailure(harness, try await harness.strategy(source: prefix + "function(inv) return { per_host = 2 } end }"))
        #expect(perCluster.contains("returned 'per_host'"), "\(perCluster)")
        #expect(harness.simulator.stats.tasks.isEmpty)
        // The stdlib helper checks its table where it is built.
        var helper = "(the script loaded)"
        do {
            _ = try await harness.strategy(source: prefix + "strategy.vcenter_limits { per_host = 2 } }")
        } catch {
            helper = String(describing: error)
        }
        #expect(helper.contains("strategy.vcenter_limits: unknown limit 'per_host'") && helper.contains("per-cluster limits go in strategy.limits"), "\(helper)")
    }

    @Test("hook answers are checked: limits fields and values, target, on_blocked and on_failure words")
    func badAnswers() async throws {
        let select = #"select = function(inv) return require("moonmotion.strategy").storage_moves(inv, { from = "legacy-*", to = "new-*" }) end"#
        do {
            let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4")
            defer { harness.shutdown() }
            let typo = try await harness.strategy(source: "return { \(select),\n limits = function(c) return { max_concurent = 2 } end }")
            let message = await startFailure(harness, typo)
            #expect(message.contains("limits hook failed before anything started"), "\(message)")
            #expect(message.contains("returned 'max_concurent' (did you mean 'max_concurrent'?) for cluster cluster-1"), "\(message)")
            let zero = try await harness.strategy(source: "return { \(select),\n limits = function(c) return { per_host = 0 } end }")
            let message2 = await startFailure(harness, zero)
            #expect(message2.contains("per_host = 0 for cluster cluster-1; it must be a whole number ≥ 1"), "\(message2)")
            let number = try await harness.strategy(source: "return { \(select),\n limits = function(c) return 4 end }")
            let message3 = await startFailure(harness, number)
            #expect(message3.contains("returned a number for cluster cluster-1; return a table"), "\(message3)")
            #expect(harness.simulator.stats.tasks.isEmpty)
        }
        do {
            let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4")
            defer { harness.shutdown() }
            let target = try await harness.strategy(source: "return { \(select),\n target = function(job, c) return \"legacy-01\" end }")
            let outcome = try await harness.run(target)
            #expect(outcome.summary.failed.count == 4)
            let error = outcome.summary.failed.first?.lastError ?? ""
            #expect(error.contains("returned 'legacy-01', which is not one of the candidates (new-0"), "\(error)")
        }
        do {
            var faults = FaultInjection()
            faults.everyNth = [FaultInjection.EveryNth(2, fault: FaultInjection.fault("GenericVmConfigFault"))]
            let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=4", faults: faults)
            defer { harness.shutdown() }
            let failure = try await harness.strategy(source: "return { \(select),\n on_failure = function(job, err) return \"ignore\" end }")
            let outcome = try await harness.run(failure)
            #expect(outcome.summary.failed.count == 2)
            let error = outcome.summary.failed.first?.lastError ?? ""
            #expect(error.contains("GenericVmConfigFault"), "\(error)")
            #expect(error.contains(#"the on_failure hook ("#) && error.contains(#"strategy.lua:2) returned "ignore"; return "retry", "skip", "abort" or nil (the retry rule decides)"#), "\(error)")
            #expect(outcome.summary.moved.count == 2)
        }
    }

    @Test("job tables: fields, lazy objects, the same table while held, misspelt fields rejected")
    func jobTables() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=6")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            seen, done = {}, {}
            return strategy.new {
              select = function(inv)
                local jobs = strategy.storage_moves(inv, { from = "legacy-*", to = "new-*", label = "wave 1" })
                jobs[#jobs + 1] = { vm = inv.vms[1], action = "consolidate" }
                return jobs
              end,
              target = function(job, candidates)
                seen[job.id] = job
                return strategy.most_free_space(job, candidates)
              end,
              on_done = function(job)
                local ok, err = pcall(function() return job.szie end)
                done[#done + 1] = {
                  id = job.id, kind = job.kind, size = job.size, attempts = job.attempts, label = job.label,
                  state = job.state, vm = job.vm.name, vm_name = job.vm_name, cluster = job.cluster.name,
                  host = job.host and job.host.name, target = job.target and job.target.name,
                  same = seen[job.id] == nil or seen[job.id] == job, text = tostring(job),
                  typo = not ok and tostring(err) or "no error",
                  where = job.vm.datastores[1].name,
                }
              end,
            }
            """)
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        guard case .table(let done) = try await global(harness, "done") else {
            Issue.record("no table")
            return
        }
        #expect(done.array.count == 7)
        for entry in done.array {
            guard case .table(let t) = entry, let id = t["id"].intValue else { continue }
            let job = outcome.summary.jobs[id]
            #expect(t["kind"] == .string(job.kind.name))
            #expect(t["size"].intValue == Int(job.size))
            #expect(t["attempts"].intValue == job.attempts)
            #expect(t["state"] == .string("done"))
            #expect(t["vm"] == .string(job.vmName))
            #expect(t["vm_name"] == .string(job.vmName))
            #expect(t["cluster"] == .string("cluster-1"))
            #expect(t["same"] == .boolean(true))
            #expect(t["typo"].stringValue?.contains("a job has no field 'szie' (did you mean 'size'?)") == true, "\(t["typo"])")
            #expect(t["text"].stringValue?.hasPrefix("job \(id): \(job.kind.name) \(job.vmName), ") == true, "\(t["text"])")
            if job.kind.movesStorage {
                #expect(t["label"] == .string("wave 1"))
                #expect(t["target"].stringValue?.hasPrefix("new-") == true)
                #expect(t["target"] == t["where"], "job.vm follows the move")
                #expect(t["host"].stringValue?.hasPrefix("esx-c1-") == true)
            } else {
                #expect(t["kind"] == .string("consolidate"))
                #expect(t["target"] == .nil)
            }
        }
    }

    @Test("target receives Datastore candidates whose free space counts every move sent there")
    func accountedFreeSpace() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=4,vms=40,datastores=3")
        defer { harness.shutdown() }
        let before = try await harness.simulator.inventory()
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            picks = {}
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              target = function(job, candidates)
                local pick = strategy.most_free_space(job, candidates)
                local record = { name = pick.name, size = job.size, free = {} }
                for _, c in ipairs(candidates) do record.free[c.name] = c.free end
                picks[#picks + 1] = record
                return pick
              end,
            }
            """)
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.moved.count == 40)
        guard case .table(let picks) = try await global(harness, "picks") else {
            Issue.record("no picks")
            return
        }
        #expect(picks.array.count == 40)
        var used: [String: Int] = [:]
        var spread = Set<String>()
        for case .table(let pick) in picks.array {
            guard let name = pick["name"].stringValue, let size = pick["size"].intValue, case .table(let free) = pick["free"] else { continue }
            for (candidate, value) in free.fields {
                let initial = Int(before.datastore(named: candidate)!.freeBytes)
                #expect(value.intValue == initial - used[candidate, default: 0], "\(candidate)")
            }
            used[name, default: 0] += size
            spread.insert(name)
        }
        #expect(spread.count == 3, "most free space spreads the copies: \(spread)")
    }

    @Test("a stopped run resumed with a fresh runtime: hooks get objects from prepare, every VM moves once")
    func resume() async throws {
        let source = """
            local strategy = require "moonmotion.strategy"
            done = {}
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              target = function(job, candidates)
                assert(job.vm.name == job.vm_name)
                return strategy.most_free_space(job, candidates)
              end,
              limits = function(cluster) return { max_concurrent = #cluster.hosts // 2 } end,
              on_done = function(job) done[#done + 1] = job.vm.name .. "@" .. job.target.name end,
            }
            """
        let simulator = try SimulatedVCenter(generating: "clusters=1,hosts=4,vms=30")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mm-strategy-\(UUID().uuidString).journal").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }

        final class Stopper: @unchecked Sendable {
            var runner: MigrationRunner?
            var done = 0
        }
        let stopper = Stopper()
        let first = try StrategyHarness(simulator: simulator)
        let firstStrategy = try await first.strategy(source: source)
        let runner = firstStrategy.makeRunner(vcenter: simulator, journal: try Journal(path: path), onEvent: { event in
            if case .jobChanged(let job, _) = event.kind, job.state == .done {
                stopper.done += 1
                if stopper.done == 10 { stopper.runner?.requestStop(graceful: true) }
            }
        })
        stopper.runner = runner
        let stopped = try await runner.run()
        #expect(stopped.outcome == .stopped)
        #expect(!stopped.pending.isEmpty)
        first.shutdown()

        let second = try StrategyHarness(simulator: simulator)
        defer { second.shutdown() }
        let secondStrategy = try await second.strategy(source: source)
        var configuration = RunConfiguration()
        configuration.resume = true
        let resumed = try await secondStrategy.makeRunner(vcenter: simulator, configuration: configuration, journal: try Journal(path: path)).run()
        #expect(resumed.outcome == .completed)
        #expect(resumed.failed.isEmpty, "\(resumed.failed.map { $0.lastError ?? "" })")
        let moves = simulator.stats.tasks.filter { $0.kind.copiesDisks && $0.state == .success }
        #expect(moves.count == 30)
        #expect(Set(moves.map(\.entityName)).count == 30)
        guard case .table(let done) = try await global(second, "done") else {
            Issue.record("no done table")
            return
        }
        #expect(done.array.count == stopped.pending.count)
        #expect(done.array.allSatisfy { $0.stringValue?.contains("@new-") == true })
    }

    @Test("on_blocked gets the full host and the hosts with room; job.vm follows pro-active vMotions and moves")
    func blockedAndLocations() async throws {
        let harness = try StrategyHarness(simulator: StrategyHarness.allOnFirstHost("clusters=1,hosts=3,vms=8"))
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            blocked, where = {}, {}
            return strategy.new {
              select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
              limits = strategy.limits { per_host = 1 },
              on_blocked = function(job, info)
                local names = {}
                for _, h in ipairs(info.candidate_hosts) do names[#names + 1] = h.name end
                blocked[#blocked + 1] = { vm = job.vm.name, host = info.host.name, host_name = info.host_name,
                  reason = info.reason, running = info.running_on_host, candidates = table.concat(names, ",") }
                return "vmotion"
              end,
              on_done = function(job) where[job.vm.name] = job.vm.host.name .. " " .. job.vm.datastores[1].name end,
            }
            """)
        let outcome = try await harness.run(strategy)
        #expect(outcome.summary.outcome == .completed)
        #expect(!outcome.summary.proactiveVMotions.isEmpty)
        guard case .table(let blocked) = try await global(harness, "blocked"), case .table(let whereNow) = try await global(harness, "where") else {
            Issue.record("no tables")
            return
        }
        #expect(!blocked.array.isEmpty)
        for case .table(let b) in blocked.array {
            #expect(b["host"] == .string("esx-c1-01"))
            #expect(b["host_name"] == .string("esx-c1-01"))
            #expect((b["running"].intValue ?? 0) >= 1)
            #expect(b["reason"].stringValue?.isEmpty == false)
            #expect(b["candidates"].stringValue?.contains("esx-c1-01") == false)
            #expect(b["candidates"].stringValue?.isEmpty == false)
        }
        #expect(whereNow.fields.count == 8)
        for (vm, text) in whereNow.fields {
            guard let info = outcome.inventory.vm(named: vm) else { continue }
            let expected = "\(outcome.inventory.name(of: info.host!)) \(outcome.inventory.name(of: info.datastores[0]))"
            #expect(text == .string(expected), "\(vm)")
        }
    }

    @Test("a hook cannot wait: mm.sleep inside a hook is an error for that job")
    func hooksCannotWait() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=2,vms=2")
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            local mm = require "moonmotion"
            return {
              select = function(inv) return { { vm = inv.vms[1], datastore = "new-*" } } end,
              target = function(job, candidates) mm.sleep(1) return candidates[1] end,
            }
            """)
        let outcome = try await harness.run(strategy)
        let error = outcome.summary.failed.first?.lastError ?? ""
        #expect(error.contains("mm.sleep cannot wait here"), "\(error)")
    }
}

@Suite("LuaStrategy native stdlib hooks")
struct LuaStrategyNativeTests {
    /// The tasks a run started, in order, with where they went.
    static func trace(_ outcome: StrategyHarness.Outcome) -> [String] {
        outcome.stats.tasks.map { t in
            let ds = t.destinationDatastore.map { outcome.inventory.name(of: $0) } ?? "-"
            let host = t.destinationHost.map { outcome.inventory.name(of: $0) } ?? "-"
            return "\(t.entityName) \(t.kind) \(ds) \(host) \(t.state)"
        }
    }

    @Test("stdlib answers run in Swift and give exactly what the same functions give as Lua", arguments: [
        ("largest_first", "most_free_space", "vmotion", "skip"),
        ("smallest_first", "most_free_space", "wait", "abort"),
        ("largest_first", "most_free_space", "vmotion", "retry"),
    ])
    func equivalence(_ order: String, _ target: String, _ blocked: String, _ failure: String) async throws {
        var faults = FaultInjection()
        faults.failNextTask = ["app-c1-0007": FaultInjection.fault("GenericVmConfigFault"),
                               "app-c1-0011": FaultInjection.fault("GenericVmConfigFault")]
        func source(wrapped: Bool) -> String {
            func hook(_ name: String) -> String {
                wrapped ? "function(...) return strategy.\(name)(...) end" : "strategy.\(name)"
            }
            return """
                local strategy = require "moonmotion.strategy"
                return strategy.new {
                  select = function(inv) return strategy.storage_moves(inv, { from = "legacy-*", to = "new-*" }) end,
                  order = \(hook(order)), target = \(hook(target)), on_blocked = \(hook(blocked)),
                  on_failure = \(hook(failure)), on_done = \(hook("nothing")), limits = \(hook("no_limits")),
                }
                """
        }
        var traces: [[String]] = []
        var summaries: [RunSummary] = []
        for wrapped in [false, true] {
            let harness = try StrategyHarness(simulator: StrategyHarness.allOnFirstHost("clusters=1,hosts=4,vms=16", faults: faults))
            defer { harness.shutdown() }
            let strategy = try await harness.strategy(source: source(wrapped: wrapped))
            // strategy.new fills vcenter_limits with no_limits, native either way.
            #expect(strategy.natives.count == (wrapped ? 1 : 7))
            #expect(strategy.hooks.count == (wrapped ? 7 : 1))
            let outcome = try await harness.run(strategy)
            traces.append(Self.trace(outcome))
            summaries.append(outcome.summary)
        }
        #expect(traces[0] == traces[1])
        #expect(summaries[0].outcome == summaries[1].outcome)
        #expect(summaries[0].jobs.map(\.state) == summaries[1].jobs.map(\.state))
        #expect(traces[0].count >= (failure == "abort" ? 2 : 16))
    }
}
