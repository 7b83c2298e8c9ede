import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel
import VCenterSimulator

/// `conn:moveVM` names its target datastore by a pattern when it matches exactly one, as
/// jobs accept patterns (issue 13.5): more than one or none is a clear error, nothing moves.
@Suite(.timeLimit(.minutes(2))) struct MoveGlobTests {
    @Test func aPatternMatchingOneDatastoreIsThatDatastore() async throws {
        var config = SimulatorConfiguration()
        config.clock = .virtual
        let sim = try SimulatedVCenter(generating: "clusters=1,hosts=2,vms=4,datastores=2", configuration: config)
        let vm = try #require(sim.inventorySnapshot.vms.first)
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local function err(f) local ok, e = pcall(f); return ok and "no error" or tostring(e) end
            local many = err(function() return conn:moveVM("\(vm.name)", { datastore = "new-*" }, { async = true }) end)
            local none = err(function() return conn:moveVM("\(vm.name)", { datastore = "nope-*" }, { async = true }) end)
            local t = conn:moveVM("\(vm.name)", { datastore = "new-0[2]" }, { async = true })
            return many, none, t.name
            """)
        await h.shutdown()
        #expect(values[0].stringValue?.contains("'new-*' (target datastore) matches 2 datastores (new-01, new-02); a move needs exactly one") == true, "\(values[0])")
        #expect(values[1].stringValue?.contains("no datastore matches 'nope-*' (target datastore)") == true, "\(values[1])")
        #expect(values[2] == "RelocateVM_Task")
        #expect(sim.stats.tasks.count == 1, "only the one-match move started")
    }
}
