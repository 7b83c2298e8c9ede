import Foundation
import Testing
import TestSupport

/// `moonmotion inventory` (and the connection options every command shares) as users run it:
/// the summary table against the test vCenter over HTTP and HTTPS, and each failure as one
/// line on stderr with exit status 1 — wrong password, TLS mismatch, a server that is not
/// vSphere, an unreachable host, a server that trickles, no vCenter configured at all.
@Suite(.timeLimit(.minutes(5))) struct InventoryCommandTests {
    static let topology = TestVCenter.Options(clusters: 2, hosts: 3, vms: 5, datastores: "legacy:2,new:1")

    /// The one line a failed command leaves on stderr (nothing else, nothing on stdout).
    static func oneLine(_ outcome: ProcessOutcome, _ what: String) -> String {
        let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(outcome.status == 1, "\(what): exit \(outcome.status), stderr: \(outcome.stderr)")
        #expect(lines.count == 1, "\(what): not one line: \(outcome.stderr)")
        #expect(outcome.stdout.isEmpty, "\(what): stdout: \(outcome.stdout)")
        return lines.first.map(String.init) ?? ""
    }

    /// A file holding `password`, for `--password-file`.
    static func passwordFile(_ password: String, in dir: URL) throws -> String {
        let file = dir.appendingPathComponent("pw-\(UUID().uuidString)")
        try (password + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test("the summary table over HTTP: clusters, datastores, totals")
    func tableOverHTTP() async throws {
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let pw = try Self.passwordFile(vc.password, in: dir)
        let outcome = try await runMoonmotion(["inventory", "--url", "http://\(vc.hostAndPort)", "--username", vc.username, "--password-file", pw],
                                              directory: dir, environment: ["GOVC_URL": ""], timeout: 120)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty, "\(outcome.stderr)")
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("vCenter ") == true && lines.first?.contains("http://user@\(vc.hostAndPort)/sdk") == true, "\(lines.first ?? "")")
        #expect(lines.contains { $0.hasPrefix("CLUSTER") && $0.contains("HOSTS") && $0.contains("VMS") && $0.contains("COMMITTED") })
        #expect(lines.contains { $0.hasPrefix("DATASTORE") && $0.contains("CAPACITY") && $0.contains("FREE %") })
        for cluster in ["cluster-1", "cluster-2"] {
            #expect(lines.contains { $0.hasPrefix(cluster) && $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().prefix(2) == ["3", "5"] },
                    "\(cluster) row: \(outcome.stdout)")
        }
        for datastore in ["legacy-01", "legacy-02", "new-01"] {
            #expect(lines.contains { $0.hasPrefix(datastore + " ") }, "\(datastore) row: \(outcome.stdout)")
        }
        #expect(lines.last?.hasPrefix("2 clusters, 6 hosts, 10 VMs (") == true, "\(lines.last ?? "")")
        #expect(lines.last?.contains("3 datastores (") == true)
        #expect(!outcome.stdout.contains(vc.password) && !outcome.stderr.contains(vc.password))
    }

    @Test("over HTTPS: pinned by thumbprint, or --insecure; an unknown certificate shows its thumbprint")
    func tableOverHTTPS() async throws {
        var options = Self.topology
        options.tls = true
        let vc = try await TestVCenter.start(options)
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = vc.urlWithCredentials.absoluteString
        let pinned = try await runMoonmotion(["inventory", "--url", url, "--thumbprint", vc.thumbprintSHA256], directory: dir, timeout: 120)
        #expect(pinned.status == 0, "\(pinned.stderr)")
        #expect(pinned.stdout.contains("2 clusters, 6 hosts, 10 VMs"), "\(pinned.stdout)")
        let insecure = try await runMoonmotion(["inventory", "--url", url, "--insecure", "--json"], directory: dir, timeout: 120)
        #expect(insecure.status == 0, "\(insecure.stderr)")
        #expect(try InventoryDocument.decode(Data(insecure.stdout.utf8)).vms.count == 10)

        // Not trusted and not pinned: one line with the certificate's thumbprint to pin.
        let untrusted = Self.oneLine(try await runMoonmotion(["inventory", "--url", url], directory: dir, timeout: 120), "untrusted")
        #expect(untrusted.hasPrefix("moonmotion: TLSVerificationFailed: "), "\(untrusted)")
        #expect(untrusted.contains(vc.thumbprintSHA256), "\(untrusted)")

        // A pin that does not match: both thumbprints, expected and presented.
        let wrong = (0..<32).map { _ in "AB" }.joined(separator: ":")
        let mismatch = Self.oneLine(try await runMoonmotion(["inventory", "--url", url, "--thumbprint", wrong], directory: dir, timeout: 120), "mismatch")
        #expect(mismatch.hasPrefix("moonmotion: TLSThumbprintMismatch: "), "\(mismatch)")
        #expect(mismatch.contains("expected \(wrong)"), "\(mismatch)")
        #expect(mismatch.contains("thumbprint \(vc.thumbprintSHA256)"), "\(mismatch)")
        #expect(!mismatch.contains(vc.password))

        // --insecure with a pin would drop the pin: refused, whichever way insecure comes.
        let both = Self.oneLine(try await runMoonmotion(["inventory", "--url", url, "--insecure", "--thumbprint", vc.thumbprintSHA256],
                                                        directory: dir, timeout: 120), "insecure and pinned")
        #expect(both == "moonmotion: ConfigurationError: --insecure turns certificate checks off, which would silently drop the --thumbprint pin; give one of them (a pin alone accepts exactly that certificate)",
                "\(both)")
        let fromEnv = Self.oneLine(try await runMoonmotion(["inventory", "--url", url, "--thumbprint", vc.thumbprintSHA256], directory: dir,
                                                           environment: ["GOVC_INSECURE": "1"], timeout: 120), "GOVC_INSECURE and pinned")
        #expect(fromEnv.hasPrefix("moonmotion: ConfigurationError: GOVC_INSECURE turns certificate checks off"), "\(fromEnv)")
    }

    @Test("http:// needs --insecure-http or MOONMOTION_INSECURE_HTTP=1; nothing is sent otherwise")
    func plainHTTPMustBeAllowed() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let listener = try CountingListener()
        let url = "http://admin:Sup3r-S3cret@127.0.0.1:\(listener.port)/sdk"
        let refused = Self.oneLine(try await runMoonmotion(["inventory", "--url", url], directory: dir,
                                                           environment: ["MOONMOTION_INSECURE_HTTP": ""], timeout: 120), "http refused")
        #expect(refused == "moonmotion: ConfigurationError: refusing http://admin@127.0.0.1:\(listener.port)/sdk: over plain HTTP the password and the session cookie would cross the network in clear text; use https://, or allow it for a test vCenter with --insecure-http (MOONMOTION_INSECURE_HTTP=1)",
                "\(refused)")
        #expect(listener.drain() == 0)

        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 1, vms: 1))
        defer { vc.stop() }
        let allowed = try await runMoonmotion(["inventory", "--insecure-http", "--url", vc.urlWithCredentials.absoluteString], directory: dir,
                                              environment: ["MOONMOTION_INSECURE_HTTP": ""], timeout: 120)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("1 cluster"), "\(allowed.stdout)")
    }

    @Test("a password with /, @, : and % in --url logs in as typed and is never shown")
    func passwordWithSpecialCharactersInTheURL() async throws {
        let password = "p@ss:/w%rd#1"
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 1, vms: 1, password: password))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await runMoonmotion(["inventory", "--url", "http://\(vc.username):\(password)@\(vc.hostAndPort)/sdk"], directory: dir,
                                              environment: ["GOVC_URL": ""], timeout: 120)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("http://\(vc.username)@\(vc.hostAndPort)/sdk"), "\(outcome.stdout)")
        #expect(!outcome.stdout.contains("w%rd") && !outcome.stderr.contains("w%rd"))
        // A wrong one of the same kind: one InvalidLogin line, without it.
        let wrong = "wr@ng:/p%ss"
        let refused = Self.oneLine(try await runMoonmotion(["inventory", "--url", "http://\(vc.username):\(wrong)@\(vc.hostAndPort)/sdk"],
                                                           directory: dir, environment: ["GOVC_URL": ""], timeout: 120), "wrong password")
        #expect(refused.hasPrefix("moonmotion: InvalidLogin: ") && !refused.contains("p%ss") && !refused.contains("wr@ng"), "\(refused)")
    }

    @Test("a wrong password is one InvalidLogin line, exit 1, the password nowhere")
    func invalidLogin() async throws {
        let vc = try await TestVCenter.start(.init(clusters: 1, hosts: 1, vms: 1))
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = "Wr0ng-\(UUID().uuidString.prefix(8))"
        let fromFile = Self.oneLine(try await runMoonmotion(
            ["inventory", "--url", "http://\(vc.hostAndPort)", "--username", vc.username, "--password-file", try Self.passwordFile(secret, in: dir)],
            directory: dir, environment: ["GOVC_URL": ""], timeout: 120), "password file")
        #expect(fromFile.hasPrefix("moonmotion: InvalidLogin: "), "\(fromFile)")
        #expect(!fromFile.contains(secret))
        // In the URL (GOVC_URL style) and in the environment: the same line, no password.
        let inURL = try await runMoonmotion(["inventory", "--json", "--url", "http://\(vc.username):\(secret)@\(vc.hostAndPort)"], directory: dir, timeout: 120)
        let fromURL = Self.oneLine(inURL, "password in the URL")
        #expect(fromURL.hasPrefix("moonmotion: InvalidLogin: ") && !fromURL.contains(secret), "\(fromURL)")
        let inEnv = try await runMoonmotion(["inventory"], directory: dir,
                                            environment: ["GOVC_URL": "http://\(vc.hostAndPort)", "GOVC_USERNAME": vc.username, "GOVC_PASSWORD": secret],
                                            timeout: 120)
        let fromEnv = Self.oneLine(inEnv, "GOVC_PASSWORD")
        #expect(fromEnv.hasPrefix("moonmotion: InvalidLogin: ") && !fromEnv.contains(secret), "\(fromEnv)")
    }

    @Test("a web server that is not vSphere, and a port nobody listens on: one line each")
    func notVSphereAndUnreachable() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let web = try TinyHTTPServer(.webPage)
        defer { web.stop() }
        let notVSphere = Self.oneLine(try await runMoonmotion(["inventory", "--url", "http://u:secret-pw@127.0.0.1:\(web.port)"], directory: dir, timeout: 120), "web page")
        #expect(notVSphere.hasPrefix("moonmotion: NotVSphere: "), "\(notVSphere)")
        #expect(notVSphere.contains("127.0.0.1:\(web.port)") && notVSphere.contains("text/html"), "\(notVSphere)")
        #expect(!notVSphere.contains("secret-pw"))

        let gone = try TinyHTTPServer(.webPage)
        let port = gone.port
        gone.stop()
        let unreachable = Self.oneLine(try await runMoonmotion(["inventory", "--url", "http://u:secret-pw@127.0.0.1:\(port)", "--connect-timeout", "5"],
                                                               directory: dir, timeout: 120), "unreachable")
        #expect(unreachable.hasPrefix("moonmotion: ConnectionFailed: cannot connect to 127.0.0.1:\(port): connection refused"), "\(unreachable)")
        #expect(!unreachable.contains("secret-pw"))
    }

    @Test("--read-timeout bounds a server that trickles its answer")
    func tricklingServerTimesOut() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        let trickle = try TinyHTTPServer(.trickle(interval: 0.5))
        defer { trickle.stop() }
        let start = Date()
        let outcome = try await runMoonmotion(["inventory", "--url", "http://u:p@127.0.0.1:\(trickle.port)", "--read-timeout", "2"], directory: dir, timeout: 90)
        let line = Self.oneLine(outcome, "trickle")
        // Normally the rate bound ("… is sending the RetrieveServiceContent response too slowly");
        // on a starved machine the trickle may stall past the read timeout instead.
        #expect(line.hasPrefix("moonmotion: Timeout: 127.0.0.1:\(trickle.port) "), "\(line)")
        #expect(Date().timeIntervalSince(start) < 60)  // 2 s read timeout; generous for a loaded machine
        // The same bound from Lua: mm.connect{read_timeout=}.
        let script = try scriptDirectory(["slow.lua": """
            local mm = require "moonmotion"
            local ok, err = pcall(mm.connect, {url = "http://u:p@127.0.0.1:\(trickle.port)", read_timeout = 2})
            print(ok, err)
            """])
        defer { try? FileManager.default.removeItem(at: script) }
        let lua = try await runMoonmotion(["run", "slow.lua"], directory: script, timeout: 90)
        #expect(lua.status == 0, "\(lua.stderr)")
        #expect(lua.stdout.hasPrefix("false\tTimeout: 127.0.0.1:\(trickle.port) "), "\(lua.stdout)")
    }

    @Test("no vCenter configured: inventory and tasks refuse in one line unless --simulate or --generate; tasks --simulate says where simulated tasks are")
    func noVCenterNeedsSimulate() async throws {
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        for command in [["inventory", "--json"], ["inventory"], ["tasks"]] {
            let line = Self.oneLine(try await runMoonmotion(command, directory: dir, environment: noVCenter, timeout: 60), "\(command)")
            let simulate = command[0] == "tasks" ? "" : ", or --simulate to use the built-in simulated vCenter"
            #expect(line == "moonmotion: no vCenter configured: give --url [user@]host (or set GOVC_URL, with GOVC_USERNAME and GOVC_PASSWORD)" + simulate,
                    "\(command): \(line)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("inv.json").path))

        let simulated = try await runMoonmotion(["inventory", "--json", "--simulate"], directory: dir, environment: noVCenter, timeout: 120)
        #expect(simulated.status == 0, "\(simulated.stderr)")
        #expect(simulated.stderr.hasPrefix("moonmotion: --simulate: using the built-in simulated vCenter"), "\(simulated.stderr)")
        #expect(try InventoryDocument.decode(Data(simulated.stdout.utf8)).vms.count == 600, "the demo inventory, as run simulates")

        let generated = try await runMoonmotion(["inventory", "--json", "--generate", "clusters=1,hosts=2,vms=7"], directory: dir, environment: noVCenter, timeout: 60)
        #expect(generated.status == 0, "\(generated.stderr)")
        #expect(try InventoryDocument.decode(Data(generated.stdout.utf8)).vms.count == 7)

        // A new simulator never has tasks: tasks --simulate says where a simulated run's are
        // instead of answering "no tasks" (issue 13, finding 4), with or without GOVC_URL.
        for environment in [noVCenter, ["GOVC_URL": "http://u:p@127.0.0.1:1"]] {
            let tasks = try await runMoonmotion(["tasks", "--simulate"], directory: dir, environment: environment, timeout: 60)
            #expect(tasks.status == 64 && tasks.stdout.isEmpty, "\(tasks.stdout) \(tasks.stderr)")
            #expect(tasks.stderr.hasPrefix("moonmotion: tasks --simulate has nothing to list: the built-in simulated vCenter lives inside"),
                    "\(tasks.stderr)")
            #expect(tasks.stderr.contains("moonmotion status JOURNAL") && tasks.stderr.contains("conn:tasks()"), "\(tasks.stderr)")
        }

        // --simulate ignores GOVC_URL, and contradicts an explicit --url.
        let ignored = try await runMoonmotion(["inventory", "--json", "--simulate"], directory: dir, environment: ["GOVC_URL": "http://u:p@127.0.0.1:1"], timeout: 120)
        #expect(ignored.status == 0, "\(ignored.stderr)")
        let both = try await runMoonmotion(["inventory", "--simulate", "--url", "vc01"], directory: dir, environment: noVCenter, timeout: 60)
        #expect(both.status == 64 && both.stderr.contains("--simulate and --url contradict each other"), "\(both.stderr)")
        let help = try await runMoonmotion(["inventory", "--help"], directory: dir)
        for word in ["--simulate", "--generate", "--connect-timeout", "--read-timeout", "InvalidLogin"] {
            #expect(help.stdout.contains(word), "inventory --help lacks \(word)")
        }
    }

    @Test("sessions ending while the inventory is read: logged in again, every retrieval redone, exit 0")
    func reloginDuringInventory() async throws {
        let vc = try await TestVCenter.start(Self.topology)
        defer { vc.stop() }
        let dir = try scriptDirectory([:])
        defer { try? FileManager.default.removeItem(at: dir) }
        try await vc.resetStats()
        // Every retrieval of the read is held: the structure pass's, the four views' and
        // CustomFieldsManager.field's (six). Holding five let one through before the sessions
        // ended, and the run then needed no re-login (seen once: 1 Login, not 2).
        // 10 s each: with 3 s, a run whose process stalled (no test progressed for 26 s at the
        // start of one suite run) let the views' retrievals through before the sessions ended
        // (4 CreateContainerView, not 8).
        try await vc.injectFault(.delayCalls(method: "RetrievePropertiesEx", seconds: 10, count: 6))
        let command = BackgroundMoonmotionCommand(["inventory", "--json", "--url", vc.urlWithCredentials.absoluteString], directory: dir)
        // Once the four views exist, their retrievals are being held: end every session then.
        let start = Date()
        while try await vc.stats(includeTasks: false).calls("CreateContainerView") < 4 {
            #expect(Date().timeIntervalSince(start) < 60, "the inventory's views never appeared")
            if Date().timeIntervalSince(start) >= 60 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await vc.terminateSessions()
        let outcome = try await command.finish()
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let document = try InventoryDocument.decode(Data(outcome.stdout.utf8))
        #expect(document.vms.count == 10)
        #expect(document.datastores.count == 3)
        let stats = try await vc.stats(includeTasks: false)
        #expect(stats.calls("Login") == 2)  // the first, and one shared re-login
        #expect(stats.calls("CreateContainerView") == 8)
    }
}

/// `runMoonmotion` started now and awaited later (the test acts on the server meanwhile).
struct BackgroundMoonmotionCommand: Sendable {
    private let task: Task<ProcessOutcome, any Error>

    init(_ arguments: [String], directory: URL, timeout: Double = 120) {
        task = Task { try await runMoonmotion(arguments, directory: directory, timeout: timeout) }
    }

    /// Waits for it to end.
    func finish() async throws -> ProcessOutcome { try await task.value }
}
