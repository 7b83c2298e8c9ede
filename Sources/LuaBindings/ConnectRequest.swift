import VCenterModel

/// What a script asked `mm.connect{...}` for. Every nil means "not given": the executable
/// fills it from its flags (`--url`, `--username`, `--password-file`, `--insecure`,
/// `--thumbprint`) and then the govc environment (`GOVC_URL`, …) — the stored credentials
/// only when the script connects to the configured vCenter, and under `--sandbox` the
/// script may not choose another vCenter, `insecure` or `thumbprint` at all
/// (`ConnectionConfig.resolve(_:script:sandboxed:environment:)` in VSphereSOAP).
public struct ConnectRequest: Sendable, Hashable, CustomStringConvertible {
    /// `url=`: `[https://][user[:password]@]host[:port][/sdk]`.
    public var url: String?
    /// `username=`.
    public var username: String?
    /// `password=`. Never printed (see `description`).
    public var password: String?
    /// `insecure=`: skip TLS verification.
    public var insecure: Bool?
    /// `thumbprint=`: the server certificate's SHA-1 or SHA-256 thumbprint to pin.
    public var thumbprint: String?
    /// `connect_timeout=`: seconds to wait for a connection.
    public var connectTimeout: Double?
    /// `read_timeout=`: seconds a response may stay silent.
    public var readTimeout: Double?

    /// Creates a request; nil fields fall back to flags and environment.
    public init(url: String? = nil, username: String? = nil, password: String? = nil, insecure: Bool? = nil, thumbprint: String? = nil,
                connectTimeout: Double? = nil, readTimeout: Double? = nil) {
        self.url = url
        self.username = username
        self.password = password
        self.insecure = insecure
        self.thumbprint = thumbprint
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }

    /// The request without its password.
    public var description: String {
        var parts: [String] = []
        if let url { parts.append("url=\(url)") }
        if let username { parts.append("username=\(username)") }
        if password != nil { parts.append("password=<redacted>") }
        if let insecure { parts.append("insecure=\(insecure)") }
        if let thumbprint { parts.append("thumbprint=\(thumbprint)") }
        if let connectTimeout { parts.append("connect_timeout=\(connectTimeout)") }
        if let readTimeout { parts.append("read_timeout=\(readTimeout)") }
        return "ConnectRequest(" + parts.joined(separator: ", ") + ")"
    }
}

/// A connected backend as the connector hands it to the bindings.
public struct ConnectedVCenter: Sendable {
    /// The backend (a `SOAPVCenter`, a `SimulatedVCenter`, …).
    public var vcenter: any VCenter
    /// Where it is connected, without credentials (`conn.url`): `https://vc01/sdk`, or
    /// `simulated` for the built-in simulator.
    public var url: String
    /// Whether it is the built-in simulator (`conn.simulated`).
    public var isSimulated: Bool

    /// Wraps a connected backend.
    public init(_ vcenter: any VCenter, url: String, isSimulated: Bool) {
        self.vcenter = vcenter
        self.url = url
        self.isSimulated = isSimulated
    }
}

/// Connects for `mm.connect{...}`: merges the request with flags and environment, logs
/// in, or falls back to the built-in simulator when no server is configured anywhere.
/// Errors should be `VCenterFault`s (`InvalidLogin: …`); they are raised in Lua as one line.
public typealias VCenterConnector = @Sendable (ConnectRequest) async throws -> ConnectedVCenter
