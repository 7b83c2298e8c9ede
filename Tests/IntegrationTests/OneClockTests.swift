import Foundation
import Testing
import TestSupport

/// One clock under simulation (issue 13.3): `mm.sleep`, wait timeouts and `mm.now()` all
/// count simulated seconds, and every command simulates the same vCenter.
@Suite("One clock, one simulator")
struct OneClockTests {
    @Test("a script connected to the simulator: mm.sleep(30) moves mm.now() by about 30 simulated seconds, not 30 × speed")
    func sleepFollowsTheSimulatedClock() async throws {
        let dir = try scriptDirectory(["clock.lua": """
            local mm = require("moonmotion")
            local conn = mm.connect()
            local t0 = mm.now()
            mm.sleep(30)
            local slept = mm.now() - t0
            print(string.format("slept %.3f", slept))
            conn:close()
            """])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", "clock.lua"], directory: dir, environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let slept = outcome.stdout.split(separator: "\n").first { $0.hasPrefix("slept ") }.flatMap { Double($0.dropFirst(6)) }
        let value = try #require(slept, "\(outcome.stdout)")
        // The demo clock runs hundreds of times faster than real time. With real-time sleeps
        // (c7f789b: scripts at 100×) 30 s moved mm.now() by 3,000 simulated seconds; on the
        // simulated clock it is 30 plus the wake-up's lag, under 1 real second even on a
        // loaded machine (< 1,000 simulated seconds at the demo's ~970×).
        #expect(value >= 30 && value < 1000, "mm.sleep(30) moved mm.now() by \(value) s")
    }

    @Test("repl --simulate has conn, on the same simulator as run; the banner says so")
    func replSimulateHasConn() async throws {
        let outcome = try await runMoonmotion(["repl", "--simulate"], input: "#conn:vms()\n", environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("conn: connected to simulated vCenter"), "\(outcome.stderr)")
        #expect(outcome.stdout.contains("600"), "the demo inventory (3 clusters × 8 hosts, 600 VMs): \(outcome.stdout)")
    }

    @Test("a script's mm.connect() gets run's simulator: the same 600 VMs at the same speed")
    func scriptConnectSharesRunsSimulator() async throws {
        // c7f789b gave scripts (and the REPL) 3,000 VMs at 100× while run simulated 600 at 970×.
        let dir = try scriptDirectory(["count.lua": """
            local mm = require("moonmotion")
            local conn = mm.connect()
            print(#conn:vms())
            conn:close()
            """])
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = try await runMoonmotion(["run", "count.lua"], directory: dir, environment: ["GOVC_URL": ""])
        #expect(script.status == 0, "\(script.stderr)")
        #expect(script.stdout.split(separator: "\n").first == "600", "\(script.stdout)")
        let dryRun = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--dry-run"], environment: ["GOVC_URL": ""])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        // Each says its speed as "N×" where it announces the simulator (the dry run on stdout).
        func speed(_ text: String) -> String? {
            guard let line = text.split(separator: "\n").first(where: { $0.contains("simulated vCenter") }),
                  let times = line.firstIndex(of: "×") else { return nil }
            return String(line[..<times].reversed().prefix { $0.isNumber }.reversed())
        }
        #expect(speed(script.stderr) != nil && speed(script.stderr) == speed(dryRun.stdout),
                "script: \(script.stderr.prefix(300)) run: \(dryRun.stdout.prefix(300))")
        #expect(script.stderr.contains("600 VMs") && dryRun.stdout.contains("600 VMs"))
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
