import ArgumentParser
import Foundation
import LuaBindings
import Logging
import VCenterModel
import VCenterSimulator
import VSphereSOAP

/// Where vCenter is, as govc users give it: flags, then the govc environment (`GOVC_URL`,
/// `GOVC_USERNAME`, `GOVC_PASSWORD`, `GOVC_INSECURE`, `GOVC_TLS_KNOWN_HOSTS`), plus the
/// connect and read timeouts and `--insecure-http` (`MOONMOTION_INSECURE_HTTP`: govc has no
/// such setting, so it is not a `GOVC_` name). With nothing configured, `run`, `plan`, `repl` and a script's
/// `mm.connect()` use the built-in simulated vCenter and say so; `inventory` and `tasks`
/// refuse (`connect()`) unless `--simulate` asks for it, so a forgotten `GOVC_URL` never
/// passes a fake inventory off as a real one.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "vCenter to connect to: [https://][user[:password]@]host[:port][/sdk] (default: GOVC_URL).",
        discussion: "Without --url or GOVC_URL, run, plan and repl use the built-in simulated vCenter; inventory needs --simulate for it (tasks lists a real vCenter's tasks only).",
        valueName: "url"))
    var url: String?

    @Flag(help: ArgumentHelp(
        "Use the built-in simulated vCenter (the demo inventory, \(Backend.demoSpecText), with time compressed as in `run`) instead of a real one; GOVC_URL is then ignored."))
    var simulate = false

    @Option(help: ArgumentHelp("User name (default: from the URL, then GOVC_USERNAME).", valueName: "name"))
    var username: String?

    @Option(name: .customLong("password-file"), help: ArgumentHelp(
        "Read the password from the first line of this file (default: from the URL, then GOVC_PASSWORD).",
        valueName: "path"))
    var passwordFile: String?

    @Flag(help: ArgumentHelp(
        "Do not verify the server's TLS certificate (default: GOVC_INSECURE). Prefer --thumbprint."))
    var insecure = false

    @Flag(name: .customLong("insecure-http"), help: ArgumentHelp(
        "Allow an http:// vCenter URL: the password and the session cookie then cross the network in clear text (default: MOONMOTION_INSECURE_HTTP; for test vCenters only)."))
    var insecureHTTP = false

    @Option(help: ArgumentHelp(
        "Trust exactly the certificate with this SHA-256 or SHA-1 thumbprint (AB:CD:…, as govc and vCenter show it; default: GOVC_TLS_KNOWN_HOSTS).",
        valueName: "thumbprint"))
    var thumbprint: String?

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp(
        "Seconds to wait for a connection to vCenter (TCP and TLS; default 15).", valueName: "seconds"))
    var connectTimeout: Double?

    @Option(name: .customLong("read-timeout"), help: ArgumentHelp(
        "Seconds a vCenter response may stay silent before the call fails (default 120); a response that trickles in slower than 32 KB/s after that is given up too.",
        valueName: "seconds"))
    var readTimeout: Double?

    func validate() throws {
        if simulate, let url, !url.isEmpty {
            throw ValidationError("--simulate and --url contradict each other: give one of them")
        }
        for (name, value) in [("--connect-timeout", connectTimeout), ("--read-timeout", readTimeout)] {
            if let value, !(value > 0 && value.isFinite) {
                throw ValidationError("\(name) must be a number of seconds above 0, not \(value)")
            }
        }
    }

    /// Files holding credentials, which a sandboxed script may never read.
    var secretFiles: [String] { passwordFile.map { [$0] } ?? [] }

    /// The flags as the SOAP client's configuration takes them.
    var flags: ConnectionConfig.Flags {
        ConnectionConfig.Flags(url: url, username: username, passwordFile: passwordFile,
                               insecure: insecure ? true : nil, thumbprint: thumbprint,
                               connectTimeout: connectTimeout, readTimeout: readTimeout, insecureHTTP: insecureHTTP ? true : nil)
    }

    /// Whether a real server is configured by a flag or the environment (never with `--simulate`).
    var isServerConfigured: Bool { !simulate && ConnectionConfig.isServerConfigured(flags) }

    /// The environment the configuration is read from: without `GOVC_URL` under `--simulate`.
    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if simulate { environment["GOVC_URL"] = nil }
        return environment
    }

    /// The connector `mm.connect{...}` uses: the script's fields win over these flags,
    /// which win over the environment; nothing configured → the built-in simulator. The
    /// stored credentials go only to the configured vCenter, and a `sandboxed` script cannot
    /// change where or how it connects (`ConnectionConfig.resolve(_:script:sandboxed:environment:)`).
    func connector(sandboxed: Bool) -> VCenterConnector {
        let flags = self.flags
        let environment = self.environment
        return { request in try await ConnectionOptions.connect(request, flags: flags, sandboxed: sandboxed, environment: environment) }
    }

    /// Connects with these options alone (`inventory`, `tasks`, and the other commands once
    /// they know a server is configured): the configured vCenter, the built-in simulator
    /// under `--simulate`, else a one-line error saying how to configure one.
    func connect() async throws -> ConnectedVCenter {
        if simulate { return try ConnectionOptions.simulated(announce: "--simulate") }
        guard isServerConfigured else { throw BackendError(ConnectionOptions.noVCenterConfigured) }
        return try await ConnectionOptions.connect(ConnectRequest(), flags: flags, sandboxed: false, environment: environment)
    }

    /// What `inventory` and `tasks` say when neither a vCenter nor `--simulate` is given.
    static let noVCenterConfigured =
        "no vCenter configured: give --url [user@]host (or set GOVC_URL, with GOVC_USERNAME and GOVC_PASSWORD), or --simulate to use the built-in simulated vCenter"

    static func connect(_ request: ConnectRequest, flags: ConnectionConfig.Flags, sandboxed: Bool,
                        environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> ConnectedVCenter {
        guard let config = try ConnectionConfig.resolve(flags, script: request, sandboxed: sandboxed, environment: environment) else {
            return try simulated(announce: nil)
        }
        let vcenter = try await SOAPVCenter.connect(config: config, logger: logger)
        return ConnectedVCenter(vcenter, url: config.redactedURL, isSimulated: false)
    }

    /// The built-in simulator, the same as `run`'s (`Backend.simulator`: the demo inventory,
    /// or one generated from `generate`, at the demo's speed). Says so on stderr: why
    /// (`announce`, e.g. `--simulate`; nil: nothing was configured) and what it simulates.
    static func simulated(generate: String? = nil, announce reason: String?) throws -> ConnectedVCenter {
        let (simulator, _, _) = try Backend.simulator(generate: generate)
        let why = reason ?? "no vCenter configured (--url or GOVC_URL)"
        FileHandle.standardError.write(Data("moonmotion: \(why): using the built-in \(simulator.displayName)\n".utf8))
        return ConnectedVCenter(simulator, url: "simulated", isSimulated: true)
    }

    /// Client log lines (re-logins, poller trouble) on stderr; warnings and worse unless
    /// `MOONMOTION_LOG=debug|info|…`. Never carries a password.
    static let logger: Logger = {
        var logger = Logger(label: "moonmotion", factory: { label in StreamLogHandler.standardError(label: label) })
        let level = ProcessInfo.processInfo.environment["MOONMOTION_LOG"].flatMap { Logger.Level(rawValue: $0.lowercased()) }
        logger.logLevel = level ?? .warning
        return logger
    }()
}
