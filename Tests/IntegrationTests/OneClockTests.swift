import Foundation
import Testing
import TestSupport

/// One clock under simulation (issue 13.3): `mm.sleep`, wait timeouts and `mm.now()` all
/// count simulated seconds, and every command simulates the same vCenter.
@Suite("One clock, one simulator")
struct OneClockTests {
    @Test("a script connected to the simulator: mm.sleep(0.5) moves mm.now() by about half a simulated second, not 0.5 × speed")
    func sleepFollowsTheSimulatedClock() async throws {
        let dir = try scriptDirectory(["clock.lua": """
            local mm = require("moonmotion")
            local conn = mm.connect()
            local t0 = mm.now()
            mm.sleep(0.5)
            local slept = mm.now() - t0
            print(string.format("slept %.3f", slept))
            conn:close()
            """])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "clock.lua"], directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let slept = outcome.stdout.split(separator: "\n").first { $0.hasPrefix("slept ") }.flatMap { Double($0.dropFirst(6)) }
        let value = try #require(slept, "\(outcome.stdout)")
        // The demo clock runs hundreds of times faster than real time: with real-time sleeps
        // 0.5 s was 485 simulated seconds at the demo speed (970×); scheduling lag adds a few.
        #expect(value >= 0.5 && value < 100, "mm.sleep(0.5) moved mm.now() by \(value) s")
    }

    @Test("repl --simulate has conn, on the same simulator as run; the banner says so")
    func replSimulateHasConn() async throws {
        let outcome = try await runMoonmotion(["repl", "--simulate"], input: "#conn:vms()\n", environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("conn: connected to simulated vCenter"), "\(outcome.stderr)")
        #expect(outcome.stdout.contains("600"), "the demo inventory (3 clusters × 8 hosts, 600 VMs): \(outcome.stdout)")
    }

    @Test("inventory --simulate and plan use run's demo inventory by default")
    func sameDefaultInventory() async throws {
        let inventory = try await runMoonmotion(["inventory", "--simulate", "--json"], environment: ["GOVC_URL": ""])
        #expect(inventory.status == 0, "\(inventory.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(inventory.stdout.utf8)) as? [String: Any]
        #expect((doc?["vms"] as? [Any])?.count == 600)
        let plan = try await runMoonmotion(["plan", examplePath("storage-migration.lua"), "--json"], environment: ["GOVC_URL": ""])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stderr.contains("600 VMs"), "\(plan.stderr.prefix(400))")
    }
}
