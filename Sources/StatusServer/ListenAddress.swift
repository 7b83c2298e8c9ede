/// Where `run --listen` serves: `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host or address to bind.
    public var host: String
    /// The TCP port; 0 lets the system choose (the chosen one is announced).
    public var port: Int

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (which binds 127.0.0.1).
    public init(parsing text: String) throws(ListenAddressError) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalid(text, "an IPv6 address needs its closing ]") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalid(text, "expected :PORT after ]") }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalid(text, "expected HOST:PORT, e.g. 127.0.0.1:8080") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw .invalid(text, "write an IPv6 address in brackets: [::1]:8080") }
        }
        if hostPart.isEmpty { hostPart = "127.0.0.1" }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw .invalid(text, "the port must be a number from 0 to 65535") }
        host = String(hostPart)
        self.port = port
    }

    /// Whether only this machine can reach the address: `localhost`, 127.0.0.0/8, `::1`.
    /// Anything else (0.0.0.0, `::`, a name, an interface's address) may be reached from
    /// the network, so `--listen` there requires a token.
    public var isLoopback: Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// `HOST:PORT` (IPv6 in brackets).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A `--listen` value that is not an address.
public enum ListenAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String, String)

    public var description: String {
        switch self {
        case .invalid(let text, let why): "--listen \(text): \(why)"
        }
    }
}
