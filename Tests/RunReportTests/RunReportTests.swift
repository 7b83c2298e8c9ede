import Foundation
import GRDB
import MigrationEngine
import RunReport
import Testing
import VCenterModel

@Suite("RunReport")
struct RunReportTests {
    typealias F = ReportFixture

    /// One job in every state a report tells apart, plus a VM whose storage move is done but
    /// whose host move failed.
    static func mixedJobs() -> [Job] {
        var hostMove = Job(id: JobID(9), vm: MoRef("VirtualMachine", "vm-9"), vmName: "both-09", cluster: F.cluster,
                           kind: .hostMove(host: F.host2, pool: nil, method: .relocate), size: 0, state: .failed, attempts: 2,
                           lastError: "MigrationFault: no vMotion network", sourceHost: F.host1, createdAt: F.at(0),
                           dispatchedAt: F.at(70), startedAt: F.at(71), finishedAt: F.at(75))
        hostMove.lastFault = VCenterFault.Code("MigrationFault")
        return [
            F.move(1, "done-01", state: .done, start: 10, end: 60),
            F.move(2, "failed-02", state: .failed, attempts: 3, start: 20, end: 30, error: "FileLocked: the disk is locked"),
            F.move(3, "blocked-03", state: .skipped, attempts: 0, error: "a physical-mode RDM cannot move: detach it first", cannotMove: true),
            F.move(4, "skipped-04", state: .skipped, attempts: 0, error: "skipped by the strategy"),
            F.move(5, "running-05", state: .running, start: 50),
            F.move(6, "pending-06", state: .pending, attempts: 0),
            F.move(7, "retry-07", state: .pending, attempts: 1, error: "TaskInProgress: busy"),
            F.move(8, "there-08", state: .done, attempts: 0, end: 5),
            F.move(10, "both-09", state: .done, start: 40, end: 65).with(vm: MoRef("VirtualMachine", "vm-9")),
            hostMove,
        ]
    }

    @Test("every VM gets the result its journaled jobs say; bytes count only moves recorded done with a copy")
    func resultsAndFigures() throws {
        let fixture = F()
        defer { fixture.remove() }
        try fixture.write(Self.mixedJobs())
        let report = try RunReport.read(journalAt: fixture.path)
        #expect(report.ending == .recorded("completed"))
        #expect(report.strategy == "wave1.lua" && report.vcenter == "vc.example")
        #expect(report.startedAt == F.at(0) && report.endedAt == F.at(100) && report.makespan == 100)
        let results = Dictionary(uniqueKeysWithValues: report.vms.map { ($0.name, $0.result) })
        #expect(results == ["done-01": .done, "failed-02": .failed, "blocked-03": .blocked, "skipped-04": .skipped, "running-05": .unfinished,
                            "pending-06": .notStarted, "retry-07": .unfinished, "there-08": .done, "both-09": .failed])
        #expect(report.vms.first { $0.name == "both-09" }?.reason == "MigrationFault: no vMotion network")
        #expect(report.vms.first { $0.name == "blocked-03" }?.reason == "a physical-mode RDM cannot move: detach it first")
        let o = report.overall
        #expect(o.vms == 9 && o.count(.done) == 2 && o.count(.failed) == 2 && o.count(.blocked) == 1 && o.count(.skipped) == 1
                && o.count(.unfinished) == 2 && o.count(.notStarted) == 1)
        // done-01 and both-09's storage move copied 10 GiB each; there-08 was already on its target.
        #expect(o.bytesDone == 20 * F.gib)
        #expect(o.firstStart == F.at(10) && o.lastEnd == F.at(75))
        #expect(report.clusters.map(\.name) == ["prod-a"] && report.clusters[0].count(.done) == 2)

        let done = try #require(report.vms.first { $0.name == "done-01" }?.jobs.first)
        #expect(done.moves.map { "\($0.file): \($0.from ?? "?") → \($0.to ?? "?") \($0.bytes)" }
                == ["config: old-01 → new-01 \(F.gib)", "Hard disk 1: old-02 → new-01 \(9 * F.gib)"])
        #expect(done.rate == Double(10 * F.gib) / 50)
        #expect(done.attempts == 1 && done.started == F.at(10) && done.ended == F.at(60))
        let host = try #require(report.vms.first { $0.name == "both-09" }?.jobs.first { $0.kind == "host" })
        #expect(host.moves.map { "\($0.from ?? "?") → \($0.to ?? "?")" } == ["esx-01 → esx-02"])
        // Not dispatched: the file moves are not placed yet; the datastores the VM is on are shown.
        let pending = try #require(report.vms.first { $0.name == "pending-06" }?.jobs.first)
        #expect(pending.moves.map { "\($0.from ?? "?") → \($0.to ?? "?")" } == ["old-01, old-02 → ?"])
        #expect(report.vms.first { $0.name == "there-08" }?.bytesDone == 0)
    }

    @Test("a run killed half-way: no end recorded, interrupted; finished are exactly the jobs journaled done")
    func killedRun() throws {
        let fixture = F()
        defer { fixture.remove() }
        try fixture.write([F.move(1, "a", state: .done, start: 1, end: 20), F.move(2, "b", state: .running, start: 5),
                           F.move(3, "c", state: .dispatching, start: nil), F.move(4, "d", state: .done, start: 2, end: 31)],
                          outcome: nil, endedAt: nil)
        let report = try RunReport.read(journalAt: fixture.path)
        #expect(report.ending == .interrupted)
        #expect(report.endedAt == F.at(31), "the last instant the journal knows")
        #expect(report.vms.filter { $0.result == .done }.map(\.name) == ["a", "d"])
        #expect(report.overall.count(.unfinished) == 2)
        #expect(try RunReport.read(journalAt: fixture.path, failure: "the backend went away").ending == .failed("the backend went away"))
        let csv = ReportCSV.text(report)
        #expect(csv.split(separator: "\r\n").filter { $0.hasSuffix(",done,") }.count == 4, "two files each for a and d\n\(csv)")
    }

    @Test("report.csv: the documented columns, one row per file move, quoting, no formula from a VM name")
    func csv() throws {
        let fixture = F()
        defer { fixture.remove() }
        try fixture.write(Self.mixedJobs() + [F.move(20, "=HYPERLINK(\"http://x\"),evil", state: .failed, attempts: 1, start: 80, end: 90,
                                                      error: "line one\nline two, with \"quotes\"")])
        let report = try RunReport.read(journalAt: fixture.path)
        let text = ReportCSV.text(report)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.first == ReportCSV.columns.joined(separator: ","))
        #expect(ReportCSV.columns == ["vm", "vm_ref", "cluster", "job", "kind", "proactive", "file", "from", "to", "bytes", "job_bytes",
                                      "queued", "start", "end", "seconds", "rate_mib_s", "attempts", "result", "reason"])
        #expect(lines.contains("done-01,VirtualMachine:vm-1,prod-a,1,storage,no,Hard disk 1,old-02,new-01,\(9 * F.gib),\(10 * F.gib),"
                               + "2027-01-15T08:00:09.000Z,2027-01-15T08:00:10.000Z,2027-01-15T08:01:00.000Z,50.0,204.80,1,done,"), "\(text)")
        #expect(text.contains("\"'=HYPERLINK(\"\"http://x\"\"),evil\",VirtualMachine:vm-20,"), "\(text)")
        #expect(text.contains(",failed,\"line one\nline two, with \"\"quotes\"\"\"\r\n"))
        #expect(text.contains("both-09,VirtualMachine:vm-9,prod-a,9,host,no,,esx-01,esx-02,0,0,"))
        // Storage moves: 2 rows each once dispatched (pending-06 has 1: its files are not placed).
        #expect(lines.count - 2 == 2 * 9 + 1 + 1, "\(lines.count) lines")
    }

    @Test("report.html: self-contained, every figure in its element, names escaped, no credentials")
    func page() throws {
        let fixture = F()
        defer { fixture.remove() }
        try fixture.write(Self.mixedJobs() + [F.move(20, "<script>alert(1)</script>", state: .done, start: 80, end: 90)])
        let html = ReportPage.html(try RunReport.read(journalAt: fixture.path))
        #expect(html.contains("<b id=\"vms-total\">10</b>") && html.contains("<b id=\"vms-done\">3</b>") && html.contains("<b id=\"vms-failed\">2</b>"))
        #expect(html.contains("<b id=\"makespan\">1m40s</b>") && html.contains("<b id=\"started\">2027-01-15 08:00:00 UTC</b>"))
        #expect(html.contains("<b id=\"outcome\" class=\"outcome-ok\">completed</b>"))
        #expect(html.contains("data-name=\"prod-a\" data-vms=\"10\" data-done=\"3\" data-failed=\"2\""))
        #expect(html.contains("config: old-01 → new-01<br>Hard disk 1: old-02 → new-01"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert(1)"))
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import") && !html.contains("url("), "nothing loaded from anywhere")
        #expect(html.contains("id=\"timeline-data\">{\"v\":1"))
    }

    @Test("a missing file, a file that is not a journal, a newer journal, an empty journal: each refused with what to do")
    func refusals() throws {
        let fixture = F()
        defer { fixture.remove() }
        #expect(throws: JournalError.cannotOpen(path: fixture.path, reason: "no such file")) { try RunReport.read(journalAt: fixture.path) }
        try "not a database, just text\n".write(toFile: fixture.path, atomically: true, encoding: .utf8)
        #expect(throws: JournalError.notAJournal(path: fixture.path)) { try RunReport.read(journalAt: fixture.path) }
        fixture.remove()

        let journal = try Journal(path: fixture.path)
        journal.close()
        #expect(throws: JournalError.cannotOpen(path: fixture.path, reason: "it holds no run yet")) { try RunReport.read(journalAt: fixture.path) }
        // A migration this build does not know: a newer Moonmotion wrote it.
        let db = try DatabaseQueue(path: fixture.path)
        try db.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        try db.close()
        #expect(throws: JournalError.newerSchema(path: fixture.path, migrations: ["v99-from-the-future"])) { try RunReport.read(journalAt: fixture.path) }
    }

    @Test("a journal an older Moonmotion wrote (v1 schema: no file moves, no blocked jobs) reports, read-only, unchanged")
    func olderJournal() throws {
        let fixture = F()
        defer { fixture.remove() }
        try fixture.write(Self.mixedJobs())
        let old = try DatabaseQueue(path: fixture.path)
        try old.write { db in
            try db.execute(sql: "ALTER TABLE runs DROP COLUMN vcenter_uuid")
            try db.execute(sql: "ALTER TABLE jobs DROP COLUMN moves")
            try db.execute(sql: "ALTER TABLE jobs DROP COLUMN cannot_move")
            try db.execute(sql: "ALTER TABLE jobs DROP COLUMN last_fault")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier <> 'v1'")
        }
        try old.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: fixture.path))
        let report = try RunReport.read(journalAt: fixture.path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.path)) == before, "reading changed nothing (no upgrade)")
        #expect(report.overall.vms == 9 && report.overall.count(.done) == 2 && report.overall.count(.failed) == 2)
        // Without the file moves, a job shows the datastores the VM was on and its target.
        let done = try #require(report.vms.first { $0.name == "done-01" }?.jobs.first)
        #expect(done.moves.map { "\($0.from ?? "?") → \($0.to ?? "?") \($0.bytes)" } == ["old-01, old-02 → new-01 \(10 * F.gib)"])
        // A VM that could not move was journaled as a plain skip then.
        #expect(report.vms.first { $0.name == "blocked-03" }?.result == .skipped)
        #expect(ReportCSV.text(report).contains("done-01,VirtualMachine:vm-1,prod-a,1,storage,no,,old-01, old-02,") == false)
        #expect(ReportCSV.text(report).contains("done-01,VirtualMachine:vm-1,prod-a,1,storage,no,,\"old-01, old-02\",new-01,"))
    }

    @Test("a journaled plan (run --plan) gives the page its planned-vs-actual part; without one there is none")
    func plannedVersusActual() throws {
        let planJSON = Data("""
            {"title": "wave1.lua, simulated", "makespanSeconds": 50, "totals": {"vmsMoved": 4, "bytesMoved": 42949672960},
             "clusters": [{"cluster": "ClusterComputeResource:domain-c1", "finishSeconds": 50, "bytesMoved": 42949672960}],
             "clusterCounters": [{"id": "domain-c1", "name": "prod-a"}], "hosts": []}
            """.utf8)
        let plan = try ReportPlan(planJSON: planJSON)
        #expect(plan.clusters.map { "\($0.name) \($0.finishSeconds) \($0.bytes)" } == ["prod-a 50.0 \(40 * F.gib)"] && plan.vms == 4)
        #expect(plan.rateMBps == nil && plan.setupSeconds == nil, "a plan without its rate model")
        // The rate model, which `run --plan` hands the change-window rule as its first prediction.
        var withRates = try JSONSerialization.jsonObject(with: planJSON) as! [String: Any]
        withRates["rateModel"] = ["storageVMotionMBps": 400, "storageVMotionOverheadSeconds": 15, "arrays": [], "limitsEnforced": true]
        let rated = try ReportPlan(planJSON: try JSONSerialization.data(withJSONObject: withRates))
        #expect(rated.rateMBps == 400 && rated.setupSeconds == 15)
        #expect(try JSONDecoder().decode(ReportPlan.self, from: Data(try rated.json().utf8)) == rated, "the journaled summary keeps it")
        #expect(throws: (any Error).self) { try ReportPlan(planJSON: Data("{\"title\": \"x\"}".utf8)) }
        do {
            _ = try ReportPlan(planJSON: Data("{\"title\": \"x\"}".utf8))
        } catch {
            #expect("\(error)" == "not a plan.json of `moonmotion plan --out DIR` (no field makespanSeconds)")
        }

        let fixture = F()
        defer { fixture.remove() }
        try fixture.write(Self.mixedJobs())
        #expect(try RunReport.read(journalAt: fixture.path).plan == nil)
        #expect(!ReportPage.html(try RunReport.read(journalAt: fixture.path)).contains("id=\"plan\""))
        let journal = try Journal(path: fixture.path)
        try journal.recordPlan(try #require(try journal.latestRun()).id, json: try plan.json(), at: F.at(0))
        journal.close()
        let report = try RunReport.read(journalAt: fixture.path)
        #expect(report.plan == plan)
        let html = ReportPage.html(report)
        // Actual: first start 10 s, last end 75 s → 65 s; 2 VMs done; prod-a's last end 75 s.
        #expect(html.contains("id=\"plan-makespan\">50s<") && html.contains("id=\"actual-makespan\">1m05s<"), "\(html)")
        #expect(html.contains("id=\"plan-vms\">4<") && html.contains("id=\"actual-vms\">2<"))
        #expect(html.contains("<tr class=\"plan-cluster\" data-name=\"prod-a\"><td>prod-a finishes</td><td class=\"num\">50s</td><td class=\"num\">1m05s</td><td class=\"num\">1.30 ×</td></tr>"))
        // The status of the same journal still reads (it looks for the event types it knows).
        #expect(try RunStatus.read(journalAt: fixture.path).progress.overall.jobs == 10)
    }

    @Test("a windowed run: the windows from its boundary events, each one's latest end past the close beside that move's recorded prediction error, bands in the chart's data")
    func changeWindows() throws {
        let fixture = F()
        defer { fixture.remove() }
        let (jobs, events) = F.windowedRun()
        try fixture.write(jobs, endedAt: 300, events: events)
        let report = try RunReport.read(journalAt: fixture.path)
        #expect(report.windows.map { "\($0.start.timeIntervalSince(F.t0))-\($0.end.timeIntervalSince(F.t0))" } == ["0.0-100.0", "200.0-300.0"])
        let first = try #require(report.windows.first), second = try #require(report.windows.last)
        // w1-a ended 10 s past the close, 20 s later than it was predicted to.
        #expect(first.started == 2 && first.overrunVM == "w1-a" && first.overrun == 10 && first.predictionError == 20)
        // w2-a ended 30 s before the close, 10 s sooner than predicted.
        #expect(second.started == 1 && second.overrun == -30 && second.predictionError == -10)
        #expect(report.timeline.contains("\"win\":[0,100,200,300]"), "\(report.timeline)")
        let html = ReportPage.html(report)
        #expect(html.contains("data-started=\"2\" data-overrun=\"10\" data-error=\"20\""), "\(html)")
        #expect(html.contains("data-started=\"1\" data-overrun=\"-30\" data-error=\"-10\""))
        #expect(html.contains("id=\"window-key\""))

        // Without windows: no section, no key, no bands in the data.
        let plain = F()
        defer { plain.remove() }
        try plain.write(Self.mixedJobs())
        let unwindowed = try RunReport.read(journalAt: plain.path)
        #expect(unwindowed.windows.isEmpty && !unwindowed.timeline.contains("\"win\""))
        #expect(!ReportPage.html(unwindowed).contains("id=\"windows\"") && !ReportPage.html(unwindowed).contains("window-key"))
    }

    @Test("the report is written into the directory (created), both files replaced whole on a second write")
    func writer() throws {
        let fixture = F()
        defer { fixture.remove() }
        try fixture.write(Self.mixedJobs())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-report-out-\(UUID().uuidString)/nested")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let report = try RunReport.read(journalAt: fixture.path)
        try ReportWriter.write(report, to: dir.path)
        let written = try ReportWriter.write(report, to: dir.path)
        #expect(try String(contentsOfFile: written.html, encoding: .utf8) == ReportPage.html(report))
        #expect(try String(contentsOfFile: written.csv, encoding: .utf8) == ReportCSV.text(report))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["report.html", "report.csv"])
    }
}

extension Job {
    /// The same job for another VM.
    func with(vm: MoRef) -> Job {
        Job(id: id, vm: vm, vmName: vmName, cluster: cluster, kind: kind, label: label, size: size, state: state, attempts: attempts,
            lastError: lastError, lastFault: lastFault, taskRef: taskRef, target: target, sourceHost: sourceHost, sourceDatastores: sourceDatastores,
            createdAt: createdAt, dispatchedAt: dispatchedAt, startedAt: startedAt, finishedAt: finishedAt, moves: moves, cannotMove: cannotMove)
    }
}
