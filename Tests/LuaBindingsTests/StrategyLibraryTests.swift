import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// Runs a Lua chunk that uses `moonmotion.strategy` and returns its results as plain values.
private func lua(_ harness: StrategyHarness, _ source: String) async throws -> [LuaValue] {
    let refs = try await harness.runtime.run(source: "local strategy = require 'moonmotion.strategy'\n" + source, chunkName: "=test")
    return try await harness.runtime.perform { _ in try refs.map { try $0.value() } }
}

/// The error message of a chunk that must fail.
private func luaError(_ harness: StrategyHarness, _ source: String) async -> String {
    do {
        _ = try await lua(harness, source)
        return "(no error)"
    } catch {
        return String(describing: error)
    }
}

@Suite("moonmotion.strategy (stdlib)")
struct StrategyLibraryTests {
    @Test("globs: *, ?, classes, negation, literal magic characters, lists")
    func globs() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let results = try await lua(harness, """
            local cases = {
              { "legacy-*", "legacy-03", true }, { "legacy-*", "new-01", false }, { "legacy-*", "xlegacy-01", false },
              { "l?g*", "leg", true }, { "ds[0-9]", "ds5", true }, { "ds[!0-9]", "ds5", false }, { "ds[!0-9]", "dsx", true },
              { "a.b", "a.b", true }, { "a.b", "axb", false }, { "x%y", "x%y", true }, { "100%", "100%", true },
              { "(x)+", "(x)+", true }, { "*", "", true }, { "[]]x", "]x", true },
              { { "a-*", "b-*" }, "b-2", true }, { { "a-*", "b-*" }, "c-2", false },
            }
            local failures = {}
            for _, c in ipairs(cases) do
              if strategy.matches(c[2], c[1]) ~= c[3] then failures[#failures + 1] = tostring(c[1]) .. " vs " .. c[2] end
            end
            return table.concat(failures, "; ")
            """)
        #expect(results == [.string("")])
    }

    @Test("orders: largest_first, smallest_first, by, chain")
    func orders() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let results = try await lua(harness, """
            local jobs = { { size = 5, name = "b" }, { size = 9, name = "a" }, { size = 5, name = "a" }, { size = 1, name = "c" } }
            local function order(cmp)
              local t = { table.unpack(jobs) }
              table.sort(t, cmp)
              local out = {}
              for i, j in ipairs(t) do out[i] = j.size .. j.name end
              return table.concat(out, " ")
            end
            return order(strategy.largest_first):sub(1, 2), order(strategy.smallest_first):sub(1, 2),
              order(strategy.by("name")):sub(-2), order(strategy.by("size", true)):sub(1, 2),
              order(strategy.chain(strategy.by("name"), strategy.largest_first))
            """)
        #expect(results == [.string("9a"), .string("1c"), .string("1c"), .string("9a"), .string("9a 5a 5b 1c")])
    }

    @Test("target pickers: most free space, round robin, balanced by committed")
    func pickers() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let results = try await lua(harness, """
            local c = { { name = "b", free = 50, capacity = 100 }, { name = "a", free = 50, capacity = 100 },
                        { name = "c", free = 10, capacity = 100 } }
            local picks = {}
            picks[#picks + 1] = strategy.most_free_space({}, c).name
            local rr = strategy.round_robin()
            local seq = {}
            for i = 1, 5 do seq[i] = rr({}, c).name end
            picks[#picks + 1] = table.concat(seq)
            -- round robin skips candidates that are missing this time
            picks[#picks + 1] = rr({}, { c[1], c[3] }).name
            local bal = strategy.balanced_by_committed()
            local d = { { name = "x", free = 10, capacity = 100 }, { name = "y", free = 50, capacity = 100 } }
            seq = {}
            for i = 1, 4 do seq[i] = bal({ size = 30 }, d).name end
            picks[#picks + 1] = table.concat(seq)
            picks[#picks + 1] = tostring(strategy.most_free_space({}, {}))
            return table.unpack(picks)
            """)
        // y holds 50, x 90: y, y (80), x (90 < 110), y (110 < 120).
        #expect(results == [.string("a"), .string("abcab"), .string("c"), .string("yyxy"), .string("nil")])
    }

    @Test("the stdlib's hook names, limit fields and hints are the engine's own")
    func namesComeFromTheEngine() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let results = try await lua(harness, """
            local mm = require "moonmotion"
            return table.concat(strategy.HOOKS, ", "), table.concat(strategy.LIMIT_FIELDS, ", "),
              table.concat(strategy.VCENTER_LIMIT_FIELDS, ", "),
              mm.did_you_mean("onFailure", strategy.HOOKS), mm.did_you_mean("on-done", strategy.HOOKS),
              mm.did_you_mean("ordr", strategy.HOOKS), mm.did_you_mean("vcenterlimits", strategy.HOOKS),
              mm.did_you_mean("nothing-like-it", strategy.HOOKS), mm.did_you_mean("per_hots", { 1, "per_host" }),
              strategy.HOOKS ~= mm.hook_names
            """)
        let hooks = "select, order, target, limits, vcenter_limits, on_blocked, on_failure, on_done, checks"
        #expect(results == [
            .string(hooks), .string("max_concurrent, per_host, per_datastore, host_cost, datastore_cost, network_cost, min_free"),
            .string("max_concurrent"), .string("on_failure"), .string("on_done"), .string("order"), .string("vcenter_limits"),
            .nil, .string("per_host"), .boolean(true),
        ])
        // The engine's check of a table the script built by hand lists the same hooks.
        var engine = "(loaded)"
        do {
            _ = try await harness.strategy(source: "return { select = function() return {} end, ordr = function() end }")
        } catch {
            engine = String(describing: error)
        }
        #expect(engine.contains("'ordr' (did you mean 'order'?), which is not a hook; valid hooks: \(hooks)"), "\(engine)")
        let library = await luaError(harness, "strategy.new { select = function() return {} end, ordr = true }")
        #expect(library.contains("unknown hook 'ordr' (did you mean 'order'?); valid hooks: \(hooks)"), "\(library)")
        let badList = await luaError(harness, "require('moonmotion').did_you_mean('x', 'not a list')")
        #expect(badList.contains("bad argument #2 to ") && badList.contains("(list of names expected, got string)"), "\(badList)")
    }

    @Test("limits helpers: half_of_hosts counts usable hosts; strategy.limits checks its fields")
    func limits() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let results = try await lua(harness, """
            local cluster = { hosts = { {}, {}, {}, { maintenance = true }, { connection_state = "disconnected" }, {} } }
            local l = strategy.limits { max_concurrent = strategy.half_of_hosts, per_host = 2 }(cluster)
            return strategy.half_of_hosts(cluster), strategy.half_of_hosts({ hosts = { {} } }), l.max_concurrent, l.per_host
            """)
        #expect(results == [.integer(2), .integer(1), .integer(2), .integer(2)])
        let typo = await luaError(harness, "strategy.limits { per_hosts = 2 }")
        #expect(typo.contains("test:2: strategy.limits: unknown limit 'per_hosts' (did you mean 'per_host'?)"), "\(typo)")
        let bad = await luaError(harness, "strategy.limits { per_host = 'two' }")
        #expect(bad.contains("'per_host' must be a number or a function(cluster), got string"), "\(bad)")
    }

    @Test("strategy.new fills the engine's defaults and checks the hooks")
    func new() async throws {
        let harness = try StrategyHarness(spec: "clusters=1,hosts=1,vms=1")
        defer { harness.shutdown() }
        let results = try await lua(harness, """
            local s = strategy.new { select = function() return {} end }
            return s.order == strategy.largest_first, s.target == strategy.most_free_space, s.on_blocked({}, {}),
              s.on_failure({}, {}), s.limits({}) == nil, strategy.retry_up_to(2)({ attempts = 1 }), strategy.retry_up_to(2, "abort")({ attempts = 2 })
            """)
        #expect(results == [.boolean(true), .boolean(true), .string("wait"), .string("skip"), .boolean(true), .string("retry"), .string("abort")])
        let missing = await luaError(harness, "strategy.new { order = strategy.largest_first }")
        #expect(missing.contains("test:2: strategy.new: a strategy needs a select(inv) hook"), "\(missing)")
        let notTable = await luaError(harness, "strategy.new(strategy.largest_first)")
        #expect(notTable.contains("expected a table of hooks"), "\(notTable)")
    }

    @Test("job builders on a real inventory: storage_moves, vms_needing_consolidation, snapshots_older_than, datastore_names")
    func builders() async throws {
        let harness = try StrategyHarness(spec: "clusters=2,hosts=3,vms=60,datastores=2,snapshots=0.5,consolidate=0.2")
        defer { harness.shutdown() }
        let inventory = try await harness.simulator.inventory()
        let now = Date().timeIntervalSince1970
        let strategy = try await harness.strategy(source: """
            local strategy = require "moonmotion.strategy"
            return { select = function(inv)
              local jobs = {}
              local function add(list) for _, j in ipairs(list) do jobs[#jobs + 1] = j end end
              counts = {}
              local moves = strategy.storage_moves(inv, { from = "legacy-0[12]", to = { "new-*" },
                filter = function(vm) return vm.power == "poweredOn" end, label = "w1" })
              counts.moves = #moves
              counts.shared, counts.hosts = true, 0
              local by_host = {}
              for _, job in ipairs(moves) do
                local host = job.vm.host
                if by_host[host] == nil then by_host[host] = job.datastore; counts.hosts = counts.hosts + 1 end
                if by_host[host] ~= job.datastore then counts.shared = false end
              end
              add(moves)
              local listed = strategy.storage_moves(inv, { from = { "legacy-03" }, to = "new-03" })
              counts.listed = #listed
              add(listed)
              local consolidations = strategy.vms_needing_consolidation(inv)
              counts.consolidate = #consolidations
              add(consolidations)
              local snaps = strategy.snapshots_older_than(inv, 30, { now = \(now) })
              counts.snapshots = #snaps
              add(snaps)
              counts.names = table.concat(strategy.datastore_names(inv, "new-*", "new-02"), ",")
              return jobs
            end }
            """)
        let requests = try await harness.runtime.perform { _ in try strategy.select(inventory) }
        guard case .table(let counts) = try await harness.runtime.perform({ state in try state.global("counts") }) else {
            Issue.record("no counts")
            return
        }
        func ds(_ name: String) -> MoRef { inventory.datastore(named: name)!.ref }
        let fromFirstTwo = inventory.vms.filter { vm in vm.powerState == "poweredOn" && vm.datastores.contains { [ds("legacy-01"), ds("legacy-02")].contains($0) } }
        #expect(counts["moves"].intValue == fromFirstTwo.count)
        #expect(counts["shared"] == .boolean(true))
        #expect(counts["listed"].intValue == inventory.vms.filter { $0.datastores.contains(ds("legacy-03")) }.count)
        #expect(counts["consolidate"].intValue == inventory.vms.filter(\.consolidationNeeded).count)
        #expect(counts["names"] == .string("new-01,new-03,new-04"))
        // Narrowed to what each VM's host mounts: cluster 1's new-01 and new-02.
        #expect(counts["hosts"].intValue == Set(fromFirstTwo.compactMap(\.host)).count)
        let moves = requests.prefix(fromFirstTwo.count)
        #expect(moves.map(\.vm) == fromFirstTwo.map(\.ref))
        // Only the files on the two sources move (the VMs' other files stay).
        let expectedMove = StorageMove(targets: [ds("new-01"), ds("new-02")], sources: [ds("legacy-01"), ds("legacy-02")])
        #expect(moves.allSatisfy { $0.kind == .storageMove(expectedMove) && $0.label == "w1" }, "\(moves.first?.kind as Any)")
        let cutoff = Date(timeIntervalSince1970: now - 30 * 86_400)
        var expected = 0
        for vm in inventory.vms where !vm.snapshots.isEmpty {
            let old = vm.snapshots.filter { $0.createTime! < cutoff }.count
            expected += old == vm.snapshots.count ? 1 : old
        }
        #expect(counts["snapshots"].intValue == expected)
        #expect(requests.count == fromFirstTwo.count + counts["listed"].intValue! + counts["consolidate"].intValue! + expected)
    }
}
