#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shell-style pattern for inventory filters: `*` (any run), `?` (one character),
/// `[abc]`, `[a-z]`, `[!x]`; anything else matches itself. Case-sensitive, like vCenter
/// names. A pattern without wildcards is an exact comparison.
struct Glob: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    let pattern: String
    private let isLiteral: Bool

    /// Creates a pattern.
    init(_ pattern: String) {
        self.pattern = pattern
        isLiteral = !pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" })
    }

    /// Whether `name` matches.
    func matches(_ name: String) -> Bool {
        if isLiteral { return name == pattern }
        return fnmatch(pattern, name, 0) == 0
    }

    var description: String { pattern }

    /// Whether `text` has a wildcard (else it is a plain name).
    static func isPattern(_ text: String) -> Bool { !Glob(text).isLiteral }
}
