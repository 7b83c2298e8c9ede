import Foundation
import VCenterModel

/// Where and how to connect to vCenter, resolved the way govc users expect: explicit
/// values (the executable's `--url --username --password-file --insecure --thumbprint`)
/// win over the environment (`GOVC_URL`, `GOVC_USERNAME`, `GOVC_PASSWORD`,
/// `GOVC_INSECURE`, `GOVC_TLS_KNOWN_HOSTS`).
///
/// The password is kept here only to log in: `description` and `redactedURL` never show it.
public struct ConnectionConfig: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The SOAP endpoint without credentials, for example `https://vc01.example.com/sdk`.
    public var url: URL
    /// The user name to log in with.
    public var username: String
    /// The password to log in with. Never printed.
    public var password: String
    /// Skip certificate verification (`--insecure`, `GOVC_INSECURE=1`). Never together with
    /// a `thumbprint` (`init` and `resolve` refuse both: the pin would be dropped silently).
    public var insecure: Bool
    /// A pinned certificate thumbprint (SHA-1 or SHA-256), from `--thumbprint` or the known-hosts file.
    public var thumbprint: Thumbprint?
    /// Seconds to wait for a TCP (and TLS) connection.
    public var connectTimeout: Double
    /// Seconds a response may stay silent before the call fails. Long polls
    /// (`WaitForUpdatesEx`) wait less than this.
    public var readTimeout: Double
    /// Seconds of idleness after which the session is kept alive with `CurrentTime`
    /// (vCenter ends idle sessions after 30 minutes by default).
    public var keepAliveInterval: Double
    /// Objects per page asked of `RetrievePropertiesEx` (`maxObjects`); vCenter may send fewer.
    public var pageSize: Int
    /// `maxWaitSeconds` of the task poller's `WaitForUpdatesEx` (kept below `readTimeout`).
    public var pollerMaxWaitSeconds: Int = 30
    /// Pause after a `WaitForUpdatesEx` that reported a task's end, so the next call carries
    /// more changes (and the tasks started in reaction are tracked by then).
    public var pollerCoalesceSeconds: Double = 0.3
    /// Minimum time between the starts of two `WaitForUpdatesEx` while only progress changes
    /// arrive: progress costs at most one call per this, and a task's end that falls in the
    /// pause is seen at its end (so keep it well under a second).
    public var pollerPaceSeconds: Double = 0.7
    /// Longest time a few new tasks wait to join the poller's view after its previous
    /// `ModifyListView`, while it watches unfinished tasks (one add per this, not per task;
    /// a task that ends sooner is seen when it joins, or by a reconcile). 0: at the next cycle.
    public var pollerAddIntervalSeconds: Double = 3
    /// This many new tasks join the poller's view at once; after such a batch the next
    /// joins `pollerAddDelaySeconds` later at the latest.
    public var pollerAddBurst: Int = 16
    /// See `pollerAddBurst`.
    public var pollerAddDelaySeconds: Double = 1
    /// Longest time between two reconciles of every pending task (one `RetrievePropertiesEx`),
    /// even when waits keep returning updates; 0: `pollerMaxWaitSeconds`.
    public var pollerReconcileSeconds: Double = 0
    /// Above 0 (default 10): progress changes do not wake the poller (its filter watches
    /// `info.state`, `info.error`, … instead of `info`, as pyVim's `WaitForTasks` does); running
    /// tasks' progress is read this often, one call for all of them, so a migration's progress
    /// costs calls by time, never by task or step. 0: every progress change wakes the poller,
    /// paced by `pollerPaceSeconds` (about 1.4 calls a second while copies run, for as long as
    /// they run). vcsim's own collector (`-vcsim-property-collector`) answers nested paths
    /// seconds late; the test vCenter's and vCenter's do not.
    public var pollerProgressSeconds: Double = 10

    /// Creates a configuration from explicit values. `url` may omit the scheme (https)
    /// and the path (`/sdk`); credentials in it are used when `username`/`password` are nil.
    public init(
        url: String, username: String? = nil, password: String? = nil, insecure: Bool = false,
        thumbprint: String? = nil, connectTimeout: Double = 15, readTimeout: Double = 120,
        keepAliveInterval: Double = 300, pageSize: Int = 5000
    ) throws {
        let parsed = try ServerURL(parsing: url)
        guard let user = username ?? parsed.username, !user.isEmpty else {
            throw VCenterFault(type: "ConfigurationError", message: "no user name for \(parsed.redacted): give --username, GOVC_USERNAME or user@host in the URL")
        }
        self.url = parsed.url
        self.username = user
        self.password = password ?? parsed.password ?? ""
        self.insecure = insecure
        self.thumbprint = try thumbprint.map { try Thumbprint(parsing: $0) }
        if insecure && self.thumbprint != nil {
            throw VCenterFault(type: "ConfigurationError", message: "insecure turns certificate checks off, which would silently drop the thumbprint pin; give one of them")
        }
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.keepAliveInterval = keepAliveInterval
        self.pageSize = pageSize
    }

    /// The URL with the user name but never the password: `https://admin@vc01/sdk`.
    public var redactedURL: String {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        components?.user = username
        components?.password = nil
        return components?.string ?? url.absoluteString
    }

    /// `host:port` of the endpoint (the port defaults from the scheme).
    public var hostAndPort: String { "\(host):\(port)" }

    /// The endpoint's host name or address.
    public var host: String { url.host ?? "" }

    /// The endpoint's port (443 for https, 80 for http unless given).
    public var port: Int { url.port ?? (isTLS ? 443 : 80) }

    /// Whether the endpoint uses TLS.
    public var isTLS: Bool { url.scheme?.lowercased() == "https" }

    /// The redacted URL and the TLS mode, never the password.
    public var description: String {
        var parts = [redactedURL]
        if insecure { parts.append("insecure") }
        if let thumbprint { parts.append("thumbprint \(thumbprint)") }
        return parts.joined(separator: ", ")
    }

    /// Like `description`.
    public var debugDescription: String { "ConnectionConfig(\(description))" }

    /// `GOVC_URL`-style text with any password removed (`https://u:secret@h` →
    /// `https://u@h`), for showing a URL someone typed: the user name and the rest stay.
    public static func redactingPassword(in urlText: String) -> String { ServerURL.redact(urlText) }

    /// A mirror without the password, so `dump(config)` cannot leak it.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "url": redactedURL, "username": username, "password": "<redacted>", "insecure": insecure,
            "thumbprint": thumbprint as Any, "connectTimeout": connectTimeout, "readTimeout": readTimeout,
        ])
    }
}

/// A `GOVC_URL`-style address taken apart: scheme (https by default), credentials
/// (percent-decoded), host, port and path (`/sdk` by default).
///
/// Credentials are read from the text as typed, before anything else: they end at the
/// last `@` (the host name never contains one), and the user name at the first `:` after
/// the scheme. So a password may hold `/`, `@`, `:`, `?`, `#` or `%` unescaped —
/// `https://user:p@ss/w%rd@vc01/sdk` is user `user`, password `p@ss/w%rd`, host `vc01` —
/// while `%XX` escapes are decoded (`p%40ss` is `p@ss`) and a `%` not followed by two hex
/// digits stays as it is. The password never appears in an error.
struct ServerURL {
    var url: URL
    var username: String?
    var password: String?

    init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw VCenterFault(type: "ConfigurationError", message: "empty vCenter URL") }
        var rest = Substring(trimmed)
        var scheme = "https"
        if let range = rest.range(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        }
        guard scheme == "https" || scheme == "http" else {
            throw VCenterFault(type: "ConfigurationError", message: "unsupported URL scheme '\(scheme)': use https:// or http://")
        }
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                username = ServerURL.percentDecoded(userinfo[..<colon])
                password = ServerURL.percentDecoded(userinfo[userinfo.index(after: colon)...])
            } else {
                username = ServerURL.percentDecoded(userinfo)
            }
        }
        // What follows the credentials: host[:port], then the path from the first '/', '?' or '#'.
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        guard !authority.isEmpty else {
            throw VCenterFault(type: "ConfigurationError", message: "no host in vCenter URL '\(ServerURL.redact(trimmed))'")
        }
        if path.isEmpty || path == "/" { path = "/sdk" }
        guard let url = URL(string: "\(scheme)://\(authority)\(path)"), url.host != nil else {
            throw VCenterFault(type: "ConfigurationError", message: "invalid vCenter URL '\(ServerURL.redact(trimmed))'")
        }
        self.url = url
    }

    /// `%XX` escapes decoded; any other `%` kept. The text as typed when the decoded bytes
    /// are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hex(bytes[i + 1]), let low = hex(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self) ?? String(text)
    }

    /// Whether the URL uses TLS.
    var isTLS: Bool { url.scheme?.lowercased() == "https" }

    /// Scheme, host (lower case) and port: what "the same vCenter" means for credentials.
    var endpoint: Endpoint {
        let scheme = url.scheme?.lowercased() ?? "https"
        return Endpoint(scheme: scheme, host: (url.host ?? "").lowercased(), port: url.port ?? (scheme == "https" ? 443 : 80))
    }

    /// Where a URL points: `https://vc01:443`.
    struct Endpoint: Equatable, CustomStringConvertible {
        var scheme: String
        var host: String
        var port: Int
        var description: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
    }

    /// The URL with any user name kept and the password dropped.
    var redacted: String {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        components?.user = username
        return components?.string ?? url.absoluteString
    }

    /// Removes a password from URL-like text: `https://u:secret@h` → `https://u@h`.
    static func redact(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let head = text[..<at]
        let start = head.range(of: "://")?.upperBound ?? head.startIndex
        guard let colon = head[start...].firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + String(text[at...])
    }
}
