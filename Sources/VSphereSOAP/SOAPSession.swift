import Foundation
import Logging
import Locking
import VCenterModel
import VimXML

/// A logged-in vim25 session: the `vmware_soap_session` cookie, calls with one
/// transparent re-login and retry on `NotAuthenticated`, and a keep-alive while idle.
///
/// The cookie is never logged. Concurrent calls that all meet `NotAuthenticated`
/// share a single re-login.
final class SOAPSession: Sendable {
    let transport: SOAPTransport
    let logger: Logger
    private let config: ConnectionConfig

    private struct State {
        var cookie: String?
        /// Incremented by every successful login; a call remembers the generation it used.
        var generation = 0
        var loggedIn = false
        var closed = false
        var apiVersion = "6.5"
        var lastActivity = ContinuousClock.now
        var reloginHooks: [UInt64: @Sendable () -> Void] = [:]
        var nextHookID: UInt64 = 0
        var requests = 0
        /// Requests by SOAP method, and transparent re-logins (`/metrics`).
        var byMethod: [String: Int] = [:]
        var relogins = 0
    }
    private let state = Locked(State())
    private let gate = LoginGate()
    private let keepAlive = Locked<Task<Void, Never>?>(nil)
    private let sessionManager = Locked<MoRef>(MoRef("SessionManager", "SessionManager"))

    init(transport: SOAPTransport, config: ConnectionConfig, logger: Logger) {
        self.transport = transport
        self.config = config
        self.logger = logger
    }

    /// How many times this session logged in (1 after `connect`); a change while a sequence
    /// of calls ran means the server-side objects it made (views, paging tokens) may be gone.
    var loginGeneration: Int { state.withLock { $0.generation } }

    /// The API version the server reported, for `SOAPAction`.
    var apiVersion: String {
        get { state.withLock { $0.apiVersion } }
        set { state.withLock { $0.apiVersion = newValue } }
    }

    // MARK: Calls

    /// Calls `method` on `this` with parameters written by `body`; pieces of the response
    /// go to `onPiece`, without the subtrees `skipping` leaves out. A SOAP fault is thrown as
    /// `VCenterFault`. On `NotAuthenticated` (when logged in) the session logs in again once
    /// and the call is retried once.
    func call(
        _ method: String, on this: MoRef, granularity: SOAPResponseParser.Granularity = .returnValue, skipping: XMLSkipRule? = nil,
        body: @Sendable (inout XMLWriter) -> Void = { _ in }, onPiece: @escaping (XMLElement) throws -> Void
    ) async throws {
        let envelope = SOAPEnvelope.request(method, this: (this.type, this.value), body)
        let (cookie, generation, loggedIn) = state.withLock { s -> (String?, Int, Bool) in
            s.lastActivity = .now
            return (s.cookie, s.generation, s.loggedIn)
        }
        do {
            try await sendRetryingReads(envelope, method: method, cookie: cookie, granularity: granularity, skipping: skipping, onPiece: onPiece)
        } catch let fault as VCenterFault where fault.code.isSessionLost && loggedIn && method != "Login" {
            logger.info("session expired; logging in again", metadata: ["method": "\(method)"])
            try await relogin(after: generation)
            let retryCookie = state.withLock { $0.cookie }
            try await send(envelope, method: method, cookie: retryCookie, granularity: granularity, skipping: skipping, onPiece: onPiece)
        }
    }

    /// Calls `method` and returns its `returnval` elements.
    @discardableResult
    func call(_ method: String, on this: MoRef, body: @Sendable (inout XMLWriter) -> Void = { _ in }) async throws -> [XMLElement] {
        var values: [XMLElement] = []
        try await call(method, on: this, granularity: .returnValue, body: body) { values.append($0) }
        return values
    }

    /// Methods that change nothing in vCenter, so a call lost before any answer arrived may
    /// simply be sent again: reads, and waits for updates (the same version gives the same
    /// updates). Never a method that starts a task — those go through the engine's lost-call
    /// search — nor one that creates or destroys an object, nor a paging continuation (the
    /// server may have used its token up).
    static let rereadableMethods: Set<String> = [
        "RetrieveServiceContent", "RetrievePropertiesEx", "CurrentTime", "WaitForUpdatesEx", "CheckForUpdates", "RecommendDatastores",
    ]

    /// Sends a call; a read whose connection failed before any of its answer arrived (a
    /// pooled connection the server had just closed, a dropped connection) is sent again, at
    /// once and then once more after half a second, before the failure is reported.
    private func sendRetryingReads(
        _ envelope: [UInt8], method: String, cookie: String?,
        granularity: SOAPResponseParser.Granularity, skipping: XMLSkipRule?, onPiece: @escaping (XMLElement) throws -> Void
    ) async throws {
        let retries = Self.rereadableMethods.contains(method) ? [0.0, 0.5] : []
        var attempt = 0
        while true {
            let delivered = Delivered()
            do {
                try await send(envelope, method: method, cookie: cookie, granularity: granularity, skipping: skipping) { piece in
                    delivered.any = true
                    try onPiece(piece)
                }
                return
            } catch let fault as VCenterFault where fault.code == .connectionFailed && !delivered.any && attempt < retries.count {
                logger.info("connection lost before an answer; sending the read again", metadata: ["method": "\(method)"])
                if retries[attempt] > 0 { try await Task.sleep(for: .seconds(retries[attempt])) }
                attempt += 1
            }
        }
    }

    /// Whether a call delivered any piece of its answer (then it is never sent again).
    private final class Delivered: @unchecked Sendable {
        var any = false
    }

    /// Every SOAP request this session sent (log-ins, retries, the poller's and the
    /// keep-alive's calls included): what the server counts.
    var requestCount: Int { state.withLock { $0.requests } }

    /// Requests by method and re-logins so far.
    var callStatistics: VCenterCallStatistics {
        state.withLock { VCenterCallStatistics(byMethod: $0.byMethod, relogins: $0.relogins) }
    }

    private func send(
        _ envelope: [UInt8], method: String, cookie: String?,
        granularity: SOAPResponseParser.Granularity, skipping: XMLSkipRule? = nil, onPiece: @escaping (XMLElement) throws -> Void
    ) async throws {
        let start = ContinuousClock.now
        state.withLock {
            $0.requests += 1
            $0.byMethod[method, default: 0] += 1
        }
        let exchange = try await transport.exchange(
            envelope, method: method, cookie: cookie, soapAction: "urn:vim25/\(apiVersion)", granularity: granularity, skipping: skipping, onPiece: onPiece)
        if let newCookie = exchange.sessionCookie {
            state.withLock { $0.cookie = newCookie }
        }
        logger.trace("SOAP call", metadata: ["method": "\(method)", "ms": "\((ContinuousClock.now - start).milliseconds)"])
        if case .fault(let fault) = exchange.outcome {
            throw VCenterFault(soap: fault)
        }
    }

    // MARK: Login

    /// `SessionManager.Login`. A wrong user or password is `InvalidLogin: …`.
    func login(sessionManager: MoRef) async throws {
        self.sessionManager.withLock { $0 = sessionManager }
        let user = config.username
        let password = config.password
        // A fresh session: never send an old cookie to Login.
        state.withLock { $0.cookie = nil }
        let envelope = SOAPEnvelope.request("Login", this: (sessionManager.type, sessionManager.value)) { w in
            w.element("userName", user)
            w.element("password", password)
        }
        try await send(envelope, method: "Login", cookie: nil, granularity: .returnValue) { _ in }
        let hooks = state.withLock { s -> [@Sendable () -> Void] in
            let wasLoggedIn = s.loggedIn
            if wasLoggedIn { s.relogins += 1 }
            s.loggedIn = true
            s.generation += 1
            s.lastActivity = .now
            return wasLoggedIn ? Array(s.reloginHooks.values) : []
        }
        logger.debug("logged in", metadata: ["url": "\(config.redactedURL)"])
        for hook in hooks { hook() }
    }

    private func relogin(after generation: Int) async throws {
        try await gate.run(ifGenerationIs: generation, current: { self.state.withLock { $0.generation } }) {
            try await self.login(sessionManager: self.sessionManager.withLock { $0 })
        }
    }

    /// Registers `hook` to run after every transparent re-login (collectors and views
    /// died with the old session). Returns an id for `removeReloginHook`.
    @discardableResult
    func addReloginHook(_ hook: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { s in
            s.nextHookID += 1
            s.reloginHooks[s.nextHookID] = hook
            return s.nextHookID
        }
    }

    /// Removes a hook added by `addReloginHook`.
    func removeReloginHook(_ id: UInt64) {
        _ = state.withLock { $0.reloginHooks.removeValue(forKey: id) }
    }

    // MARK: Keep-alive and logout

    /// Starts calling `CurrentTime` whenever the session was idle for `config.keepAliveInterval`.
    func startKeepAlive(serviceInstance: MoRef) {
        let interval = config.keepAliveInterval
        guard interval > 0 else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                guard let idle = self?.state.withLock({ ContinuousClock.now - $0.lastActivity }) else { return }
                let remaining = Duration.seconds(interval) - idle
                if remaining > .zero {
                    try? await Task.sleep(for: remaining)
                    continue
                }
                guard let self else { return }
                do {
                    try await self.call("CurrentTime", on: serviceInstance)
                } catch {
                    self.logger.warning("keep-alive failed: \(error)")
                    self.state.withLock { $0.lastActivity = .now }
                }
            }
        }
        keepAlive.withLock { $0 = task }
    }

    /// Stops the keep-alive loop.
    func stopKeepAlive() {
        keepAlive.withLock { $0?.cancel(); $0 = nil }
    }

    /// Logs out (best effort), stops the keep-alive and the HTTP client. Idempotent.
    func close() async {
        let first = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        keepAlive.withLock { $0?.cancel(); $0 = nil }
        if state.withLock({ $0.loggedIn }) {
            do {
                try await call("Logout", on: sessionManager.withLock { $0 })
            } catch {
                logger.debug("logout failed: \(error)")
            }
        }
        await transport.shutdown()
    }
}

/// Runs one login at a time: callers that saw the same expired session share it.
private actor LoginGate {
    private var inflight: Task<Void, any Error>?

    func run(ifGenerationIs seen: Int, current: @Sendable () -> Int, _ login: @escaping @Sendable () async throws -> Void) async throws {
        if let inflight {
            try await inflight.value
            return
        }
        // Someone already logged in again since this caller's attempt.
        if current() != seen { return }
        let task = Task { try await login() }
        inflight = task
        defer { inflight = nil }
        try await task.value
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (s, attos) = components
        return s * 1000 + attos / 1_000_000_000_000_000
    }
}

extension VCenterFault {
    /// A fault value from a SOAP fault: its vSphere type and message.
    init(soap fault: SOAPFault) {
        let message = fault.message
        self.init(type: fault.type, message: message, faultString: fault.faultString == message || fault.faultString.isEmpty ? nil : fault.faultString)
    }
}
