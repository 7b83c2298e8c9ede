import ArgumentParser
import Foundation
import LuaBindings
import Logging
import VCenterModel
import VCenterSimulator
import VSphereSOAP

/// Where vCenter is, as govc users give it: flags, then the govc environment (`GOVC_URL`,
/// `GOVC_USERNAME`, `GOVC_PASSWORD`, `GOVC_INSECURE`, `GOVC_TLS_KNOWN_HOSTS`). With nothing
/// configured, commands use the built-in simulated vCenter and say so.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "vCenter to connect to: [https://][user[:password]@]host[:port][/sdk] (default: GOVC_URL).",
        discussion: "Without --url or GOVC_URL, the built-in simulated vCenter is used.",
        valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("User name (default: from the URL, then GOVC_USERNAME).", valueName: "name"))
    var username: String?

    @Option(name: .customLong("password-file"), help: ArgumentHelp(
        "Read the password from the first line of this file (default: from the URL, then GOVC_PASSWORD).",
        valueName: "path"))
    var passwordFile: String?

    @Flag(help: ArgumentHelp(
        "Do not verify the server's TLS certificate (default: GOVC_INSECURE). Prefer --thumbprint."))
    var insecure = false

    @Option(help: ArgumentHelp(
        "Trust exactly the certificate with this SHA-256 or SHA-1 thumbprint (AB:CD:…, as govc and vCenter show it; default: GOVC_TLS_KNOWN_HOSTS).",
        valueName: "thumbprint"))
    var thumbprint: String?

    /// The flags as the SOAP client's configuration takes them.
    var flags: ConnectionConfig.Flags {
        ConnectionConfig.Flags(url: url, username: username, passwordFile: passwordFile,
                               insecure: insecure ? true : nil, thumbprint: thumbprint)
    }

    /// Whether a server is configured by a flag or the environment.
    var isServerConfigured: Bool { ConnectionConfig.isServerConfigured(flags) }

    /// The connector `mm.connect{...}` uses: the script's fields win over these flags,
    /// which win over the environment; nothing configured → the built-in simulator.
    func connector() -> VCenterConnector {
        let flags = self.flags
        return { request in try await ConnectionOptions.connect(request, flags: flags) }
    }

    /// Connects with these options alone (the `inventory` and `tasks` commands).
    func connect() async throws -> ConnectedVCenter {
        try await ConnectionOptions.connect(ConnectRequest(), flags: flags)
    }

    static func connect(_ request: ConnectRequest, flags base: ConnectionConfig.Flags) async throws -> ConnectedVCenter {
        var flags = base
        if let url = request.url { flags.url = url }
        if let username = request.username { flags.username = username }
        if let password = request.password {
            flags.password = password
            flags.passwordFile = nil
        }
        if let insecure = request.insecure { flags.insecure = insecure }
        if let thumbprint = request.thumbprint { flags.thumbprint = thumbprint }
        guard let config = try ConnectionConfig.resolve(flags) else {
            return try simulated()
        }
        let vcenter = try await SOAPVCenter.connect(config: config, logger: logger)
        return ConnectedVCenter(vcenter, url: config.redactedURL, isSimulated: false)
    }

    /// The built-in simulator: a generated inventory whose tasks run 100× faster than real time.
    static func simulated() throws -> ConnectedVCenter {
        var configuration = SimulatorConfiguration(clock: .scaled(speed: simulatorSpeed))
        configuration.startTime = Date()
        let simulator = try SimulatedVCenter(generating: GenerateSpec(), configuration: configuration)
        FileHandle.standardError.write(Data(
            "moonmotion: no vCenter configured (--url or GOVC_URL): using the built-in \(simulator.displayName)\n".utf8))
        return ConnectedVCenter(simulator, url: "simulated", isSimulated: true)
    }

    /// Simulated seconds per real second of the built-in simulator.
    static let simulatorSpeed = 100.0

    /// Client log lines (re-logins, poller trouble) on stderr; warnings and worse unless
    /// `MOONMOTION_LOG=debug|info|…`. Never carries a password.
    static let logger: Logger = {
        var logger = Logger(label: "moonmotion", factory: { label in StreamLogHandler.standardError(label: label) })
        let level = ProcessInfo.processInfo.environment["MOONMOTION_LOG"].flatMap { Logger.Level(rawValue: $0.lowercased()) }
        logger.logLevel = level ?? .warning
        return logger
    }()
}
