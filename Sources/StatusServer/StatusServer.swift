import Foundation
import Hummingbird
import Logging
import MigrationEngine
import NIOCore
import Synchronization
import VCenterModel
import Locking

/// The web side of `moonmotion run --listen`: with Hummingbird, on one address,
///
/// | path | serves |
/// | --- | --- |
/// | `/` | the live status page (`StatusPage`), updated by `/events` |
/// | `/api/status` | `RunStatus` as JSON (the document `moonmotion status --json` prints) |
/// | `/events` | Server-Sent Events: the same JSON every `interval`, and once more at the end |
/// | `/metrics` | Prometheus text exposition (`StatusMetrics`) |
///
/// The figures are computed at most once per `interval` whatever the number of clients
/// (`StatusCache`), so twenty browsers cost the run what one does. With a `token`, every
/// request needs it (`TokenMiddleware`). Nothing served holds a password, cookie or session
/// id: `RunStatus` carries none.
public final class StatusServer: Sendable {
    /// What the server needs from the run.
    public struct Source: Sendable {
        /// The run's status now.
        public var status: @Sendable () -> RunStatus
        /// The connection's requests by method and re-logins (nil for the simulator).
        public var calls: @Sendable () -> VCenterCallStatistics?
        /// The timeline so far as `Gantt` data (`LiveTimeline.json`); nil: none.
        public var timeline: @Sendable () -> String?

        /// Creates a source.
        public init(status: @escaping @Sendable () -> RunStatus, calls: @escaping @Sendable () -> VCenterCallStatistics? = { nil },
                    timeline: @escaping @Sendable () -> String? = { nil }) {
            self.status = status
            self.calls = calls
            self.timeline = timeline
        }
    }

    /// The address asked for.
    public let address: ListenAddress
    private let token: String?
    private let interval: Duration
    private let cache: StatusCache
    /// The timeline's JSON, at most 5 s old: it grows with every job, and the page redraws
    /// it every 5 s.
    private let timeline: TextCache
    private let source: Source
    private let metrics = StatusMetrics()
    private let runTask = Locked<Task<Void, Never>?>(nil)
    private let ended = Atomic<Bool>(false)

    /// A server for `source` on `address`; `token` (required unless the address is loopback:
    /// `StatusServerError.tokenRequired`) guards every request; pages and streams refresh
    /// every `interval`.
    public init(address: ListenAddress, token: String?, source: Source, interval: Duration = .seconds(1)) throws(StatusServerError) {
        if let token, token.count < 16 { throw .weakToken }
        if token == nil && !address.isLoopback { throw .tokenRequired(address) }
        self.address = address
        self.token = token
        self.interval = interval
        self.source = source
        self.cache = StatusCache(maxAge: interval, compute: source.status)
        self.timeline = TextCache(maxAge: .seconds(5)) { source.timeline() ?? LiveTimeline.empty }
    }

    /// Binds and starts serving; returns the bound port (the one the system chose for port 0).
    /// Throws when the address cannot be bound.
    public func start() async throws -> Int {
        let router = Router()
        if let token { router.add(middleware: TokenMiddleware(token: Array(token.utf8))) }
        router.get("/") { [timeline] _, _ in
            Self.response(StatusPage.html(timeline: timeline.value()), type: "text/html; charset=utf-8",
                          csp: StatusPage.contentSecurityPolicy)
        }
        router.get("/api/timeline") { [timeline] _, _ in Self.response(timeline.value(), type: "application/json") }
        router.get("/api/status") { [cache] _, _ in Self.response(cache.json() + "\n", type: "application/json") }
        router.get("/metrics") { [cache, metrics, source] _, _ in
            Self.response(metrics.exposition(cache.status(), calls: source.calls()), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/events") { [cache, interval, self] _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                while true {
                    let status = cache.status()
                    try await writer.write(ByteBuffer(string: "data: \(cache.json())\n\n"))
                    if status.phase == .done || self.ended.load(ordering: .acquiring) { break }
                    try await Task.sleep(for: interval)
                }
                try await writer.finish(nil)
            })
        }

        var logger = Logger(label: "moonmotion.status-server")
        // Its shutdown logs a cancellation as an error; nothing it logs is for the user.
        logger.logLevel = .critical
        let bound = BoundPort()
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "moonmotion"),
            onServerRunning: { channel in bound.resolve(.success(channel.localAddress?.port ?? 0)) },
            logger: logger)
        let task = Task {
            do {
                try await app.run()
                bound.resolve(.failure(StatusServerError.cannotBind(self.address, "the server stopped")))
            } catch {
                bound.resolve(.failure(StatusServerError.cannotBind(self.address, String(describing: error))))
            }
        }
        runTask.withLock { $0 = task }
        return try await bound.value()
    }

    /// The run ended: streams send the final status and close.
    public func runEnded() {
        ended.store(true, ordering: .releasing)
        cache.invalidate()
        timeline.invalidate()
    }

    /// Stops serving (open streams are closed).
    public func stop() async {
        let task = runTask.withLock { t in defer { t = nil }; return t }
        task?.cancel()
        await task?.value
    }

    private static func response(_ text: String, type: String, csp: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        if let csp { headers[.contentSecurityPolicy] = csp }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Why the status server cannot start.
public enum StatusServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A non-loopback address without a token.
    case tokenRequired(ListenAddress)
    /// A token too short to resist guessing.
    case weakToken
    /// Binding failed (address in use, not this machine's, no permission).
    case cannotBind(ListenAddress, String)

    public var description: String {
        switch self {
        case .tokenRequired(let a):
            "--listen \(a) can be reached from the network: give --listen-token TOKEN or --listen-token-file FILE (every request then needs it), or listen on 127.0.0.1"
        case .weakToken: "--listen-token must be at least 16 characters (e.g. `openssl rand -hex 16`)"
        case .cannotBind(let a, let why): "--listen \(a): cannot serve there: \(why)"
        }
    }
}

/// The port the server bound, once: from `onServerRunning`, or the failure to run.
private final class BoundPort: Sendable {
    private let state = Locked<(result: Result<Int, any Error>?, waiter: CheckedContinuation<Int, any Error>?)>((nil, nil))

    func resolve(_ result: Result<Int, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<Int, any Error>? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Int {
        try await withCheckedThrowingContinuation { c in
            let ready = state.withLock { s -> Result<Int, any Error>? in
                if let r = s.result { return r }
                s.waiter = c
                return nil
            }
            if let ready { c.resume(with: ready) }
        }
    }
}
