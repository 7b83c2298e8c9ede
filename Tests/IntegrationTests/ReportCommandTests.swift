import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 14, point 4: the run report. `run --report DIR` at the end of a run (also after
/// Ctrl-C), and `moonmotion report JOURNAL --out DIR` from the journal of a run killed with
/// SIGKILL half-way, judged against the journal (read by Python's sqlite3, not by Moonmotion)
/// and the test vCenter's own accounting.
@Suite("run report on the test vCenter")
struct ReportCommandTests {
    static let topology = TestVCenter.Options(clusters: 2, hosts: 4, vms: 15, speed: 500)
    static let vmCount = 30
    static let datastores = Set((1...4).map { String(format: "legacy-%02d", $0) } + (1...4).map { String(format: "new-%02d", $0) })

    @Test("kill -9 half-way, then `moonmotion report`: the VMs it lists as moved are exactly those the journal records done, each really moved")
    func reportOfKilledRun() async throws {
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        // 150×, not the suite's 500×, until the kill: at 500× the whole run takes some 35 s,
        // and once in ten loaded suite runs it ended before a journal read (a Python process,
        // which returns nothing while the writer holds the file) saw a third of it done.
        try await vc.setConfig(.init(speed: 150))
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("wave.journal").path
        let run = try BackgroundMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"),
                                            "--journal", journal], directory: dir)
        // Half-way, as the journal tells: a third of the VMs recorded done (an observed event,
        // not a delay; bounded).
        let start = Date()
        var done: [String] = []
        while run.isRunning, Date().timeIntervalSince(start) < 240 {
            done = try await Self.journalQuery(journal, "SELECT vm_name FROM jobs WHERE state = 'done' AND attempts > 0")
            if done.count >= Self.vmCount / 3 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let stillRunning = run.isRunning
        run.signal(SIGKILL)
        let killed = await run.finish()
        #expect(stillRunning && killed.status == SIGKILL, "the run ended before kill -9: \(killed.stdout)\n\(killed.stderr)")
        #expect(done.count >= Self.vmCount / 3 && done.count < Self.vmCount, "\(done.count) done at the kill")
        try await vc.setConfig(.init(speed: Self.topology.speed))

        let out = dir.appendingPathComponent("report")
        let report = try await runMoonmotion(["report", journal, "--out", out.path], directory: dir, timeout: 60)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("report.html") && report.stdout.contains("report.csv"), "\(report.stdout)")
        let rows = try CSVRows(contentsOf: out.appendingPathComponent("report.csv"))
        let byVM = Dictionary(grouping: rows.records, by: { $0["vm"]! })
        let movedInReport = Set(byVM.filter { $0.value.allSatisfy { $0["result"] == "done" } }.keys)

        // Exactly what the journal records done (read independently, after the kill)...
        let journaled = Set(try await Self.journalQuery(journal, "SELECT vm_name FROM jobs WHERE state = 'done'"))
        #expect(movedInReport == journaled)
        #expect(byVM.count == Self.vmCount, "every VM of the run has a row")
        // ...and each of them really moved, once, onto the new datastores.
        let stats = try await vc.stats()
        let moved = stats.storageMoves(datastores: Self.datastores)
        for vm in movedInReport { #expect(moved[vm] == 1, "\(vm) is reported moved; the test vCenter moved it \(moved[vm] ?? 0) times") }
        // The others are those the journal had not recorded done: still copying at the kill, or
        // finished in vCenter after the last committed step (--resume records them), or not started.
        #expect(moved.count >= movedInReport.count)
        for record in rows.records where record["result"] == "done" {
            #expect(record["to"]?.hasPrefix("new-") == true && record["from"]?.hasPrefix("legacy-") == true, "\(record)")
        }

        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<b id=\"vms-done\">\(movedInReport.count)</b>"))
        #expect(html.contains("id=\"outcome\" class=\"outcome-bad\">interrupted"), "\(html.prefix(2000))")

        // The journal is still whole: --resume finishes the run, and its --report lists every VM moved.
        let final = try await runMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"),
                                             "--journal", journal, "--resume", "--report", out.path], directory: dir, timeout: 300)
        #expect(final.status == 0, "\(final.stdout)\n\(final.stderr)")
        #expect(final.stdout.contains("report: \(out.path)/report.html"), "\(final.stdout)")
        let after = try CSVRows(contentsOf: out.appendingPathComponent("report.csv"))
        #expect(Set(after.records.filter { $0["result"] == "done" }.map { $0["vm"]! }).count == Self.vmCount)
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(page.contains("<b id=\"vms-done\">\(Self.vmCount)</b>") && page.contains("class=\"outcome-ok\">completed<"))
    }

    @Test("Ctrl-C: the run stops, and --report is written all the same, the run's outcome stopped")
    func reportAfterInterrupt() async throws {
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("wave.journal").path
        let out = dir.appendingPathComponent("out")
        // 150×, as for the kill test above: at 500× the run once ended (status 0) before the
        // journal reads saw three moves done and the Ctrl-C came.
        try await vc.setConfig(.init(speed: 150))
        let run = try BackgroundMoonmotion(["run", "--url", vc.urlWithCredentials.absoluteString, examplePath("storage-migration.lua"),
                                            "--journal", journal, "--report", out.path], directory: dir)
        let start = Date()
        while run.isRunning, Date().timeIntervalSince(start) < 240 {
            if try await Self.journalQuery(journal, "SELECT id FROM jobs WHERE state = 'done' AND attempts > 0").count >= 3 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        run.signal(SIGINT)
        let stopped = await run.finish(timeout: 240)
        #expect(stopped.status == 130, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(stopped.stdout.contains("report: \(out.path)/report.html"), "\(stopped.stdout)")
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("id=\"outcome\" class=\"outcome-warn\">stopped<"), "\(html.prefix(2000))")
        let rows = try CSVRows(contentsOf: out.appendingPathComponent("report.csv"))
        #expect(rows.records.contains { $0["result"] == "done" } && rows.records.contains { $0["result"] == "not-started" })
    }

    @Test("`moonmotion report` refuses what is not a journal, saying so, and writes nothing")
    func refusals() async throws {
        let dir = try scriptDirectory(["notes.txt": "not a journal\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try await runMoonmotion(["report", "nowhere.journal", "--out", "r"], directory: dir)
        #expect(missing.status == 1 && missing.stderr.contains("cannot open the journal nowhere.journal: no such file"), "\(missing.stderr)")
        let text = try await runMoonmotion(["report", "notes.txt", "--out", "r"], directory: dir)
        #expect(text.status == 1 && text.stderr.contains("notes.txt is not a Moonmotion journal"), "\(text.stderr)")
        let noOut = try await runMoonmotion(["report", "notes.txt"], directory: dir)
        #expect(noOut.status != 0 && noOut.stderr.contains("--out"), "\(noOut.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r").path))
        let conflicting = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--no-journal", "--report", "r"],
                                                  directory: dir, environment: noVCenter)
        #expect(conflicting.status != 0 && conflicting.stderr.contains("--report is made from the run's journal"), "\(conflicting.stderr)")
    }

    @Test("run --plan: the plan `moonmotion plan --out` wrote is journaled, and the report sets the run beside it")
    func planBesideTheRun() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let inventory = ["--generate", "clusters=2,hosts=4,vms=16"]
        let plan = try await runMoonmotion(["plan", examplePath("storage-migration.lua"), "--out", "plan"] + inventory,
                                           directory: dir, environment: noVCenter, timeout: 120)
        #expect(plan.status == 0, "\(plan.stderr)")
        let run = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--speed", "20000", "--plan", "plan/plan.json",
                                           "--report", "report"] + inventory, directory: dir, environment: noVCenter, timeout: 300)
        #expect(run.status == 0, "\(run.stderr)")
        let html = try String(contentsOf: dir.appendingPathComponent("report/report.html"), encoding: .utf8)
        #expect(html.contains("<h2>Planned vs actual</h2>") && html.contains("id=\"plan-vms\">16<") && html.contains("id=\"actual-vms\">16<"),
                "\(html.prefix(4000))")
        #expect(html.contains("class=\"plan-cluster\" data-name=\"cluster-1\"") && html.contains("class=\"plan-cluster\" data-name=\"cluster-2\""))
        // Made again from the journal alone, the plan is still there.
        let again = try await runMoonmotion(["report", "report/storage-migration.journal", "--out", "again"], directory: dir, timeout: 60)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOf: dir.appendingPathComponent("again/report.html"), encoding: .utf8).contains("id=\"plan-makespan\""))
        // Not a plan: refused before anything starts.
        let wrong = try await runMoonmotion(["run", examplePath("storage-migration.lua"), "--plan", "plan/plan.txt", "--report", "r2"] + inventory,
                                            directory: dir, environment: noVCenter, timeout: 60)
        #expect(wrong.status == 1 && wrong.stderr.contains("--plan plan/plan.txt: not a plan.json of `moonmotion plan --out DIR` (not JSON)"),
                "\(wrong.stderr)")
    }

    /// The first column of `sql`'s rows over the journal, read-only by Python's sqlite3 (a
    /// reader independent of Moonmotion's); nothing while the file does not exist yet.
    static func journalQuery(_ path: String, _ sql: String) async throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let script = "import sqlite3,sys\ntry:\n  db=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n"
            + "  for r in db.execute(sys.argv[2]): print(r[0])\nexcept sqlite3.Error:\n  pass"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path, sql]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        _ = await reapChild(process, what: "python3 (journal query)")
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// `report.csv` read back: RFC 4180 fields, rows by column name.
struct CSVRows {
    let text: String
    let records: [[String: String]]

    init(contentsOf url: URL) throws {
        text = try String(contentsOf: url, encoding: .utf8)
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.unicodeScalars.append(c); chars.removeFirst() } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\r" {
                continue
            } else if c == "\n" {
                row.append(field); field = ""
                rows.append(row); row = []
            } else {
                field.unicodeScalars.append(c)
            }
        }
        guard let header = rows.first else { throw HarnessError("an empty CSV") }
        records = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}
