import Foundation
import Testing
import TestSupport

/// No password, session cookie or session id (vim25's cookie, the Automation API's
/// `vmware-api-session-id`, its basic-auth login; every key and id the test vCenter handed out,
/// also after the run's sessions were ended under it) reaches anything moonmotion writes or shows:
/// stdout, stderr (at trace logging), the journal, the events file, the run report, plan outputs, or the
/// process's command line as other users see it (`/proc/PID/cmdline`). One test drives every
/// command against a TLS test vCenter whose password contains `/`, `@`, `:` and `!`, then
/// searches every byte produced.
@Suite struct SecretsTests {
    static let password = "S3cr3t/P@ss:w0rd!"

    /// What must never appear: the password as typed, its percent-encoded form, vCenter's
    /// session cookie name and the Automation API's session header (their values are only ever
    /// sent next to them).
    static var forbidden: [String] {
        [password, password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password, "vmware_soap_session",
         "vmware-api-session-id"]
    }

    @Test("every output of every command is free of the password and the session cookie")
    func noSecretInAnyOutput() async throws {
        // With tags, so every command also logs in to the Automation REST API (over the pinned TLS).
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 2, vms: 6, tls: true, password: Self.password, speed: 200,
                                                   extraArgs: ["-tag", "migration-wave=wave-1|wave-2"]))
        defer { vc.stop() }
        let dir = try scriptDirectory([
            "peek.lua": """
                local mm = require "moonmotion"
                local conn = mm.connect()
                print(conn, conn.url, conn.name, tostring(conn))
                print(pcall(function() return conn.password end))
                print(pcall(function() return conn.session end))
                print(pcall(function() return conn.cookie end))
                local ok, err = pcall(mm.connect, {url = "https://127.0.0.1:1/sdk", username = "x", password = "y", connect_timeout = 1})
                print(ok, err)
                """,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = "https://\(vc.username):\(Self.password)@\(vc.hostAndPort)/sdk"
        let connection = ["--url", url, "--thumbprint", vc.thumbprintSHA256]
        let environment = ["GOVC_URL": "", "MOONMOTION_LOG": "trace", "MOONMOTION_INSECURE_HTTP": ""]
        var produced: [(String, Data)] = []
        func keep(_ what: String, _ outcome: ProcessOutcome) {
            produced.append(("\(what) stdout", Data(outcome.stdout.utf8)))
            produced.append(("\(what) stderr", Data(outcome.stderr.utf8)))
        }

        let inventory = try await runMoonmotion(["inventory", "--json"] + connection, directory: dir, environment: environment, timeout: 120)
        #expect(inventory.status == 0, "\(inventory.stderr)")
        #expect(inventory.stdout.contains("\"migration-wave:wave-2\""), "tags were not read over the pinned connection: \(inventory.stderr.suffix(2000))")
        keep("inventory", inventory)

        // A migration with a journal and an events file; its command line is read while it runs.
        let journal = dir.appendingPathComponent("migration.journal"), events = dir.appendingPathComponent("events.jsonl")
        let reportDirectory = dir.appendingPathComponent("report")
        let run = try BackgroundMoonmotion(["run"] + connection + [examplePath("storage-migration.lua"), "--journal", journal.path,
                                                                   "--events", events.path, "--report", reportDirectory.path],
                                           directory: dir, environment: environment)
        var cmdline = Data()
        for _ in 0..<200 where run.isRunning {
            if let line = FileManager.default.contents(atPath: "/proc/\(run.pid)/cmdline"), line.count > 0 { cmdline = line; break }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        // Wait until the password is hidden (it is rewritten first thing in main).
        for _ in 0..<200 where run.isRunning {
            if let line = FileManager.default.contents(atPath: "/proc/\(run.pid)/cmdline") {
                cmdline = line
                if line.range(of: Data("****".utf8)) != nil { break }
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        // End every session once the run watches tasks: its task poller's collector is gone
        // (a ManagedObjectNotFound naming `session[<key>]…`, logged) and it logs in again.
        for _ in 0..<400 where run.isRunning {
            if (try? await vc.stats().tasks.contains { $0.method == "RelocateVM_Task" }) == true { break }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        try await vc.terminateSessions()
        let finished = await run.finish(timeout: 300)
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.contains("run completed after"), "\(finished.stdout)")
        keep("run", finished)
        produced.append(("the run's command line", cmdline))
        #expect(String(decoding: cmdline, as: UTF8.self).contains("\(vc.username):*****************@"), "\(String(decoding: cmdline, as: UTF8.self))")
        for suffix in ["", "-wal", "-shm", ".lock"] {
            if let bytes = FileManager.default.contents(atPath: journal.path + suffix) { produced.append(("journal\(suffix)", bytes)) }
        }
        produced.append(("events", try Data(contentsOf: events)))
        // The run's report, and the same made again from the journal by `moonmotion report`.
        let again = dir.appendingPathComponent("report-again")
        let report = try await runMoonmotion(["report", journal.path, "--out", again.path], directory: dir, environment: environment, timeout: 120)
        #expect(report.status == 0, "\(report.stderr)")
        keep("report", report)
        for folder in [reportDirectory, again] {
            for name in ["report.html", "report.csv"] {
                produced.append(("\(folder.lastPathComponent)/\(name)", try Data(contentsOf: folder.appendingPathComponent(name))))
            }
        }

        let tasks = try await runMoonmotion(["tasks"] + connection, directory: dir, environment: environment, timeout: 120)
        #expect(tasks.status == 0, "\(tasks.stderr)")
        keep("tasks", tasks)

        let planDirectory = dir.appendingPathComponent("plan")
        let plan = try await runMoonmotion(["plan", examplePath("storage-migration.lua"), "--out", planDirectory.path] + connection,
                                           directory: dir, environment: environment, timeout: 120)
        #expect(plan.status == 0, "\(plan.stderr)")
        keep("plan", plan)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: planDirectory.path)) ?? [] {
            produced.append(("plan/\(name)", FileManager.default.contents(atPath: planDirectory.appendingPathComponent(name).path) ?? Data()))
        }
        #expect(produced.contains { $0.0 == "plan/plan.json" })

        let peek = try await runMoonmotion(["run"] + connection + ["peek.lua"], directory: dir, environment: environment, timeout: 120)
        #expect(peek.status == 0, "\(peek.stderr)")
        #expect(peek.stdout.contains("https://\(vc.username)@\(vc.hostAndPort)/sdk"), "\(peek.stdout)")
        keep("peek.lua", peek)

        let repl = try await runMoonmotion(["repl"] + connection, input: "conn = mm.connect()\nconn\nconn.url\nprint(conn)\n",
                                           directory: dir, environment: environment, timeout: 120)
        #expect(repl.status == 0, "\(repl.stderr)")
        keep("repl", repl)

        // A wrong password of the same shape: refused in one line, itself nowhere.
        let wrong = "Wr0ng/P@ss:w0rd!"
        let refused = try await runMoonmotion(["inventory", "--url", "https://\(vc.username):\(wrong)@\(vc.hostAndPort)/sdk",
                                               "--thumbprint", vc.thumbprintSHA256], directory: dir, environment: environment, timeout: 120)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("InvalidLogin"), "\(refused.stderr)")
        keep("wrong password", refused)

        #expect(produced.count >= 21)
        // Every session key (the session cookie's value) and Automation API session id handed
        // out to the commands above: the run's two logins at least, and the tags' sessions.
        let keys = try await vc.sessionKeys()
        #expect(keys.count >= 8, "\(keys.count) session keys")
        for (what, bytes) in produced {
            // The Automation API's basic-auth login carries user:password in base64.
            let basic = Data("\(vc.username):\(Self.password)".utf8).base64EncodedString()
            for secret in Self.forbidden + [wrong, basic] + keys {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(what) contains \(secret)")
            }
        }
        // The trace log did show the conversation (so the search above searched something).
        #expect(inventory.stderr.contains("RetrievePropertiesEx") || inventory.stderr.contains("trace"), "\(inventory.stderr.prefix(2000))")
    }
}
