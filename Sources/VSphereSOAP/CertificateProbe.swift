import NIOCore
import NIOPosix
import NIOSSL
import Locking
import VCenterModel

/// Reads the certificate a TLS server presents, without trusting or refusing it:
/// one TCP connection, a TLS handshake whose verification callback records the
/// chain, then close. Used for thumbprint pinning (AsyncHTTPClient has no
/// per-connection verification callback) and to show the thumbprint when
/// verification fails.
enum CertificateProbe {
    /// The certificate chain `host:port` presents (leaf first).
    static func presentedChain(host: String, port: Int, connectTimeout: Double, group: any EventLoopGroup) async throws -> [NIOSSLCertificate] {
        var tls = TLSConfiguration.makeClientConfiguration()
        // Not `.none`: NIOSSL only calls a custom verification callback when verification is on.
        tls.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: tls)
        let serverName = isIPAddress(host) ? nil : host
        let eventLoop = group.next()
        let outcome = ProbeOutcome(eventLoop.makePromise(of: [NIOSSLCertificate].self))
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(connectTimeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName) { chain, promise in
                        // Record the chain, accept it (we only look), and we are done.
                        outcome.finish(.success(chain))
                        promise.succeed(.certificateVerified)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(FailureWatcher(outcome))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            outcome.finish(.failure(error))
            throw error
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try await outcome.promise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        channel.close(promise: nil)
        guard !chain.isEmpty else {
            throw VCenterFault(type: "TLSError", message: "\(host):\(port) presented no certificate")
        }
        return chain
    }

    /// The probe's result, completed once (by the verification callback or by a failure).
    private final class ProbeOutcome: Sendable {
        let promise: EventLoopPromise<[NIOSSLCertificate]>
        private let done = Locked(false)
        init(_ promise: EventLoopPromise<[NIOSSLCertificate]>) { self.promise = promise }
        func finish(_ result: Result<[NIOSSLCertificate], any Error>) {
            let first = done.withLock { d -> Bool in defer { d = true }; return !d }
            if first { promise.completeWith(result) }
        }
    }

    /// Fails the probe when the connection breaks before a certificate was seen.
    private final class FailureWatcher: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let outcome: ProbeOutcome
        let succeedOnRead: Bool
        init(_ outcome: ProbeOutcome, succeedOnRead: Bool = false) {
            self.outcome = outcome
            self.succeedOnRead = succeedOnRead
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if succeedOnRead { outcome.finish(.success([])) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            outcome.finish(.failure(error))
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            outcome.finish(.failure(ChannelError.eof))
            context.fireChannelInactive()
        }
    }

    /// Opens one connection to `host:port` (with a TLS handshake under `tls` when given)
    /// and closes it, so that a refused connection or an untrusted certificate is reported
    /// at once rather than after AsyncHTTPClient's connection retries. Over TLS it succeeds
    /// as soon as the server answers anything to a `HEAD` request (the handshake is done).
    static func preflight(host: String, port: Int, tls: TLSConfiguration?, timeout: Double, group: any EventLoopGroup) async throws {
        let eventLoop = group.next()
        let outcome = ProbeOutcome(eventLoop.makePromise(of: [NIOSSLCertificate].self))
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let serverName = isIPAddress(host) ? nil : host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(FailureWatcher(outcome, succeedOnRead: true))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            outcome.finish(.failure(error))
            throw error
        }
        guard context != nil else {
            // Plain HTTP: the TCP connection is the check.
            outcome.finish(.success([]))
            channel.close(promise: nil)
            return
        }
        let request = "HEAD / HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        let timer = eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            outcome.finish(.failure(ChannelError.connectTimeout(.milliseconds(Int64(timeout * 1000)))))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        _ = try await outcome.promise.futureResult.get()
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
