import Foundation
import MigrationEngine
import StatusServer
import Testing
import TestSupport
import VCenterModel

@Suite("status page in a browser")
struct StatusPageBrowserTests {
    @Test("headless Chromium draws the page from /events: phase, totals, clusters, running tasks, failures in the DOM",
          .enabled(if: HeadlessChromium.path != nil, "Debian's chromium is not installed (scripts/install-deps installs it): the page is not tested in a browser"))
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
        let dom = try await HeadlessChromium.run("http://127.0.0.1:\(port)/?token=\(token)", ["--virtual-time-budget=4000", "--dump-dom"])
        #expect(dom.contains("id=\"phase\" class=\"phase phase-done\">done (stopped)<"), "\(dom.prefix(3000))")
        #expect(dom.contains("id=\"overall-vms\">1 / 4<"))
        // IEC units, as ByteUnits.format writes them everywhere else (140e9 and 300e9 bytes).
        #expect(dom.contains("id=\"overall-bytes\">\(ByteUnits.format(Int64(140_000_000_000))) / \(ByteUnits.format(Int64(300_000_000_000)))<"),
                "\(dom.prefix(3000))")
        #expect(dom.contains("id=\"overall-bytes\">130.4 GiB / 279.4 GiB<"))
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
          .enabled(if: HeadlessChromium.path != nil, "Debian's chromium is not installed (scripts/install-deps installs it)"))
    func pageWithoutToken() async throws {
        let server = try StatusServer(address: try ListenAddress(parsing: "127.0.0.1:0"), token: token,
                                      source: StatusServer.Source(status: { sampleStatus() }))
        let port = try await server.start()
        defer { Task { await server.stop() } }
        let dom = try await HeadlessChromium.run("http://127.0.0.1:\(port)/", ["--virtual-time-budget=2000", "--dump-dom"])
        #expect(dom.contains("401"))
        #expect(!dom.contains("prod-a") && !dom.contains("db-01"))
    }
}
