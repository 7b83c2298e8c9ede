import Foundation
import LuaBindings
import LuaHost
import MigrationEngine
import Testing
import VCenterModel
import VCenterSimulator

/// Under `--sandbox` a script calls vSphere methods by name (`conn:invoke`, custom jobs)
/// only when the operator allowed them (`--allow-method`); the migration operations and the
/// reads stay.
@Suite(.timeLimit(.minutes(3))) struct SandboxMethodTests {
    @Test func invokeRefusesEveryMethodUnlessAllowed() async throws {
        let sim = try smallSimulator()
        let h = try BindingsHarness(backend: sim, sandbox: .restricted)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vm = conn:vms()[1]
            local results = {}
            for _, method in ipairs { "Destroy_Task", "PowerOffVM_Task", "RelocateVM_Task", "AcquireCloneTicket" } do
              local ok, err = pcall(conn.invoke, conn, vm, method, {})
              results[#results + 1] = tostring(ok) .. " " .. tostring(err)
            end
            -- The migration operations and the reads still work.
            local t = conn:moveVM(vm, { datastore = conn:datastores()[1] }, { async = true })
            results[#results + 1] = tostring(t.id ~= nil) .. " " .. tostring(#conn:tasks() > 0)
            return table.concat(results, "\\n")
            """)
        let lines = (values.first?.stringValue ?? "").split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(values)")
        for (line, method) in zip(lines, ["Destroy_Task", "PowerOffVM_Task", "RelocateVM_Task", "AcquireCloneTicket"]) {
            #expect(line.hasPrefix("false "), "\(line)")
            #expect(line.contains("conn:invoke '\(method)' is not allowed under --sandbox"), "\(line)")
            #expect(line.hasSuffix("the operator may allow it with --allow-method \(method)"), "\(line)")
        }
        #expect(lines.last == "true true")
        // Nothing reached the simulator but the move.
        #expect(sim.stats.tasks.count == 1, "\(sim.stats.tasks.map(\.name))")
        await h.shutdown()
    }

    @Test func allowMethodWidensInvoke() async throws {
        let sim = try smallSimulator()
        let h = try BindingsHarness(backend: sim, sandbox: SandboxOptions(restrictsLibraries: true, allowedMethods: ["PowerOffVM_Task"]))
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vm = conn:vms{ power = "poweredOn" }[1]
            local t = conn:invoke(vm, "PowerOffVM_Task", {}, { async = true })
            local ok = pcall(conn.invoke, conn, vm, "PowerOnVM_Task", {})
            return t.name, ok
            """)
        #expect(values == [.string("PowerOffVM_Task"), .boolean(false)])
        await h.shutdown()
    }

    @Test func aSandboxedStrategyCannotAskForACustomMethod() async throws {
        let sim = try smallSimulator()
        let harness = try StrategyHarness(simulator: sim, sandbox: .restricted)
        defer { harness.shutdown() }
        let strategy = try await harness.strategy(source: """
            return {
              select = function(inv)
                return { { vm = inv.vms[1], action = "custom", method = "Destroy_Task" } }
              end,
            }
            """)
        let inventory = try await sim.inventory()
        // The strategy's own error (a bad job), which fails the run before anything moves.
        let error = await #expect(throws: LuaStrategyError.self) {
            try await harness.runtime.perform { _ in try strategy.select(inventory) }
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("the custom method 'Destroy_Task' is not allowed under --sandbox"), "\(String(describing: error))")
        // Without the sandbox the same job is accepted (the engine runs it).
        let free = try StrategyHarness(simulator: try smallSimulator())
        defer { free.shutdown() }
        let accepted = try await free.strategy(source: """
            return { select = function(inv) return { { vm = inv.vms[1], action = "custom", method = "Destroy_Task" } } end }
            """)
        let requests = try await free.runtime.perform { _ in try accepted.select(inventory) }
        #expect(requests.count == 1)
    }
}
