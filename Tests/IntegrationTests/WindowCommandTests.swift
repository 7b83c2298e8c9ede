import Foundation
import Testing
import TestSupport

/// `--window` on the command line (issue 15.1).
@Suite("moonmotion --window")
struct WindowCommandTests {
    @Test("plan --window predicts the windows a migration takes and the date it ends")
    func planPredictsWindows() async throws {
        let outcome = try await runMoonmotion(
            ["plan", examplePath("storage-migration.lua"), "--generate", "clusters=1,hosts=4,vms=150",
             "--window", "Mon-Fri 20:00-06:00", "--tz", "UTC", "--start", "2026-12-07T20:00:00Z"],
            environment: ["GOVC_URL": ""])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        // About 30 h of copying at two slots: three ten-hour nights, ending on Wednesday night.
        #expect(outcome.stdout.contains("Windows: 3 windows of Mon-Fri 20:00-06:00"), "\(outcome.stdout.suffix(800))")
        #expect(outcome.stdout.contains("the last job ends Wed 2026-12-09"), "\(outcome.stdout.suffix(800))")
        #expect(outcome.stdout.contains("last window: Wed 2026-12-09 20:00 – Thu 2026-12-10 06:00"))
    }

    @Test("a window that cannot be read, a zone that does not exist, --until-window-end alone: refused before anything runs")
    func badWindows() async throws {
        let script = examplePath("storage-migration.lua")
        let cases: [([String], String)] = [
            (["run", script, "--window", "weekdays 20-6"], "--window: 'weekdays' in 'weekdays 20-6' is not a day or range of days"),
            (["run", script, "--window", "Mon-Fri 20-6"], "--window: '20-6' in 'Mon-Fri 20-6' is not HH:MM-HH:MM"),
            (["run", script, "--window", "Mon-Fri 20:00-06:00", "--tz", "Mars/Olympus"], "--tz 'Mars/Olympus' is not a time zone"),
            (["run", script, "--until-window-end"], "--tz and --until-window-end need --window"),
            (["plan", script, "--window", "Mon 25:00-06:00"], "--window: '25:00-06:00' in 'Mon 25:00-06:00' is not HH:MM-HH:MM"),
        ]
        for (arguments, message) in cases {
            let outcome = try await runMoonmotion(arguments, environment: ["GOVC_URL": ""])
            #expect(outcome.status != 0, "\(arguments)")
            #expect(outcome.stderr.contains(message), "\(arguments): \(outcome.stderr)")
        }
    }
}
