import Foundation
import MigrationEngine
import StatusServer
import Testing

/// Debian's headless Chromium (scripts/install-deps installs it), if present.
enum Chromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs Chromium headless on `url` with `arguments` and returns its stdout. It waits on a
    /// thread of its own: blocking the (two-thread) cooperative pool would starve the server
    /// the browser talks to.
    static func run(_ url: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { c in
            Thread.detachNewThread { c.resume(with: Result { try runBlocking(url, arguments) }) }
        }
    }

    private static func runBlocking(_ url: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("mm-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(profile.path)"] + arguments + [url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read while it runs (a DOM larger than the pipe's buffer must not block it).
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("status page in a browser")
struct StatusPageBrowserTests {
    @Test("headless Chromium draws the page from /events: phase, totals, clusters, running tasks, failures in the DOM",
          .enabled(if: Chromium.path != nil, "Debian's chromium is not installed (scripts/install-deps installs it): the page is not tested in a browser"))
    func pageInChromium() async throws {
        // A run that has just ended: the page then closes its event stream, and headless
        // Chromium's virtual time (which waits while a stream is open) runs out and dumps the DOM.
        let status = sampleStatus(phase: .done, ended: true)
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: token,
                                      source: StatusServer.Source(status: { status }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        // The page opened as a user would, with its token in the address; the DOM after its
        // script has had the first events.
        let dom = try await Chromium.run("http://127.0.0.1:\(port)/?token=\(token)", ["--virtual-time-budget=4000", "--dump-dom"])
        #expect(dom.contains("id=\"phase\" class=\"phase phase-done\">done (stopped)<"), "\(dom.prefix(3000))")
        #expect(dom.contains("id=\"overall-vms\">1 / 4<"))
        #expect(dom.contains("id=\"overall-bytes\">140.0 GB / 300.0 GB<"))
        #expect(dom.contains("id=\"running-count\">1<"))
        #expect(dom.contains("class=\"cluster\" data-name=\"prod-a\" data-done=\"1\" data-jobs=\"4\""))
        // A VM named like markup is shown as text, never parsed.
        #expect(dom.contains("<td>&lt;b&gt;web&lt;/b&gt;-02</td>"))
        #expect(!dom.contains("<b>web</b>-02</td>"))
        #expect(dom.contains("esx-01</td>") && dom.contains("old-01 → new-01</td>"))
        #expect(dom.contains(" 40%"))
        #expect(dom.contains("<li>app-03: failed: FileLocked: the disk is locked</li>"))
        #expect(!dom.contains(token), "the token is not written into the page")
    }

    @Test("without its token the page shows nothing of the run",
          .enabled(if: Chromium.path != nil, "Debian's chromium is not installed (scripts/install-deps installs it)"))
    func pageWithoutToken() async throws {
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: token,
                                      source: StatusServer.Source(status: { sampleStatus() }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        let dom = try await Chromium.run("http://127.0.0.1:\(port)/", ["--virtual-time-budget=2000", "--dump-dom"])
        #expect(dom.contains("401"))
        #expect(!dom.contains("prod-a") && !dom.contains("db-01"))
    }
}
