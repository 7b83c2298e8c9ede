import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Locking
import VCenterModel
import VimXML

/// One vCenter endpoint over HTTP(S): AsyncHTTPClient with pooled keep-alive
/// connections, connect and read timeouts, TLS verification or thumbprint pinning,
/// and responses streamed chunk by chunk into `SOAPResponseParser`.
///
/// It knows nothing of sessions: the caller passes the cookie and gets back any new one.
final class SOAPTransport: Sendable {
    let config: ConnectionConfig
    let client: HTTPClient
    let logger: Logger
    /// The certificate thumbprints of the server, when it was probed (pinning).
    let pinnedCertificate: (sha1: Thumbprint, sha256: Thumbprint)?

    private init(config: ConnectionConfig, client: HTTPClient, logger: Logger, pinned: (Thumbprint, Thumbprint)?) {
        self.config = config
        self.client = client
        self.logger = logger
        self.pinnedCertificate = pinned
    }

    /// Builds the HTTP client for `config`. With a pinned thumbprint the server's
    /// certificate is read once over NIOSSL and compared (a mismatch throws
    /// `TLSThumbprintMismatch` listing both thumbprints); then every connection the client
    /// opens is checked against the pin after its handshake.
    static func make(config: ConnectionConfig, logger: Logger) async throws -> SOAPTransport {
        var httpConfig = HTTPClient.Configuration()
        httpConfig.timeout = .init(connect: .milliseconds(Int64(config.connectTimeout * 1000)), read: .milliseconds(Int64(config.readTimeout * 1000)))
        httpConfig.redirectConfiguration = .disallow
        httpConfig.connectionPool = .init(idleTimeout: .seconds(120))
        httpConfig.decompression = .disabled
        var pinned: (Thumbprint, Thumbprint)?
        if config.isTLS {
            var tls = TLSConfiguration.makeClientConfiguration()
            if config.insecure {
                tls.certificateVerification = .none
            } else if let expected = config.thumbprint {
                let chain: [NIOSSLCertificate]
                do {
                    chain = try await CertificateProbe.presentedChain(host: config.host, port: config.port, connectTimeout: config.connectTimeout, group: MultiThreadedEventLoopGroup.singleton)
                } catch {
                    throw SOAPErrors.transportFault(error, config: config)
                }
                let der = try chain[0].toDERBytes()
                let presented = Thumbprint.of(der: der, expected.algorithm)
                guard presented == expected else {
                    throw VCenterFault(
                        .tlsThumbprintMismatch,
                        "\(config.hostAndPort) presented a certificate with \(expected.algorithm.rawValue) thumbprint \(presented), expected \(expected); if the certificate was replaced on purpose, pin the new thumbprint")
                }
                pinned = (Thumbprint.of(der: der, .sha1), Thumbprint.of(der: der, .sha256))
                // Every pooled connection is held to the pin: its certificate is compared once the
                // TLS handshake is done, before the connection carries a request. (Trusting the
                // certificate as the only root would refuse a pinned CA-issued certificate, such
                // as vCenter's VMCA ones; like govc, a pin replaces chain, name and date checks.)
                tls.certificateVerification = .none
                httpConfig.httpVersion = .http1Only
                let hostAndPort = config.hostAndPort
                httpConfig.http1_1ConnectionDebugInitializer = { channel in
                    channel.nioSSL_peerCertificate().flatMap { certificate in
                        let presented = certificate.flatMap { try? Thumbprint.of(der: $0.toDERBytes(), expected.algorithm) }
                        guard presented == expected else {
                            // Refuse to use the connection: its first write fails with the mismatch and
                            // closes it. (Failing this initializer instead confuses AHC's pool.)
                            let fault = VCenterFault(
                                .tlsThumbprintMismatch,
                                "\(hostAndPort) presented a certificate with \(expected.algorithm.rawValue) thumbprint \(presented.map(String.init(describing:)) ?? "(none)"), expected \(expected)")
                            return channel.pipeline.addHandler(RefusedConnection(fault), position: .first)
                        }
                        return channel.eventLoop.makeSucceededVoidFuture()
                    }
                }
                logger.debug("pinned server certificate", metadata: ["host": "\(config.hostAndPort)", "sha256": "\(Thumbprint.of(der: der, .sha256))"])
            }
            httpConfig.tlsConfiguration = tls
        }
        // One direct connection first: refusals and untrusted certificates are reported at once.
        do {
            try await CertificateProbe.preflight(
                host: config.host, port: config.port, tls: config.isTLS ? httpConfig.tlsConfiguration : nil,
                timeout: config.connectTimeout, group: MultiThreadedEventLoopGroup.singleton)
        } catch {
            let fault = SOAPErrors.transportFault(error, config: config)
            if fault.code == .tlsVerificationFailed {
                throw await withPresentedThumbprint(fault, config: config)
            }
            throw fault
        }
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: httpConfig, backgroundActivityLogger: logger)
        return SOAPTransport(config: config, client: client, logger: logger, pinned: pinned)
    }

    /// Adds the presented certificate's thumbprints to a verification failure, so the
    /// user can check it and pin it.
    static func withPresentedThumbprint(_ fault: VCenterFault, config: ConnectionConfig) async -> VCenterFault {
        guard let chain = try? await CertificateProbe.presentedChain(host: config.host, port: config.port, connectTimeout: config.connectTimeout, group: MultiThreadedEventLoopGroup.singleton),
              let der = try? chain[0].toDERBytes() else { return fault }
        return VCenterFault(type: fault.type, message: fault.message + "; the server's certificate has SHA-256 thumbprint \(Thumbprint.of(der: der, .sha256)) (SHA-1 \(Thumbprint.of(der: der, .sha1)))")
    }

    /// The result of one SOAP exchange.
    struct Exchange {
        var outcome: SOAPResponseParser.Outcome
        /// The `vmware_soap_session` cookie the server set (`name=value`), if any.
        var sessionCookie: String?
    }

    /// Posts `envelope` and streams the response into a parser calling `onPiece`.
    /// Every failure is a `VCenterFault`; `onPiece` should throw only `VCenterFault`s.
    func exchange(
        _ envelope: [UInt8], method: String, cookie: String?, soapAction: String,
        granularity: SOAPResponseParser.Granularity, skipping: XMLSkipRule? = nil, onPiece: @escaping (XMLElement) throws -> Void
    ) async throws -> Exchange {
        var request = HTTPClientRequest(url: config.url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/xml; charset=utf-8")
        request.headers.add(name: "SOAPAction", value: soapAction)
        request.headers.add(name: "Accept", value: "text/xml")
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        request.body = .bytes(ByteBuffer(bytes: envelope))

        let response: HTTPClientResponse
        do {
            // AsyncHTTPClient's deadline covers only the wait for the response head, and that
            // includes queueing for a pooled connection behind other calls: keep it generous.
            // Silence is bounded by the read timeout; the body by `readBody`.
            response = try await client.execute(request, deadline: .now() + .seconds(Int64(max(config.readTimeout * 10, 900))), logger: nil)
        } catch {
            throw SOAPErrors.transportFault(error, config: config)
        }
        let status = response.status.code
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        guard status == 200 || status == 500, contentType.contains("xml") else {
            throw SOAPErrors.notVSphere(config: config, status: response.status, contentType: contentType)
        }
        var sessionCookie: String?
        for header in response.headers["set-cookie"] {
            if let value = SOAPTransport.sessionCookie(fromSetCookie: header) { sessionCookie = value }
        }
        let parser = SOAPResponseParser(granularity: granularity, skipping: skipping, onPiece: onPiece)
        let outcome: SOAPResponseParser.Outcome
        do {
            try await readBody(response.body, into: parser, method: method)
            outcome = try parser.finish()
        } catch let error as XMLParseError {
            if error.kind == .notSOAP {
                throw VCenterFault(.notVSphere, "\(config.redactedURL) is not a vSphere SOAP endpoint: \(error.message)")
            }
            throw VCenterFault(.invalidResponse, "unreadable \(method) response from \(config.hostAndPort): \(error)")
        } catch let error as VCenterFault {
            throw error
        } catch {
            // The connection broke or timed out while the body streamed in.
            throw SOAPErrors.transportFault(error, config: config)
        }
        return Exchange(outcome: outcome, sessionCookie: sessionCookie)
    }

    /// Below this average rate (bytes per second, after a first `readTimeout`) a response
    /// body is given up: 32 KiB/s, far below any usable link to vCenter.
    static let minimumBodyRate = 32.0 * 1024

    /// Feeds the body's chunks to `parser`, within bounds: a gap of `readTimeout` between
    /// chunks fails the call, and so does a body slower than `readTimeout` plus one second per
    /// `minimumBodyRate` bytes received since the head (a server trickling a byte now and then
    /// would otherwise hold the call for as long as it likes). Both are `Timeout` faults.
    func readBody(_ body: HTTPClientResponse.Body, into parser: SOAPResponseParser, method: String) async throws {
        let progress = BodyProgress()
        let sink = UncheckedSendable(parser)
        let idle = Duration.seconds(config.readTimeout)
        let hostAndPort = config.hostAndPort
        let readTimeout = config.readTimeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await chunk in body {
                    progress.received(chunk.readableBytes)
                    try chunk.withUnsafeReadableBytes { try sink.value.feed($0) }
                }
            }
            group.addTask {
                // The watchdog: ends only by throwing, or by being cancelled once the body is in.
                while true {
                    let (bytes, started, last) = progress.snapshot
                    let now = ContinuousClock.now
                    let idleDeadline = last + idle
                    let totalDeadline = started + idle + .seconds(Double(bytes) / SOAPTransport.minimumBodyRate)
                    if now >= idleDeadline {
                        throw VCenterFault(
                            .timeout,
                            "\(hostAndPort) stopped sending the \(method) response: nothing for \(SOAPErrors.seconds(readTimeout)) after \(bytes) bytes (read timeout; raise it with --read-timeout)")
                    }
                    if now >= totalDeadline {
                        let elapsed = Int((now - started).components.seconds)
                        throw VCenterFault(
                            .timeout,
                            "\(hostAndPort) is sending the \(method) response too slowly: \(bytes) bytes in \(elapsed) s, below \(Int(SOAPTransport.minimumBodyRate / 1024)) KB/s after the \(SOAPErrors.seconds(readTimeout)) read timeout; check the network or the server")
                    }
                    try await Task.sleep(until: min(idleDeadline, totalDeadline), clock: .continuous)
                }
            }
            // The first child to end decides: the body (the watchdog is then cancelled) or the
            // watchdog's timeout (the body's stream is then cancelled, closing the connection).
            try await group.next()
            group.cancelAll()
        }
    }

    /// `vmware_soap_session=value` from a `Set-Cookie` header, or nil for other cookies.
    static func sessionCookie(fromSetCookie header: String) -> String? {
        let first = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard first.hasPrefix("vmware_soap_session=") else { return nil }
        return first
    }

    private let isShutDown = Locked(false)

    /// Stops the HTTP client (closes pooled connections). Idempotent.
    func shutdown() async {
        guard isShutDown.withLock({ s in defer { s = true }; return !s }) else { return }
        try? await client.shutdown()
    }

    deinit {
        // A connection dropped without `close()`: release the client without blocking.
        if !isShutDown.withLock({ $0 }) { _ = client.shutdown() }
    }
}

/// How much of a response body arrived and when (shared by the reader and its watchdog).
private final class BodyProgress: Sendable {
    private struct State {
        var bytes = 0
        let started = ContinuousClock.now
        var lastChunk = ContinuousClock.now
    }
    private let state = Locked(State())

    func received(_ count: Int) {
        state.withLock { s in
            s.bytes += count
            s.lastChunk = .now
        }
    }

    var snapshot: (bytes: Int, started: ContinuousClock.Instant, lastChunk: ContinuousClock.Instant) {
        state.withLock { ($0.bytes, $0.started, $0.lastChunk) }
    }
}

/// Hands a value that is used by one task at a time (the response parser: the exchange
/// waits while the body reader feeds it) to a child task.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Sits at the network end of a connection whose certificate broke the pin: every write
/// fails with the mismatch and the connection closes, so no request goes out on it.
private final class RefusedConnection: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any
    let fault: VCenterFault
    init(_ fault: VCenterFault) { self.fault = fault }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(fault)
        context.fireErrorCaught(fault)
        context.close(promise: nil)
    }
}
