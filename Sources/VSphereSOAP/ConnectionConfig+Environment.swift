import Foundation
import VCenterModel

extension ConnectionConfig {
    /// Explicit connection settings, as the executable's flags or `mm.connect{…}` give them.
    /// Every nil falls back to the environment.
    public struct Flags: Sendable {
        /// `--url`: `[https://][user[:password]@]host[:port][/sdk]`.
        public var url: String?
        /// `--username`.
        public var username: String?
        /// A password given directly (for example by `mm.connect{password=}`); prefer `passwordFile`.
        public var password: String?
        /// `--password-file`: a file whose first line is the password.
        public var passwordFile: String?
        /// `--insecure`.
        public var insecure: Bool?
        /// `--thumbprint`: SHA-1 or SHA-256, colon-separated hex as govc and vCenter show it.
        public var thumbprint: String?
        /// A govc known-hosts file (`host thumbprint` lines); `GOVC_TLS_KNOWN_HOSTS` when nil.
        public var knownHostsFile: String?
        /// `--connect-timeout`: seconds to wait for a TCP (and TLS) connection (default 15).
        public var connectTimeout: Double?
        /// `--read-timeout`: seconds a response may stay silent (default 120).
        public var readTimeout: Double?
        /// `--insecure-http`: allow an `http://` URL (`MOONMOTION_INSECURE_HTTP` when nil).
        public var insecureHTTP: Bool?

        /// Creates flags; nil means "not given".
        public init(url: String? = nil, username: String? = nil, password: String? = nil, passwordFile: String? = nil,
                    insecure: Bool? = nil, thumbprint: String? = nil, knownHostsFile: String? = nil,
                    connectTimeout: Double? = nil, readTimeout: Double? = nil, insecureHTTP: Bool? = nil) {
            self.url = url
            self.username = username
            self.password = password
            self.passwordFile = passwordFile
            self.insecure = insecure
            self.thumbprint = thumbprint
            self.knownHostsFile = knownHostsFile
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.insecureHTTP = insecureHTTP
        }
    }

    /// Whether a vCenter is configured at all (`--url` or `GOVC_URL`). When not, the
    /// executable may fall back to the built-in simulator.
    public static func isServerConfigured(_ flags: Flags = Flags(), environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if let url = flags.url, !url.isEmpty { return true }
        if let url = environment["GOVC_URL"], !url.trimmingCharacters(in: .whitespaces).isEmpty { return true }
        return false
    }

    /// Resolves a configuration from `flags` and then `environment`; nil when no URL is
    /// configured anywhere. Throws a `VCenterFault` (`ConfigurationError`) for an unusable
    /// value, naming the value but never a password.
    ///
    /// Precedence: a flag wins; then the credentials inside the chosen URL; then
    /// `GOVC_USERNAME`/`GOVC_PASSWORD` (which govc uses "if not specified in GOVC_URL").
    public static func resolve(_ flags: Flags = Flags(), environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ConnectionConfig? {
        try resolve(flags, script: nil, sandboxed: false, environment: environment)
    }

    /// Resolves what a script asked for (`mm.connect{...}`; nil: nothing) against the
    /// operator's `flags` and `environment`; nil when neither names a vCenter.
    ///
    /// The operator's stored credentials — `--username`, `--password-file`, a password in
    /// `--url` or `GOVC_URL`, `GOVC_USERNAME`, `GOVC_PASSWORD` — are sent only to the
    /// configured vCenter (same scheme, host and port). A script that names another one must
    /// give its own `username=` and `password=` (in the fields or its URL); otherwise this
    /// throws, naming the host it asked for and never a password. The operator's
    /// `--insecure` and `--thumbprint` apply to the configured vCenter only.
    ///
    /// `sandboxed` (`--sandbox`): the script may not change where or how it connects — a URL
    /// naming another vCenter, `insecure=` or `thumbprint=` is refused.
    ///
    /// An `http://` URL is refused unless the operator allowed it (`--insecure-http`,
    /// `MOONMOTION_INSECURE_HTTP=1`): the password and the session cookie would cross the
    /// network in clear text.
    public static func resolve(_ flags: Flags, script: ConnectRequest?, sandboxed: Bool,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ConnectionConfig? {
        let script = script ?? ConnectRequest()
        if sandboxed {
            for (field, given) in [("insecure", script.insecure != nil), ("thumbprint", script.thumbprint != nil)] where given {
                throw VCenterFault(type: "ConfigurationError", message: "mm.connect: \(field)= is not allowed under --sandbox: how the vCenter's certificate is checked is the operator's choice (--insecure, --thumbprint, GOVC_TLS_KNOWN_HOSTS)")
            }
        }
        let configuredText = nonEmpty(flags.url) ?? nonEmpty(environment["GOVC_URL"])
        let configured = try configuredText.map { try ServerURL(parsing: $0) }
        let target: ServerURL
        let isConfigured: Bool
        if let text = nonEmpty(script.url) {
            let asked = try ServerURL(parsing: text)
            isConfigured = configured.map { $0.endpoint == asked.endpoint } ?? false
            if sandboxed && !isConfigured {
                let configuredName = configured.map { "the configured vCenter, \($0.endpoint)" } ?? "the configured vCenter (none is: --url or GOVC_URL)"
                throw VCenterFault(type: "ConfigurationError", message: "mm.connect: under --sandbox a script connects only to \(configuredName); it asked for \(asked.endpoint)")
            }
            target = asked
        } else {
            guard let configured else { return nil }
            target = configured
            isConfigured = true
        }

        var username = script.username ?? (nonEmpty(script.url) != nil ? target.username : nil)
        var password = script.password ?? (nonEmpty(script.url) != nil ? target.password : nil)
        if isConfigured, let configured {
            username = username ?? flags.username ?? configured.username ?? environment["GOVC_USERNAME"]
            if password == nil {
                password = try flags.password ?? flags.passwordFile.map(readPasswordFile) ?? configured.password ?? environment["GOVC_PASSWORD"]
            }
        } else if nonEmpty(username) == nil || password == nil {
            let configuredName = configured.map { "the configured vCenter (\($0.endpoint))" } ?? "a configured vCenter (none is)"
            throw VCenterFault(type: "ConfigurationError", message: "mm.connect: \(target.endpoint) is not the configured vCenter; the stored credentials (--username, --password-file, --url, GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD) go only to \(configuredName), so a script that connects elsewhere must give its own username= and password=")
        }

        var insecure = script.insecure ?? false
        var thumbprintText = nonEmpty(script.thumbprint)
        if isConfigured {
            insecure = try script.insecure ?? flags.insecure ?? environment["GOVC_INSECURE"].map { try parseBool($0, name: "GOVC_INSECURE") } ?? false
            thumbprintText = thumbprintText ?? nonEmpty(flags.thumbprint)
        }

        if !target.isTLS, !(try flags.insecureHTTP ?? environment["MOONMOTION_INSECURE_HTTP"].map { try parseBool($0, name: "MOONMOTION_INSECURE_HTTP") } ?? false) {
            throw VCenterFault(type: "ConfigurationError", message: "refusing \(target.redacted): over plain HTTP the password and the session cookie would cross the network in clear text; use https://, or allow it for a test vCenter with --insecure-http (MOONMOTION_INSECURE_HTTP=1)")
        }

        var config = try ConnectionConfig(url: target.url.absoluteString, username: username, password: password ?? "", insecure: insecure)
        if let seconds = script.connectTimeout ?? flags.connectTimeout {
            config.connectTimeout = try checkTimeout(seconds, name: "connect timeout")
        }
        if let seconds = script.readTimeout ?? flags.readTimeout {
            config.readTimeout = try checkTimeout(seconds, name: "read timeout")
            // The task poller's long poll must answer well within the read timeout.
            config.pollerMaxWaitSeconds = min(config.pollerMaxWaitSeconds, max(1, Int(config.readTimeout / 2)))
        }
        // A pin and --insecure contradict each other: the transport would skip every check
        // and drop the pin without a word. Say so instead.
        let insecureSource = script.insecure == true ? "insecure=true" : (flags.insecure == true ? "--insecure" : "GOVC_INSECURE")
        if let thumbprintText {
            let pinSource = nonEmpty(script.thumbprint) != nil ? "thumbprint=" : "--thumbprint"
            guard config.isTLS else {
                throw VCenterFault(type: "ConfigurationError", message: "\(pinSource) pins a TLS certificate, but \(target.redacted) does not use TLS")
            }
            if insecure {
                throw VCenterFault(type: "ConfigurationError", message: "\(insecureSource) turns certificate checks off, which would silently drop the \(pinSource) pin; give one of them (a pin alone accepts exactly that certificate)")
            }
            config.thumbprint = try Thumbprint(parsing: thumbprintText)
        } else if config.isTLS, let file = flags.knownHostsFile ?? environment["GOVC_TLS_KNOWN_HOSTS"], !file.isEmpty,
                  let pin = try KnownHosts(path: file).thumbprint(host: config.host, port: config.url.port) {
            if insecure {
                throw VCenterFault(type: "ConfigurationError", message: "\(insecureSource) turns certificate checks off, which would silently drop the pin for \(config.hostAndPort) in \(file) (GOVC_TLS_KNOWN_HOSTS); give one of them")
            }
            config.thumbprint = pin
        }
        try config.applyPollerTuning(environment["MOONMOTION_POLLER"])
        return config
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return text
    }

    /// A timeout in seconds: finite and above zero.
    static func checkTimeout(_ seconds: Double, name: String) throws -> Double {
        guard seconds.isFinite, seconds > 0 else {
            throw VCenterFault(type: "ConfigurationError", message: "the \(name) must be a number of seconds above 0, not \(seconds)")
        }
        return seconds
    }

    /// Applies `MOONMOTION_POLLER` (`pace=0.7,coalesce=0.3,add_interval=3,add_burst=16,add_delay=1,`
    /// `reconcile=30,progress=10,max_wait=30`; seconds, add_burst a count): the task poller's
    /// timing, for benchmarks and unusual servers.
    mutating func applyPollerTuning(_ text: String?) throws {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Double(parts[1]), value >= 0, value.isFinite else {
                throw VCenterFault(type: "ConfigurationError", message: "MOONMOTION_POLLER: '\(item)' is not name=seconds")
            }
            switch parts[0] {
            case "pace": pollerPaceSeconds = value
            case "coalesce": pollerCoalesceSeconds = value
            case "add_delay": pollerAddDelaySeconds = value
            case "add_interval": pollerAddIntervalSeconds = value
            case "add_burst": pollerAddBurst = max(1, Int(value))
            case "reconcile": pollerReconcileSeconds = value
            case "progress": pollerProgressSeconds = value
            case "max_wait": pollerMaxWaitSeconds = max(1, Int(value))
            default:
                throw VCenterFault(type: "ConfigurationError", message: "MOONMOTION_POLLER: unknown setting '\(parts[0])' (pace, coalesce, add_interval, add_burst, add_delay, reconcile, progress, max_wait)")
            }
        }
    }

    static func readPasswordFile(_ path: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw VCenterFault(type: "ConfigurationError", message: "cannot read password file \(path): \((error as NSError).localizedDescription)")
        }
        var text = String(decoding: data, as: UTF8.self)
        if let newline = text.firstIndex(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) { text = String(text[..<newline]) }
        return text
    }

    static func parseBool(_ text: String, name: String) throws -> Bool {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes", "on", "t", "y": return true
        case "0", "false", "no", "off", "f", "n", "": return false
        default: throw VCenterFault(type: "ConfigurationError", message: "\(name)=\(text) is not a boolean: use 1 or 0")
        }
    }
}
