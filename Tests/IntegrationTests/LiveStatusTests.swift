import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// Issue 14, points 1–3: during a 3 × 8 × 60 run on the test vCenter, `--listen`'s
/// `/api/status` and `/metrics`, `moonmotion status JOURNAL` (another process, reading the
/// journal) and the test vCenter's own counts agree within one poll cycle.
@Suite("live status of a run on the test vCenter (3 clusters × 8 hosts × 60 VMs)")
struct LiveStatusTests {
    /// The part of `/api/status` the test reads.
    struct Status: Decodable {
        struct Totals: Decodable { var jobs: Int; var done: Int; var running: Int; var failed: Int; var skipped: Int }
        struct Task: Decodable { var vm: String }
        var phase: String
        var overall: Totals
        var running: [Task]
        var source: String
    }

    static func fetch(_ url: String, token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    static func status(_ text: String) throws -> Status { try JSONDecoder().decode(Status.self, from: Data(text.utf8)) }

    /// `moonmotion_jobs{state="…"}` from the exposition.
    static func metric(_ text: String, state: String) -> Int? {
        let prefix = "moonmotion_jobs{state=\"\(state)\"} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }.map { Int($0) }
    }

    @Test("the API, /metrics, `moonmotion status` and the test vCenter agree while the run goes; the page needs its token")
    func agreeDuringRun() async throws {
        let vc = try await TestVCenter.start(TestVCenter.Options(clusters: 3, hosts: 8, vms: 60, speed: 500))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("wave.journal").path
        let token = "t0k3n-for-the-live-status-test"
        let tokenFile = dir.appendingPathComponent("token")
        try (token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        let run = try BackgroundMoonmotion(
            ["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"),
             "--journal", journal, "--listen", "127.0.0.1:0", "--listen-token-file", tokenFile.path,
             "--report", dir.appendingPathComponent("report").path], directory: dir)

        // The announced address (the system chose the port).
        var base: String?
        let announced = Date()
        while base == nil, run.isRunning, Date().timeIntervalSince(announced) < 60 {
            if let line = run.stderrSoFar.split(separator: "\n").first(where: { $0.contains("status page: http://") }),
               let start = line.range(of: "http://"), let end = line[start.lowerBound...].firstIndex(of: " ") {
                base = String(line[start.lowerBound..<end])
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let url = try #require(base, "no status page announced: \(run.stderrSoFar)")
        #expect(!run.stderrSoFar.contains(token), "the token is never printed")

        // Without the token: 401 on every path.
        for path in ["", "api/status", "metrics", "events"] {
            #expect(try await Self.fetch(url + path).0 == 401, "\(path)")
        }

        // The page is up before the run is journaled (it starts before the run): wait for the run.
        let journaledBy = Date()
        while try await !journalHoldsRun(journal), run.isRunning, Date().timeIntervalSince(journaledBy) < 60 {
            try await Task.sleep(for: .milliseconds(50))
        }

        var rounds = 0, sawRunning = false, pageChecked = HeadlessChromium.path == nil
        while run.isRunning, rounds < 8 {
            if !pageChecked {
                // The live page as a browser draws it, mid-run (issue 14.7): `?snapshot` draws
                // once and closes the stream, so headless Chromium dumps it. Its VMs-done count
                // lies between the API's before and after the page loaded.
                let (_, before) = try await Self.fetch(url + "api/status", token: token)
                let b = try Self.status(before)
                let page = url + "?token=\(token)&snapshot"
                let dom = try await HeadlessChromium.run(page, ["--virtual-time-budget=4000", "--dump-dom"])
                let (_, later) = try await Self.fetch(url + "api/status", token: token)
                let l = try Self.status(later)
                if b.phase == "dispatching" && l.phase == "dispatching" {
                    #expect(dom.contains("class=\"phase phase-dispatching\">dispatching<"), "\(dom.prefix(2000))")
                    let shown = dom.firstMatch(of: /id="overall-vms">(\d+) \/ (\d+)</).map { (Int($0.1)!, Int($0.2)!) }
                    let (done, jobs) = try #require(shown, "no VM count in the page: \(dom.prefix(2000))")
                    #expect(jobs == b.overall.jobs && b.overall.done <= done && done <= l.overall.done,
                            "page \(done) / \(jobs); the API \(b.overall.done) then \(l.overall.done) of \(b.overall.jobs)")
                    #expect(!dom.contains(token), "the token is not written into the page")
                    let shot = try await HeadlessChromium.screenshot(page, name: "status-page-live.png", budget: 4000)
                    #expect(FileManager.default.fileExists(atPath: shot.path))
                    pageChecked = true
                }
            }
            // A: the process's view; J: the journal's (another process); V: the test vCenter's.
            // A is computed no later than J and V are read; A2 (2.5 s later: one poll cycle and
            // the page's 1 s refresh) after: every count read in between lies within.
            let (codeA, textA) = try await Self.fetch(url + "api/status", token: token)
            guard codeA == 200 else { break }
            let a = try Self.status(textA)
            let (_, metricsA) = try await Self.fetch(url + "metrics", token: token)
            let j = try await runMoonmotion(["status", journal, "--json"], directory: dir)
            let v = try await vc.stats()
            try await Task.sleep(for: .milliseconds(2500))
            let (codeA2, textA2) = try await Self.fetch(url + "api/status", token: token)
            #expect(j.status == 0, "moonmotion status: \(j.stderr)")
            guard codeA2 == 200, j.status == 0 else { break }
            let a2 = try Self.status(textA2)
            let js = try Self.status(j.stdout)
            #expect(a.source == "live" && js.source == "journal")
            #expect(js.overall.jobs == a.overall.jobs)
            #expect(a.overall.done <= js.overall.done && js.overall.done <= a2.overall.done,
                    "done: api \(a.overall.done) ≤ journal \(js.overall.done) ≤ api later \(a2.overall.done)")
            let metricDone = try #require(Self.metric(metricsA, state: "done"), "\(metricsA)")
            #expect(metricDone >= a.overall.done && metricDone <= a2.overall.done, "metrics done \(metricDone)")
            let vcDone = v.storageMoves(datastores: Set(v.datastores.keys)).count
            #expect(vcDone >= a.overall.done && vcDone <= a2.overall.done,
                    "test vCenter: \(vcDone) VMs moved; the run: \(a.overall.done) then \(a2.overall.done)")
            // Running (pro-active vMotions included): not monotonic, so the test vCenter's count
            // may differ from the run's by what started or ended between A and A2.
            let vcRunning = v.taskCounts["running", default: 0] + v.taskCounts["queued", default: 0]
            let ended = { (s: Status) in s.overall.done + s.overall.failed + s.overall.skipped }
            let changes = (ended(a2) - ended(a)) + abs(a2.running.count - a.running.count)
            #expect(abs(vcRunning - a.running.count) <= changes + 2 * max(1, changes),
                    "test vCenter runs \(vcRunning); the run \(a.running.count) then \(a2.running.count)")
            if !a.running.isEmpty { sawRunning = true }
            rounds += 1
        }
        let outcome = await run.finish(timeout: 600)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(rounds >= 2 && sawRunning, "the run ended before the views could be compared (\(rounds) rounds)")
        // After the run: the journal's view is the run's end.
        let after = try await runMoonmotion(["status", journal, "--json"], directory: dir)
        let final = try Self.status(after.stdout)
        #expect(final.phase == "done" && final.overall.done + final.overall.skipped + final.overall.failed == final.overall.jobs)
        let text = try await runMoonmotion(["status", journal], directory: dir)
        #expect(text.stdout.contains("status: done (completed)"), "\(text.stdout)")
        #expect(pageChecked, "the live page was never loaded while the run was dispatching")
        // The report the run wrote, in a browser afterwards (issue 14.7): the journal's figures.
        let report = dir.appendingPathComponent("report/report.html")
        #expect(FileManager.default.fileExists(atPath: report.path), "\(outcome.stdout)")
        if HeadlessChromium.path != nil {
            let dom = try await HeadlessChromium.run(report.absoluteString, ["--virtual-time-budget=3000", "--dump-dom"])
            #expect(dom.contains("id=\"vms-done\">\(final.overall.done)<"), "\(dom.prefix(3000))")
            #expect(dom.contains("data-timeline-bars=\""), "the report's timeline was drawn")
            let shot = try await HeadlessChromium.screenshot(report.absoluteString, name: "report-after-run.png")
            #expect(FileManager.default.fileExists(atPath: shot.path))
        }
        for output in [outcome.stdout, outcome.stderr, after.stdout, text.stdout] {
            #expect(!output.contains(vc.password), "no password in any output")
        }
    }

    @Test("a non-loopback --listen without a token is refused before anything starts")
    func nonLoopbackNeedsToken() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--listen", "0.0.0.0:0"],
                                              directory: dir, environment: noVCenter)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("--listen-token"), "\(outcome.stderr)")
        #expect(!outcome.stdout.contains("run completed"))
    }
}
