import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `moonmotion tasks` on the test vCenter: running and recent tasks with durations on
/// vCenter's clock (here an hour ahead of this machine's), and `--watch` ended by Ctrl-C.
@Suite struct TasksCommandTests {
    /// Starts two long relocations and one that is cancelled at once; prints the three task ids.
    static let starter = """
        local mm = require "moonmotion"
        local conn = mm.connect()
        local a = conn:moveVM("vm-c1-0001", {datastore = "new-01"}, {async = true})
        local b = conn:moveVM("vm-c1-0002", {datastore = "new-02"}, {async = true})
        local c = conn:moveVM("vm-c1-0003", {datastore = "new-01"}, {async = true})
        assert(c:cancel())
        local ok, err = c:wait{timeout = 60}
        assert(not ok and err.type == "RequestCanceled", tostring(err and err.type))
        print(a.id, b.id, c.id)
        """

    /// The DURATION column of the row of `task` in a `moonmotion tasks` table, in seconds.
    static func duration(of task: String, in table: String) -> Int? {
        guard let row = table.split(separator: "\n").last(where: { $0.hasPrefix(task + " ") }),
              let last = row.split(separator: " ").last else { return nil }
        var total = 0, number = 0
        for ch in last {
            if let d = ch.wholeNumberValue { number = number * 10 + d; continue }
            switch ch {
            case "h": total += number * 3600
            case "m": total += number * 60
            case "s": total += number
            default: return nil
            }
            number = 0
        }
        return total
    }

    @Test("tasks lists running and recent tasks, DURATION on vCenter's clock; --watch ends cleanly on Ctrl-C")
    func listAndWatch() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 2, vms: 4, speed: 1, minTaskSeconds: 900,
                                                   extraArgs: ["-clock-skew-seconds", "3600"]))
        defer { vc.stop() }
        let url = vc.urlWithCredentials.absoluteString
        let dir = try scriptDirectory(["start.lua": Self.starter])
        defer { try? FileManager.default.removeItem(at: dir) }

        let started = try await runMoonmotion(["run", "--url", url, dir.appendingPathComponent("start.lua").path],
                                              directory: dir, timeout: 120)
        #expect(started.status == 0, "\(started.stderr)")
        let ids = started.stdout.split(whereSeparator: { $0 == "\t" || $0 == "\n" || $0 == " " }).map(String.init)
            .filter { $0.hasPrefix("task-") }
        try #require(ids.count == 3, "\(started.stdout)")
        let (running1, running2, cancelled) = (ids[0], ids[1], ids[2])

        // One listing: every task, its state, and how long the running ones have run — a few
        // seconds by vCenter's clock (the local clock would say -1 h, shown as 0s). Listed again
        // until both show a second or more (the event waited for; usually the first or second
        // listing), at most 60 s: on the local clock they never would.
        var listed = try await runMoonmotion(["tasks", "--url", url], directory: dir, timeout: 120)
        let listingStart = Date()
        while listed.status == 0, Date().timeIntervalSince(listingStart) < 60,
              ![running1, running2].allSatisfy({ (Self.duration(of: $0, in: listed.stdout) ?? 0) >= 1 }) {
            listed = try await runMoonmotion(["tasks", "--url", url], directory: dir, timeout: 120)
        }
        #expect(listed.status == 0, "\(listed.stderr)")
        let table = listed.stdout
        #expect(table.contains("TASK") && table.contains("DURATION"), "\(table)")
        for id in [running1, running2] {
            let row = table.split(separator: "\n").first { $0.hasPrefix(id + " ") }.map(String.init) ?? ""
            #expect(row.contains("RelocateVM_Task") && row.contains("vm-c1-000") && row.contains("running"), "\(table)")
            let seconds = Self.duration(of: id, in: table)
            #expect(seconds.map { $0 >= 1 && $0 < 600 } == true, "\(id): \(seconds.map(String.init) ?? "?") s in\n\(table)")
        }
        let cancelledRow = table.split(separator: "\n").first { $0.hasPrefix(cancelled + " ") }.map(String.init) ?? ""
        #expect(cancelledRow.contains("error (RequestCanceled)"), "\(table)")
        #expect(table.contains("3 tasks: 2 running or queued, 1 failed"), "\(table)")

        // --state filters.
        let onlyRunning = try await runMoonmotion(["tasks", "--url", url, "--state", "running"], directory: dir, timeout: 120)
        #expect(onlyRunning.status == 0, "\(onlyRunning.stderr)")
        #expect(onlyRunning.stdout.contains(running1) && !onlyRunning.stdout.contains(cancelled), "\(onlyRunning.stdout)")

        // --watch: the table comes, stays live; Ctrl-C stops watching, logs out, exits 130.
        let logoutsBefore = try await vc.stats(includeTasks: false).calls("Logout")
        let watch = try BackgroundMoonmotion(["tasks", "--watch", "--url", url], directory: dir)
        let start = Date()
        while !watch.stdoutSoFar.contains(running2), watch.isRunning, Date().timeIntervalSince(start) < 120 {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(watch.stdoutSoFar.contains(running2), "no table from tasks --watch")
        // It redraws (every second, for the durations): wait for the first table and one more,
        // at most 60 s (a bound on a stuck watch, not a wait for anything).
        let redrawStart = Date()
        while watch.stdoutSoFar.components(separatedBy: "DURATION").count < 3, watch.isRunning,
              Date().timeIntervalSince(redrawStart) < 60 {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(watch.stdoutSoFar.components(separatedBy: "DURATION").count >= 3, "no redraw: \(watch.stdoutSoFar)")
        #expect(watch.isRunning, "--watch ended while tasks were still running")
        watch.signal(SIGINT)
        let outcome = await watch.finish(timeout: 60)
        #expect(outcome.status == 130, "status \(outcome.status): \(outcome.stderr)")
        #expect(outcome.stderr.contains("Ctrl-C: stopped watching; 2 task(s) still running or queued in vCenter"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("Fatal") && !outcome.stderr.contains("error:"), "\(outcome.stderr)")
        let logoutsAfter = try await vc.stats(includeTasks: false).calls("Logout")
        #expect(logoutsAfter == logoutsBefore + 1, "the watching session did not log out")
    }
}
