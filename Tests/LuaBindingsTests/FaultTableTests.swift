import Foundation
import LuaBindings
import LuaHost
import Testing
import VCenterModel
import VCenterSimulator

/// Issue 13, finding 6: the fault tables a wait returns (and `t.error`) print as a line, not
/// `table: 0x…`, and a script cannot take their metatable apart.
@Suite(.timeLimit(.minutes(3))) struct FaultTableTests {
    @Test("fault tables from waits and t.error print as one line and keep their metatable")
    func faultTablesPrintReadably() async throws {
        // 10 minutes of setup per move (6 real s at 100×): the slow move outlasts its 1 s wait.
        let sim = try SimulatorTaskBindingTests.scaled(100) { $0.storageVMotionOverhead = 600 }
        let vms = sim.inventorySnapshot.vms
        try sim.failNextTask(ofVM: vms[0].name, with: VCenterFault(type: "FileLocked", message: "the disk is locked"))
        let h = try BindingsHarness(backend: sim)
        let values = try await h.run("""
            local mm = require "moonmotion"
            local conn = mm.connect()
            local vms = conn:vms()
            local function move(vm) return conn:moveVM(vm, {datastore = conn:datastores{name = "new-*", host = vm.host}[1]}, {async = true}) end
            local bad, slow = move(vms[1]), move(vms[2])
            local _, failed = bad:wait{timeout = 6000}
            local _, timeout = slow:wait{timeout = 1}
            local replaced = pcall(setmetatable, timeout, {})
            return tostring(failed), tostring(timeout), tostring(bad.error), getmetatable(failed), replaced,
                   failed.type, failed.message
            """)
        await h.shutdown()
        #expect(values[0] == "FileLocked: the disk is locked")
        #expect(values[1].stringValue?.hasPrefix("Timeout: ") == true, "\(values[1])")
        #expect(values[1].stringValue?.contains("did not end within 1 s") == true, "\(values[1])")
        #expect(values[2] == "FileLocked: the disk is locked")
        #expect(values[3] == "moonmotion.Error")
        #expect(values[4] == false, "a script cannot replace the metatable")
        #expect(values[5] == "FileLocked")
        #expect(values[6] == "the disk is locked")
    }
}
