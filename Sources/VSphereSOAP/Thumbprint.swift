import Crypto
import VCenterModel

/// A certificate thumbprint: the SHA-1 (20 bytes, what govc prints) or SHA-256
/// (32 bytes, what vCenter 7+ shows) digest of the DER certificate, written as
/// colon-separated hex. Parsing is case-insensitive and accepts missing colons.
public struct Thumbprint: Sendable, Hashable, CustomStringConvertible {
    /// The digest algorithm, known from the length.
    public enum Algorithm: String, Sendable, Hashable {
        case sha1 = "SHA-1"
        case sha256 = "SHA-256"
    }

    /// The digest bytes.
    public let bytes: [UInt8]

    /// The algorithm (from the digest length).
    public var algorithm: Algorithm { bytes.count == 20 ? .sha1 : .sha256 }

    /// Parses `AA:BB:…` (or `aabb…`); throws a `ConfigurationError` for anything else.
    public init(parsing text: String) throws {
        let hex = text.trimmingCharactersInSet(" \t\r\n").filter { $0 != ":" && $0 != " " && $0 != "-" }
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in hex.utf8 {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c - UInt8(ascii: "A") + 10
            default:
                throw VCenterFault(type: "ConfigurationError", message: "thumbprint '\(text)' is not hexadecimal: expected SHA-1 or SHA-256 as AA:BB:…")
            }
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        guard high == nil, bytes.count == 20 || bytes.count == 32 else {
            throw VCenterFault(type: "ConfigurationError", message: "thumbprint '\(text)' has \(hex.count) hex digits: expected 40 (SHA-1) or 64 (SHA-256)")
        }
        self.bytes = bytes
    }

    /// A thumbprint from digest bytes (20 or 32 of them).
    init(bytes: [UInt8]) {
        precondition(bytes.count == 20 || bytes.count == 32)
        self.bytes = bytes
    }

    /// The thumbprint of DER certificate bytes with `algorithm`.
    public static func of(der: [UInt8], _ algorithm: Algorithm) -> Thumbprint {
        switch algorithm {
        case .sha1: return Thumbprint(bytes: Array(Insecure.SHA1.hash(data: der)))
        case .sha256: return Thumbprint(bytes: Array(SHA256.hash(data: der)))
        }
    }

    /// Upper-case colon-separated hex, the form govc and vCenter print.
    public var description: String {
        let digits = Array("0123456789ABCDEF")
        return bytes.map { "\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])" }.joined(separator: ":")
    }
}

extension String {
    func trimmingCharactersInSet(_ set: String) -> Substring {
        let chars = Set(set)
        guard let first = firstIndex(where: { !chars.contains($0) }) else { return "" }
        let last = lastIndex(where: { !chars.contains($0) })!
        return self[first...last]
    }
}
