import Foundation
import Testing
import TestSupport

/// Change windows against the test vCenter on scaled time (issue 15.1): the run takes the test
/// vCenter's clock (`MOONMOTION_CLOCK_SPEED`), so `--window` is read on the simulated calendar.
@Suite("change windows on the test vCenter")
struct WindowsOnTestVCenterTests {
    static let speed = 200.0

    /// A test vCenter on a simulated calendar near 2026-12-07 00:00 UTC and two windows on it:
    /// 30 minutes, and 90 minutes from an hour later. 12 VMs on 2 hosts at 400 MiB/s, 2 at once:
    /// about 50 simulated minutes of copying, more than the first window holds and less than
    /// the second. The first opens once a run has had time to start: the windows are placed
    /// from the server's clock after a timed `--dry-run` (connect, inventory, strategy: what a
    /// run does before its first move), at least 10 simulated minutes and 3 × that time ahead —
    /// on the loaded 2-core machine in the full suite a start took over 10 real s, 35 simulated
    /// minutes at 200×, and a fixed lead made the run miss the first window. `lead` is the
    /// real seconds of that lead, for the callers' time bounds.
    static func start() async throws -> (vc: TestVCenter, windows: String, first: DateInterval, second: DateInterval, lead: Double) {
        let launched = Date()
        let skew = Int(ISO8601DateFormatter().date(from: "2026-12-06T23:55:00Z")!.timeIntervalSince(launched).rounded())
        let vc = try await TestVCenter.start(TestVCenter.Options(
            clusters: 1, hosts: 2, vms: 12, seed: 3, snapshotFraction: 0, consolidateFraction: 0, rateMBps: 400, speed: speed,
            extraArgs: ["-clock-skew-seconds", String(skew), "-svmotion-setup-seconds", "15", "-update-batch-ms", "20"]))
        // Simulated second 0 is the server's start plus the skew (to a second or so: its start-up).
        let dryRunStart = Date()
        let dry = try await runMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"),
                                           "max_concurrent=2", "--dry-run", "--no-journal"],
                                           directory: FileManager.default.temporaryDirectory, environment: environment, timeout: 60)
        #expect(dry.status == 0, "\(dry.stderr.suffix(1000))")
        let lead = max(600, 3 * Date().timeIntervalSince(dryRunStart) * speed)
        let now = launched.addingTimeInterval(Double(skew) + (try await vc.stats(includeTasks: false)).simNow)
        let open = Date(timeIntervalSince1970: ((now.timeIntervalSince1970 + lead) / 60).rounded(.up) * 60)
        let first = DateInterval(start: open, duration: 1800), second = DateInterval(start: open.addingTimeInterval(3600), duration: 5400)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "HH:mm"
        let text = "daily \(f.string(from: first.start))-\(f.string(from: first.end)); daily \(f.string(from: second.start))-\(f.string(from: second.end))"
        return (vc, text, first, second, lead / speed)
    }

    static let environment = ["GOVC_URL": "", "MOONMOTION_CLOCK_SPEED": String(speed), "MOONMOTION_POLLER": "coalesce=0.05,pace=0.1"]

    /// The `--events` file's records, as dictionaries.
    static func events(_ path: URL) throws -> [[String: Any]] {
        try String(contentsOf: path, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func date(_ any: Any?) -> Date? {
        guard let text = any as? String else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// The windows the run announced (opened at, closes at) and every dispatch (time, predicted end, VM).
    static func decisions(_ records: [[String: Any]]) -> (windows: [DateInterval], dispatches: [(at: Date, predicted: Date?, vm: String)]) {
        var windows: [DateInterval] = []
        var dispatches: [(at: Date, predicted: Date?, vm: String)] = []
        for r in records {
            guard let time = date(r["time"]) else { continue }
            if r["type"] as? String == "window-opened", let end = date(r["windowEnd"]) { windows.append(DateInterval(start: time, end: end)) }
            if r["type"] as? String == "job-changed", r["state"] as? String == "dispatching" {
                dispatches.append((at: time, predicted: date(r["predictedEnd"]), vm: r["vmName"] as? String ?? "?"))
            }
        }
        return (windows, dispatches)
    }

    /// Every dispatch is inside a window and predicted to end by its close (or, predicted
    /// longer than the whole window, made in its first five minutes — the rule for moves no
    /// window can hold).
    static func checkDecisions(_ windows: [DateInterval], _ dispatches: [(at: Date, predicted: Date?, vm: String)]) {
        for d in dispatches {
            guard let w = windows.first(where: { $0.start <= d.at && d.at < $0.end }) else {
                Issue.record("\(d.vm) was dispatched at \(d.at), outside every window \(windows)")
                continue
            }
            guard let predicted = d.predicted else { Issue.record("\(d.vm): no predicted end journaled"); continue }
            let longerThanWindow = predicted.timeIntervalSince(d.at) > w.duration && d.at.timeIntervalSince(w.start) < 300
            #expect(predicted <= w.end || longerThanWindow,
                    "\(d.vm) started at \(d.at) predicted to end \(predicted), past the close \(w.end)")
        }
    }

    @Test("a window closing mid-run: no move starts whose predicted end is past the close; the run waits and finishes in the next window")
    func waitsForTheNextWindow() async throws {
        let (vc, text, first, second, lead) = try await Self.start()
        defer { vc.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-windows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = dir.appendingPathComponent("events.jsonl")
        let run = try await runMoonmotion(
            ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "max_concurrent=2",
             "--journal", "w.journal", "--events", events.path, "--window", text, "--tz", "UTC"],
            directory: dir, environment: Self.environment, timeout: 50 + lead)
        #expect(run.status == 0, "\(run.stderr.suffix(2000))")
        let (windows, dispatches) = Self.decisions(try Self.events(events))
        // Opened (the first at its opening, as the run began before it), closed, opened again.
        #expect(windows.count == 2, "\(windows)")
        #expect(windows.first?.end == first.end && windows.last?.end == second.end, "\(windows) for \(text)")
        Self.checkDecisions(windows, dispatches)
        // Work was left for the second window and done there.
        #expect(dispatches.contains { $0.at >= second.start }, "nothing waited for the second window")
        #expect(dispatches.contains { $0.at < first.end })
        let finished = try Self.events(events).last { $0["type"] as? String == "run-finished" }
        #expect(finished?["outcome"] as? String == "completed", "\(String(describing: finished))")
    }

    @Test("--until-window-end: the run exits when the window closes (running moves finish), --resume continues in the next one")
    func exitsAndResumes() async throws {
        let (vc, text, _, secondWindow, lead) = try await Self.start()
        defer { vc.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-windows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"), "max_concurrent=2",
                    "--journal", "w.journal", "--window", text, "--tz", "UTC", "--until-window-end"]
        let first = try await runMoonmotion(args + ["--events", dir.appendingPathComponent("first.jsonl").path],
                                            directory: dir, environment: Self.environment, timeout: 30 + lead)
        #expect(first.status == 0, "\(first.stderr.suffix(2000))")
        let one = Self.decisions(try Self.events(dir.appendingPathComponent("first.jsonl")))
        #expect(one.windows.count == 1 && !one.dispatches.isEmpty)
        Self.checkDecisions(one.windows, one.dispatches)
        let ended = try Self.events(dir.appendingPathComponent("first.jsonl")).last { $0["type"] as? String == "run-finished" }
        #expect(ended?["outcome"] as? String == "window-closed", "\(String(describing: ended))")

        let second = try await runMoonmotion(args + ["--resume", "--events", dir.appendingPathComponent("second.jsonl").path],
                                             directory: dir, environment: Self.environment, timeout: 30)
        #expect(second.status == 0, "\(second.stderr.suffix(2000))")
        let two = Self.decisions(try Self.events(dir.appendingPathComponent("second.jsonl")))
        Self.checkDecisions(two.windows, two.dispatches)
        #expect(!two.dispatches.isEmpty && two.dispatches.allSatisfy { $0.at >= secondWindow.start },
                "the resumed run starts its moves in the second window")
        let finished = try Self.events(dir.appendingPathComponent("second.jsonl")).last { $0["type"] as? String == "run-finished" }
        #expect(finished?["outcome"] as? String == "completed", "\(String(describing: finished))")
        #expect(one.dispatches.count + two.dispatches.count >= 12)
    }
}
