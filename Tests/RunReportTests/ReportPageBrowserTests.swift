import Foundation
import MigrationEngine
import RunReport
import Testing
import VCenterModel

/// Debian's headless Chromium (scripts/install-deps installs it), if present. (The same helper
/// as StatusServerTests': test targets share no code but TestSupport, which has no Foundation
/// process helpers of this kind.)
enum HeadlessChromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs Chromium headless on `url` with `arguments` and returns its stdout, waiting on a
    /// thread of its own (not on the cooperative pool).
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
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("report page in a browser")
struct ReportPageBrowserTests {
    /// Where screenshots of the pages the tests load are kept (CI keeps `.build/test-artifacts/`).
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts")

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

        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let shot = Self.artifacts.appendingPathComponent("report-page.png")
        try? FileManager.default.removeItem(at: shot)
        _ = try await HeadlessChromium.run(url, ["--hide-scrollbars", "--window-size=1400,1400", "--virtual-time-budget=3000",
                                                 "--screenshot=\(shot.path)"])
        #expect(FileManager.default.fileExists(atPath: shot.path), "the screenshot is kept at \(shot.path)")
    }
}
