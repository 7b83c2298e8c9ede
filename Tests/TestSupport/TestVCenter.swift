import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The project's test vCenter (`scripts/vcsim`, govmomi's simulator with asynchronous
/// migrations) running as a child process for one test.
///
/// ```swift
/// let vc = try await TestVCenter.start(.init(clusters: 2, hosts: 4, vms: 20, tls: true))
/// defer { vc.stop() }
/// // connect to vc.url with vc.username / vc.password, pin vc.thumbprintSHA256 …
/// let stats = try await vc.stats()
/// ```
///
/// The binary is built once per test process (`scripts/vcsim/build.sh`, a no-op when up to
/// date). The child's stdin stays an open pipe: when the test process dies, the pipe closes
/// and the server exits by itself. `stop()` (or deinit) ends it at once.
public final class TestVCenter: @unchecked Sendable {
    /// The SOAP endpoint, e.g. `http://127.0.0.1:40123/sdk`.
    public let url: URL
    /// The only user name the server accepts.
    public let username: String
    /// The only password the server accepts.
    public let password: String
    /// SHA-1 thumbprint of the server certificate (`AA:BB:…`), empty over HTTP.
    public let thumbprintSHA1: String
    /// SHA-256 thumbprint of the server certificate (`AA:BB:…`), empty over HTTP.
    public let thumbprintSHA256: String
    /// The control endpoint (plain HTTP, same port), e.g. `http://127.0.0.1:40123/_mm`.
    public let controlURL: URL
    /// The server's process id.
    public let pid: Int32
    /// Seconds the server took to build its inventory and start listening.
    public let startupSeconds: Double
    /// Its `ServiceContent.about.instanceUuid` (its identity; `Options.instanceUUID` or random).
    public let instanceUUID: String
    /// The options it was started with.
    public let options: Options

    private let process: Process
    private let stdinPipe: Pipe
    private let output: ProcessOutput
    private let lock = NSLock()
    private var stopped = false

    private init(ready: ReadyLine, options: Options, process: Process, stdinPipe: Pipe, output: ProcessOutput) throws {
        guard let url = URL(string: ready.url), let control = URL(string: ready.control) else {
            throw TestVCenterError.badReadyLine("unparsable URLs in \(ready)")
        }
        self.url = url
        self.controlURL = control
        self.username = ready.username
        self.password = ready.password
        self.thumbprintSHA1 = ready.thumbprint_sha1
        self.thumbprintSHA256 = ready.thumbprint_sha256
        self.pid = Int32(ready.pid)
        self.startupSeconds = ready.startup_seconds ?? 0
        self.instanceUUID = ready.instance_uuid ?? ""
        self.options = options
        self.process = process
        self.stdinPipe = stdinPipe
        self.output = output
    }

    deinit { stop() }

    /// Builds the binary if needed, launches it with `options` as flags and waits for its
    /// ready line (at most `options.startupTimeout` seconds). Throws `TestVCenterError` with the
    /// server's stderr when it fails to start.
    public static func start(_ options: Options = Options()) async throws -> TestVCenter {
        let binary = try await VCSimBuild.binaryOffThePool()
        let process = Process()
        process.executableURL = binary
        process.arguments = options.arguments()
        let stdinPipe = Pipe(), stdoutPipe = Pipe(), stderrPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let output = ProcessOutput(stdout: stdoutPipe, stderr: stderrPipe, echoStderr: options.echoStderr)
        do {
            try process.run()
        } catch {
            throw TestVCenterError.launchFailed("\(binary.path): \(error)")
        }
        let line: String
        do {
            line = try await output.firstLine(timeout: options.startupTimeout)
        } catch {
            process.terminate()
            try? stdinPipe.fileHandleForWriting.close()
            // Waits for the end only so that the stderr quoted below is complete; bounded
            // (2 s) for a server that ignores SIGTERM, off the cooperative pool.
            _ = await process.ended(within: 2)
            let why: String
            if let e = error as? ProcessOutput.LineError, e == .timeout {
                why = "no ready line within \(options.startupTimeout) s"
            } else {
                why = "it exited before printing its ready line"
            }
            throw TestVCenterError.startFailed(
                "\(why) (\(binary.lastPathComponent) \(options.arguments().joined(separator: " ")))\n--- its stderr ---\n\(output.stderrText())")
        }
        let ready: ReadyLine
        do {
            ready = try JSONDecoder().decode(ReadyLine.self, from: Data(line.utf8))
        } catch {
            process.terminate()
            throw TestVCenterError.badReadyLine("\(line) — \(error)")
        }
        return try TestVCenter(ready: ready, options: options, process: process, stdinPipe: stdinPipe, output: output)
    }

    /// Stops the server without waiting: closes its stdin and sends SIGTERM; a background
    /// thread sends SIGKILL if it is still there 5 s later. Idempotent. It never blocks the
    /// caller, so it fits a `defer` in an async test: a wait here would hold one of the
    /// cooperative pool's few threads (two on this machine) and stall every other test.
    /// `shutdown()` also waits for the end, when the next step needs the server gone.
    public func stop() {
        lock.lock()
        if stopped { lock.unlock(); return }
        stopped = true
        lock.unlock()
        try? stdinPipe.fileHandleForWriting.close()
        guard !process.hasEnded else { return }
        process.terminate()
        let process = self.process
        Task.detached {
            // `ended(within:)` waits on a thread of its own, not the pool's. The vcsim exits
            // on SIGTERM within milliseconds; 5 s only bounds a server that hangs in its shutdown.
            if await process.ended(within: 5) == nil { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Stops the server (`stop()`) and waits for its process to end — when the next step
    /// needs it gone, e.g. another server on its port. Waits off the cooperative pool, at
    /// most 15 s (stop's SIGKILL comes after 5 s; the rest is slack for a loaded machine),
    /// and records nothing: the caller's next step fails if the server is still there.
    public func shutdown() async {
        stop()
        _ = await process.ended(within: 15)
    }

    /// Whether the server process is still running.
    public var isRunning: Bool { !process.hasEnded }

    /// What the server wrote on stderr so far (the last 256 KiB).
    public var stderrText: String { output.stderrText() }

    /// `host:port` of the server, for clients that want it split.
    public var hostAndPort: String { "\(url.host ?? "127.0.0.1"):\(url.port ?? 0)" }

    /// `GOVC_URL`-style URL with credentials: `https://user:pass@127.0.0.1:port/sdk`.
    public var urlWithCredentials: URL {
        var c = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        c.user = username
        c.password = password
        return c.url!
    }
}

/// Why the test vCenter could not be built, started or reached.
public enum TestVCenterError: Error, CustomStringConvertible {
    /// `scripts/vcsim/build.sh` failed; the payload is its output.
    case buildFailed(String)
    /// The binary could not be executed.
    case launchFailed(String)
    /// The server did not print its ready line; the payload includes its stderr.
    case startFailed(String)
    /// The ready line was not the expected JSON.
    case badReadyLine(String)
    /// A control request failed (HTTP status or transport error).
    case controlFailed(String)
    /// The `moonmotion` binary was not found.
    case binaryNotFound(String)

    public var description: String {
        switch self {
        case .buildFailed(let s): return "test vCenter: build failed (scripts/vcsim/build.sh): \(s)"
        case .launchFailed(let s): return "test vCenter: cannot launch \(s)"
        case .startFailed(let s): return "test vCenter: did not start: \(s)"
        case .badReadyLine(let s): return "test vCenter: unexpected ready line: \(s)"
        case .controlFailed(let s): return "test vCenter: control request failed: \(s)"
        case .binaryNotFound(let s): return s
        }
    }
}

/// The JSON line the server prints when ready.
struct ReadyLine: Decodable {
    var url: String
    var username: String
    var password: String
    var thumbprint_sha1: String
    var thumbprint_sha256: String
    var control: String
    var pid: Int
    var startup_seconds: Double?
    var instance_uuid: String?
}

/// Builds the binary once per process.
enum VCSimBuild {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var built: URL?

    /// `binary()` on a thread of its own: the build (or build.sh's up-to-date check) blocks
    /// on its child for up to minutes, and tests starting servers at once queue on the lock;
    /// on the cooperative pool that would stall every other test meanwhile.
    static func binaryOffThePool() async throws -> URL {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<URL, Error>) in
            Thread.detachNewThread { c.resume(with: Result(catching: { try binary() })) }
        }
    }

    static func binary() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let built, FileManager.default.isExecutableFile(atPath: built.path) { return built }
        let script = repoRoot.appendingPathComponent("scripts/vcsim/build.sh")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw TestVCenterError.buildFailed("cannot run \(script.path): \(error)") }
        // Read both pipes fully before waiting (a full pipe would block the build).
        let errData = DrainedPipe(err)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        // Not waitUntilExit: see Process.endStatus. This runs on a thread of its own
        // (`binaryOffThePool`), which may block.
        let status = p.blockUntilEnded()
        let errText = String(decoding: errData.wait(), as: UTF8.self)
        let outText = String(decoding: outData, as: UTF8.self)
        guard status == 0 else {
            throw TestVCenterError.buildFailed("exit \(status)\n\(errText)\(outText)")
        }
        guard let last = outText.split(separator: "\n").last.map(String.init), FileManager.default.isExecutableFile(atPath: last) else {
            throw TestVCenterError.buildFailed("build.sh printed no binary path:\n\(outText)\(errText)")
        }
        let url = URL(fileURLWithPath: last)
        built = url
        return url
    }
}

/// Reads a pipe to its end on a background thread.
final class DrainedPipe: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// Collects a child's stdout (to find its first line) and stderr (kept for error messages).
final class ProcessOutput: @unchecked Sendable {
    enum LineError: Error, Equatable { case timeout, closed }

    private let lock = NSLock()
    private var stdoutBuffer = Data()
    private var stderrBuffer = Data()
    private var stdoutClosed = false
    private var lineWaiters: [CheckedContinuation<String, Error>] = []
    private var firstLineValue: String?
    private static let stderrCap = 256 * 1024

    init(stdout: Pipe, stderr: Pipe, echoStderr: Bool) {
        let out = stdout.fileHandleForReading
        let err = stderr.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = out.availableData
                if chunk.isEmpty { break }
                self.appendStdout(chunk)
            }
            self.closeStdout()
        }
        Thread.detachNewThread { [self] in
            while true {
                let chunk = err.availableData
                if chunk.isEmpty { break }
                if echoStderr { FileHandle.standardError.write(chunk) }
                self.appendStderr(chunk)
            }
        }
    }

    private func appendStdout(_ chunk: Data) {
        lock.lock()
        stdoutBuffer.append(chunk)
        var waiters: [CheckedContinuation<String, Error>] = []
        var line: String?
        if firstLineValue == nil, let nl = stdoutBuffer.firstIndex(of: 0x0A) {
            let l = String(decoding: stdoutBuffer[stdoutBuffer.startIndex..<nl], as: UTF8.self)
            firstLineValue = l
            line = l
            waiters = lineWaiters
            lineWaiters = []
        }
        lock.unlock()
        if let line { for w in waiters { w.resume(returning: line) } }
    }

    private func closeStdout() {
        lock.lock()
        stdoutClosed = true
        let waiters = firstLineValue == nil ? lineWaiters : []
        if firstLineValue == nil { lineWaiters = [] }
        lock.unlock()
        for w in waiters { w.resume(throwing: LineError.closed) }
    }

    private func appendStderr(_ chunk: Data) {
        lock.lock()
        stderrBuffer.append(chunk)
        if stderrBuffer.count > Self.stderrCap {
            stderrBuffer = stderrBuffer.suffix(Self.stderrCap)
        }
        lock.unlock()
    }

    func stderrText() -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: stderrBuffer, as: UTF8.self)
    }

    /// The first stdout line, waiting at most `timeout` seconds.
    func firstLine(timeout: Double) async throws -> String {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<String, Error>) in
            lock.lock()
            if let l = firstLineValue {
                lock.unlock()
                c.resume(returning: l)
                return
            }
            if stdoutClosed {
                lock.unlock()
                c.resume(throwing: LineError.closed)
                return
            }
            lineWaiters.append(c)
            lock.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [self] in
                self.lock.lock()
                let waiters = self.lineWaiters
                self.lineWaiters = []
                self.lock.unlock()
                for w in waiters { w.resume(throwing: LineError.timeout) }
            }
        }
    }
}
