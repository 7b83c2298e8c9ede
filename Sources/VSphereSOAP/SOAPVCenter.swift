import Foundation
import Logging
import Locking
import VCenterModel
import VimXML

/// A real vCenter (or the test vCenter) over vim25 SOAP: one logged-in session,
/// batched inventory retrieval, and tasks kept live by one poller.
///
/// ```swift
/// let config = try ConnectionConfig.resolve(.init(url: "vc01", username: "admin"))!
/// let vc = try await SOAPVCenter.connect(config: config, logger: logger)
/// let inventory = try await vc.inventory()
/// await vc.close()
/// ```
public final class SOAPVCenter: VCenter {
    /// How this connection was configured (the password is never printed).
    public let config: ConnectionConfig
    /// `vCenter 7.0.3 at https://admin@vc01/sdk`.
    public let displayName: String

    let session: SOAPSession
    let content: ServiceContent
    let logger: Logger
    /// The live tasks of this connection.
    let taskBook = TaskBook()
    /// Each host's cluster (nil for standalone hosts), from the last inventory, for `refreshVMs`.
    let hostClusters = Locked<[MoRef: MoRef?]>([:])
    /// Each datastore's name, from the last inventory (and refreshes), to resolve a VM's home
    /// from its `vmPathName`.
    let datastoreNames = Locked<[MoRef: String]>([:])
    /// The disk modes other than `persistent` of the VMs read so far (VM → disk key → mode): a
    /// disk locator that changes a disk's format restates its mode (see `relocateVM`).
    let diskModes = Locked<[MoRef: [Int: String]]>([:])
    /// Folder paths and custom attribute names from the last inventory, for `refreshVMs`.
    let vmNaming = Locked(VMNaming())
    /// Whether why tags could not be read was logged (once per connection).
    let tagsNoticeLogged = Locked(false)
    let pollerBox = Locked<TaskPoller?>(nil)

    private init(config: ConnectionConfig, session: SOAPSession, content: ServiceContent, logger: Logger) {
        self.config = config
        self.session = session
        self.content = content
        self.logger = logger
        let product = content.about.apiType == "HostAgent" ? "ESXi" : "vCenter"
        self.displayName = "\(product) \(content.about.version) at \(config.redactedURL)"
    }

    /// Connects and logs in: TLS (verified, pinned or insecure as configured),
    /// `RetrieveServiceContent`, `Login`, then a keep-alive while idle. Every failure is a
    /// one-line `VCenterFault`: `InvalidLogin: …`, `ConnectionFailed: …`,
    /// `TLSThumbprintMismatch: …`, `TLSVerificationFailed: …`, `NotVSphere: …`, `Timeout: …`.
    public static func connect(config: ConnectionConfig, logger: Logger) async throws -> SOAPVCenter {
        let transport = try await SOAPTransport.make(config: config, logger: logger)
        let session = SOAPSession(transport: transport, config: config, logger: logger)
        do {
            let returned: [XMLElement]
            do {
                returned = try await session.call("RetrieveServiceContent", on: ServiceContent.serviceInstance)
            } catch let fault as VCenterFault where fault.code == .tlsVerificationFailed {
                throw await SOAPTransport.withPresentedThumbprint(fault, config: config)
            }
            guard let first = returned.first else {
                throw VCenterFault(.notVSphere, "\(config.redactedURL) returned no ServiceContent")
            }
            let content = try ServiceContent(first)
            if !content.about.apiVersion.isEmpty { session.apiVersion = content.about.apiVersion }
            try await session.login(sessionManager: content.sessionManager)
            session.startKeepAlive(serviceInstance: ServiceContent.serviceInstance)
            let vc = SOAPVCenter(config: config, session: session, content: content, logger: logger)
            logger.info("connected", metadata: ["vcenter": "\(vc.displayName)"])
            return vc
        } catch {
            await session.close()
            throw error
        }
    }

    deinit {
        // Dropped without `close()`: stop background work; the HTTP client is released by
        // the transport (the session is not logged out).
        pollerBox.withLock { $0?.cancel() }
        session.stopKeepAlive()
        abandonPendingTasks()
    }

    /// Ends every wait on a task that had not ended: nothing reports their end any more.
    private func abandonPendingTasks() {
        for task in taskBook.pending {
            task.abandon(VCenterFault(
                .connectionClosed,
                "the connection to vCenter was closed while waiting for \(task.ref.value); the task may still be running in vCenter"))
        }
    }

    /// Registers `hook` to run after every transparent re-login. Returns a token for `removeReloginHook`.
    @discardableResult
    public func onRelogin(_ hook: @escaping @Sendable () -> Void) -> UInt64 {
        session.addReloginHook(hook)
    }

    /// Removes a hook registered with `onRelogin`.
    public func removeReloginHook(_ token: UInt64) {
        session.removeReloginHook(token)
    }

    /// Every SOAP request this connection sent so far, the task poller's and the keep-alive's
    /// included (what the server counts).
    public var requestCount: Int? { session.requestCount }

    public var callStatistics: VCenterCallStatistics? { session.callStatistics }

    /// `ServiceInstance.CurrentTime`: the server's clock, which its task times are in.
    public func currentTime() async throws -> Date {
        guard let date = try await session.call("CurrentTime", on: ServiceContent.serviceInstance).first?.date else {
            throw VCenterFault(.invalidResponse, "CurrentTime returned no time")
        }
        return date
    }

    /// `ServiceContent.about`, as read when connecting.
    public func about() async throws -> AboutInfo { content.about }

    /// Ends the session (Logout), stops the poller and the keep-alive. Idempotent.
    public func close() async {
        let poller = pollerBox.withLock { p -> TaskPoller? in
            defer { p = nil }
            return p
        }
        await poller?.stop()
        await session.close()
        abandonPendingTasks()
    }

    var collector: PropertyCollector {
        PropertyCollector(session: session, collector: content.propertyCollector, pageSize: config.pageSize)
    }
}
