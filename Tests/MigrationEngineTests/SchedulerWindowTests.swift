import Foundation
import MigrationEngine
import Testing
import VCenterModel

/// Change windows (issue 15.1) on virtual time.
@Suite("Change windows")
struct SchedulerWindowTests {
    static let utc = TimeZone(identifier: "UTC")!

    @Test("parsing: days, ranges across midnight, merging, errors that say what is wrong")
    func parsing() throws {
        let w = try ChangeWindows(parsing: "Mon-Fri 20:00-06:00; Sat-Sun 00:00-24:00", timeZone: Self.utc)
        // 2026-12-07 is a Monday.
        let monday = ISO8601DateFormatter().date(from: "2026-12-07T12:00:00Z")!
        #expect(w.window(containing: monday) == nil)
        #expect(w.nextOpening(after: monday) == ISO8601DateFormatter().date(from: "2026-12-07T20:00:00Z"))
        let tuesdayNight = ISO8601DateFormatter().date(from: "2026-12-08T03:00:00Z")!
        #expect(w.window(containing: tuesdayNight)?.end == ISO8601DateFormatter().date(from: "2026-12-08T06:00:00Z"))
        // Friday 20:00 runs into the weekend and on to Monday 06:00? No: Sunday 24:00 is Monday 00:00,
        // and Monday's window opens at 20:00. Friday night + Saturday + Sunday merge into one.
        let saturday = ISO8601DateFormatter().date(from: "2026-12-12T10:00:00Z")!
        let weekend = try #require(w.window(containing: saturday))
        #expect(weekend.start == ISO8601DateFormatter().date(from: "2026-12-11T20:00:00Z"))
        #expect(weekend.end == ISO8601DateFormatter().date(from: "2026-12-14T00:00:00Z"))
        #expect(throws: ChangeWindowsError.self) { try ChangeWindows(parsing: "weekdays 20:00-06:00") }
        #expect(throws: ChangeWindowsError.self) { try ChangeWindows(parsing: "Mon 25:00-06:00") }
        #expect(throws: ChangeWindowsError.self) { try ChangeWindows(parsing: "") }
        let daily = try ChangeWindows(parsing: "daily 22:00-04:00", timeZone: Self.utc)
        #expect(daily.window(containing: ISO8601DateFormatter().date(from: "2026-12-09T23:00:00Z")!) != nil)
    }

    static func harness(_ windows: String, start: String, configure: (inout SchedulerConfiguration) -> Void = { _ in }) throws -> SchedulerHarness {
        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 6
        let inv = spec.make()
        var config = SchedulerConfiguration()
        config.windows = try ChangeWindows(parsing: windows, timeZone: utc)
        // The harness copies at 100 MB/s with no setup: the prediction knows it after the first move.
        config.predictedRate = 100_000_000
        config.predictedOverhead = 0
        configure(&config)
        let h = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy(), configuration: config)
        h.now = ISO8601DateFormatter().date(from: start)!
        try h.add(TestInventory.moveAll(inv))
        return h
    }

    @Test("no move runs past its window's end; the rest wait for the next window and then finish")
    func movesStayInsideWindows() throws {
        // Two one-hour windows a day; each VM copies 100–1,000 s at 100 MB/s.
        let h = try Self.harness("daily 01:00-02:00; daily 03:00-04:00", start: "2026-12-07T00:30:00Z")
        #expect(h.run() == .completed)
        #expect(h.jobs(in: .done).count == 6)
        let w = h.scheduler.configuration.windows!
        for job in h.scheduler.jobs {
            let started = try #require(job.startedAt ?? job.dispatchedAt)
            let window = try #require(w.window(containing: started), "\(job.vmName) started outside a window at \(started)")
            #expect(job.finishedAt! <= window.end, "\(job.vmName) ran past \(window.end)")
        }
        #expect(h.scheduler.jobs.allSatisfy { ($0.startedAt ?? .distantPast) >= ISO8601DateFormatter().date(from: "2026-12-07T01:00:00Z")! })
    }

    @Test("a move that would end after the window waits; a move longer than any window starts at an opening")
    func predictedEnds() throws {
        // One 10-minute window: the 1,000 s moves are longer than the window itself.
        let h = try Self.harness("daily 01:00-01:10", start: "2026-12-07T00:00:00Z")
        #expect(h.run() == .completed)
        for job in h.scheduler.jobs {
            let started = try #require(job.startedAt ?? job.dispatchedAt)
            let since = started.timeIntervalSince(Calendar(identifier: .gregorian).startOfDay(for: started)) - 3600
            #expect(since >= 0 && since < 600, "\(job.vmName) started \(since) s after 01:00")
        }
    }

    @Test("--until-window-end: at the closing nothing new starts, running moves finish, the run ends window-closed")
    func stopsAtWindowEnd() throws {
        let h = try Self.harness("daily 01:00-01:20", start: "2026-12-07T01:00:00Z") { $0.stopAtWindowEnd = true }
        let outcome = h.run()
        guard case .windowClosed(let next)? = outcome else { Issue.record("outcome \(String(describing: outcome))"); return }
        #expect(next == ISO8601DateFormatter().date(from: "2026-12-08T01:00:00Z"))
        #expect(!h.jobs(in: .done).isEmpty && !h.jobs(in: .pending).isEmpty)
        #expect(h.running.isEmpty)
        let events = h.events.compactMap { if case .window(let open, _, _) = $0.kind { open } else { nil } }
        #expect(events == [true, false], "the opening and the closing are journaled")
    }

    @Test("each move records the end it was predicted to reach when it started, and its job events carry it")
    func predictionsRecorded() throws {
        // The harness copies at exactly the configured 100 MB/s with no setup: every prediction
        // is right, so the recorded error is zero; a run without windows records none.
        let h = try Self.harness("daily 01:00-02:00; daily 03:00-04:00", start: "2026-12-07T00:30:00Z")
        #expect(h.run() == .completed)
        for job in h.scheduler.jobs {
            let predicted = try #require(job.predictedEnd, "\(job.vmName) has no prediction")
            #expect(abs(job.finishedAt!.timeIntervalSince(predicted)) < 1, "\(job.vmName): ended \(job.finishedAt!), predicted \(predicted)")
        }
        let dispatched = h.events.compactMap { e -> EventRecord? in
            if case .jobChanged(let job, .pending) = e.kind, job.state == .dispatching { EventRecord(e) } else { nil }
        }
        #expect(dispatched.count == h.scheduler.jobs.count && dispatched.allSatisfy { $0.predictedEnd.flatMap(EventRecord.date) != nil })
        let boundaries = h.events.compactMap { e -> EventRecord? in if case .window = e.kind { EventRecord(e) } else { nil } }
        // 00:30: closed, the next opens at 01:00; at 01:00 opened until 02:00.
        #expect(boundaries.first?.type == "window-closed" && boundaries.first?.nextWindow.flatMap(EventRecord.date) == ISO8601DateFormatter().date(from: "2026-12-07T01:00:00Z"))
        #expect(boundaries.first { $0.type == "window-opened" }?.windowEnd.flatMap(EventRecord.date) == ISO8601DateFormatter().date(from: "2026-12-07T02:00:00Z"))

        var spec = TestInventory()
        spec.hostsPerCluster = 1
        spec.vmsPerHost = 2
        let inv = spec.make()
        let plain = try SchedulerHarness(inventory: inv, strategy: ClosureStrategy())
        try plain.add(TestInventory.moveAll(inv))
        #expect(plain.run() == .completed)
        #expect(plain.scheduler.jobs.allSatisfy { $0.predictedEnd == nil })
    }

    @Test("a pro-active vMotion starts only inside a window, and only with time left for the move it clears the way for")
    func proactiveVMotionsInsideWindows() throws {
        // One host holds most VMs: its storage moves are blocked by its two Storage vMotion slots
        // while others have room, so the strategy answers `vmotion`. Windows close while they wait.
        let inv = TestInventory.concentrated()
        var config = SchedulerConfiguration()
        config.windows = try ChangeWindows(parsing: "daily 01:00-01:40; daily 03:00-03:40", timeZone: Self.utc)
        config.predictedRate = 100_000_000
        config.predictedOverhead = 0
        let strategy = ClosureStrategy(
            select: TestInventory.moveAll,
            limits: { c in LimitOverrides(maxConcurrent: max(1, c.hosts.count / 2), storageMovesPerHost: 2) },
            onBlocked: { _, _ in .vmotion })
        let h = try SchedulerHarness(inventory: inv, strategy: strategy, configuration: config)
        h.now = ISO8601DateFormatter().date(from: "2026-12-07T00:30:00Z")!
        try h.add(TestInventory.moveAll(inv))
        #expect(h.run() == .completed)
        let windows = config.windows!
        let vmotions = h.scheduler.jobs.filter { $0.isProactive && $0.startedAt != nil }
        #expect(!vmotions.isEmpty, "the scenario makes pro-active vMotions")
        for job in h.scheduler.jobs where job.startedAt != nil {
            let started = try #require(job.dispatchedAt ?? job.startedAt)
            let window = try #require(windows.window(containing: started), "\(job.vmName) (\(job.kind.name)) started at \(started), outside every window")
            #expect(job.predictedEnd != nil)
            if job.isProactive, let parent = h.scheduler.job(job.parent!).startedAt {
                // The move it made room for started in the same window.
                #expect(windows.window(containing: parent) == window, "\(job.vmName): vMotion at \(started), its move at \(parent)")
            }
        }
    }
}
