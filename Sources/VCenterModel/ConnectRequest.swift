/// What a script asked `mm.connect{...}` for. Every nil means "not given": the executable
/// fills it from its flags (`--url`, `--username`, `--password-file`, `--insecure`,
/// `--thumbprint`) and then the govc environment (`GOVC_URL`, …) — the stored credentials
/// only when the script connects to the configured vCenter, and under `--sandbox` the
/// script may not choose another vCenter, `insecure` or `thumbprint` at all
/// (`ConnectionConfig.resolve(_:script:sandboxed:environment:)` in VSphereSOAP).
///
/// It lives here, below both LuaBindings (which fills it from the script's arguments) and
/// VSphereSOAP (which resolves it), so the two share one definition without LuaBindings
/// depending on the SOAP client.
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
