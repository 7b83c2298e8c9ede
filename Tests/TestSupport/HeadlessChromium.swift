import Foundation

/// Debian's headless Chromium (`scripts/install-deps` installs it), as the browser tests use
/// it: `--dump-dom` for the DOM after the page's scripts ran, `--screenshot` for CI artifacts.
public enum HeadlessChromium {
    /// The browser's path, or nil when none is installed (the browser tests are then off).
    public static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Where the tests keep screenshots of the pages they load (CI keeps `.build/test-artifacts/`).
    public static let artifacts = repoRoot.appendingPathComponent(".build/test-artifacts")

    /// Runs Chromium headless on `url` with `arguments` and returns its stdout. It waits on a
    /// thread of its own: blocking the (two-thread) cooperative pool would starve a server the
    /// browser talks to in the same process.
    public static func run(_ url: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { c in
            Thread.detachNewThread { c.resume(with: Result { try runBlocking(url, arguments) }) }
        }
    }

    /// Writes a screenshot of `url` to `artifacts/name` and returns its path.
    public static func screenshot(_ url: String, name: String, size: String = "1400,1400", budget: Int = 3000) async throws -> URL {
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let shot = artifacts.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: shot)
        _ = try await run(url, ["--hide-scrollbars", "--window-size=\(size)", "--virtual-time-budget=\(budget)",
                                "--screenshot=\(shot.path)"])
        return shot
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
        _ = process.blockUntilEnded()
        return String(decoding: data, as: UTF8.self)
    }
}
