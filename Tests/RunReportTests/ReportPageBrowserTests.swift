import Foundation
import MigrationEngine
import RunReport
import Testing
import TestSupport
import VCenterModel

@Suite("report page in a browser")
struct ReportPageBrowserTests {
    @Test("headless Chromium opens report.html from a file, offline: figures, clusters, VM rows and the drawn timeline in the DOM",
          .enabled(if: HeadlessChromium.path != nil, "Debian's chromium is not installed (scripts/install-deps installs it)"))
    func reportInChromium() async throws {
        let fixture = ReportFixture()
        defer { fixture.remove() }
        try fixture.write(RunReportTests.mixedJobs())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-report-page-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let written = try ReportWriter.write(try RunReport.read(journalAt: fixture.path), to: dir.path)
        let url = URL(fileURLWithPath: written.html).absoluteString

        let dom = try await HeadlessChromium.run(url, ["--virtual-time-budget=3000", "--dump-dom"])
        #expect(dom.contains("id=\"vms-total\">9<"), "\(dom.prefix(3000))")
        #expect(dom.contains("id=\"vms-done\">2<") && dom.contains("id=\"vms-failed\">2<") && dom.contains("id=\"vms-unfinished\">2<"))
        #expect(dom.contains("id=\"bytes-done\">20.0 GiB<") || dom.contains("id=\"bytes-done\">20 GiB<"), "\(dom.prefix(3000))")
        #expect(dom.contains("class=\"cluster\" data-name=\"prod-a\" data-vms=\"9\" data-done=\"2\" data-failed=\"2\""))
        #expect(dom.contains("data-vm=\"failed-02\" data-result=\"failed\""))
        #expect(dom.contains("FileLocked: the disk is locked"))
        // The chart's script ran: 5 jobs were dispatched (those with a dispatch or start time).
        #expect(dom.contains("data-timeline-bars=\"5\""), "\(dom.prefix(600))")

        let shot = try await HeadlessChromium.screenshot(url, name: "report-page.png")
        #expect(FileManager.default.fileExists(atPath: shot.path), "the screenshot is kept at \(shot.path)")
    }

    @Test("a windowed run's report draws its change windows: a band per window on the canvas, the windows table, the key",
          .enabled(if: HeadlessChromium.path != nil, "Debian's chromium is not installed (scripts/install-deps installs it)"))
    func windowsInChromium() async throws {
        let fixture = ReportFixture()
        defer { fixture.remove() }
        let (jobs, events) = ReportFixture.windowedRun()
        try fixture.write(jobs, endedAt: 300, events: events)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-report-windows-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let written = try ReportWriter.write(try RunReport.read(journalAt: fixture.path), to: dir.path)
        let url = URL(fileURLWithPath: written.html).absoluteString

        let dom = try await HeadlessChromium.run(url, ["--virtual-time-budget=3000", "--dump-dom"])
        // The chart fits the whole run on first draw, so both windows are in view: two bands drawn.
        #expect(dom.contains("data-window-bands=\"2\""), "\(dom.prefix(1500))")
        #expect(dom.components(separatedBy: "<tr class=\"window\"").count == 3)
        #expect(dom.contains("id=\"window-key\""))
        let shot = try await HeadlessChromium.screenshot(url, name: "report-windows.png")
        #expect(FileManager.default.fileExists(atPath: shot.path), "the screenshot is kept at \(shot.path)")
    }
}
