import ArgumentParser

/// A `--max-memory` value: bytes (`67108864`), a size with a unit (`64MiB`, `1.5 GiB`,
/// `512M`, `2GB`), or `none` for no limit. Binary units (KiB, MiB, GiB, TiB, and K, M, G, T
/// as `ulimit` and `head -c` read them) and decimal ones (KB, MB, GB, TB); case does not
/// matter, a space before the unit is allowed.
struct MemorySize: Equatable, Sendable {
    /// The limit in bytes, nil for `none`.
    let bytes: Int?

    /// The smallest limit accepted: below it a script could not even load the stdlib.
    static let minimum = 1 << 20

    init(bytes: Int?) { self.bytes = bytes }

    /// Parses a size; throws a message saying what is wrong.
    static func parse(_ text: String) throws -> MemorySize {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "none" { return MemorySize(bytes: nil) }
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "bytes": 1,
            "k": 1024, "kib": 1024, "m": 1_048_576, "mib": 1_048_576, "g": 1_073_741_824, "gib": 1_073_741_824,
            "t": 1_099_511_627_776, "tib": 1_099_511_627_776,
            "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
        ]
        guard let number = Double(digits), number.isFinite, let multiplier = multipliers[unit] else {
            throw ValidationError("'\(text)' is not a size (bytes, or a number with KiB, MiB, GiB, TiB, KB, MB, GB, TB; or none)")
        }
        let bytes = number * multiplier
        guard bytes >= Double(minimum) else {
            throw ValidationError("'\(text)' is below the smallest limit, 1 MiB")
        }
        guard bytes < Double(Int.max) else { throw ValidationError("'\(text)' is too large") }
        return MemorySize(bytes: Int(bytes))
    }
}
